"""The OpenAPI document: loading it, and reading its operations and error catalog."""

from conformance.spec.catalog import DocumentedError, Operation, operations
from conformance.spec.loader import SpecError, default_spec_path, load_spec
from conformance.spec.schemas import schema_validator
from conformance.spec.setup import setup_operations

__all__ = [
    "DocumentedError",
    "Operation",
    "SpecError",
    "default_spec_path",
    "load_spec",
    "operations",
    "schema_validator",
    "setup_operations",
]
