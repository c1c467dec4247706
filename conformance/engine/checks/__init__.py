"""The checks, one module per category of the report: fuzzing, response_validation, error_codes (with the triggers
that provoke each code), semantics and v1_tokens. Importing the package registers the semantic and v1 checks, so
that CHECKS, imported from here, holds them all."""

from conformance.engine.checks import semantics, v1_tokens
from conformance.engine.judge import CHECKS

__all__ = ["CHECKS", "semantics", "v1_tokens"]
