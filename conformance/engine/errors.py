"""Why a run against a target could not start; in a module of their own, so that a command can catch them
without importing the engine first."""

from __future__ import annotations


class TargetUnreachable(Exception):
    """The target did not answer the first request."""


class KeyRefused(Exception):
    """The target answered the first request with 401: the API key is wrong for it."""
