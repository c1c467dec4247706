"""The reference server: a faithful, stateful implementation of the API in spec/openapi.yaml."""
