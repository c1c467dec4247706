"""Conformance suite for Stripe API v2 Persons and Person Tokens, driven by spec/openapi.yaml."""

__version__ = "0.1.0"
