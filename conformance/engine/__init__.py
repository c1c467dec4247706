"""The conformance engine: send requests to a target, validate what comes back, decide check by check."""
