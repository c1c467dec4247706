"""The categories of checks: one name each, the same in `--only`, check ids, results and the report."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """A check's category; its value is the first segment of the check's id (`error-code/create_person/...`)."""

    FUZZING = "fuzzing"
    VALIDATION = "response-validation"
    ERROR_CODES = "error-code"
    SEMANTICS = "semantics"
    V1_TOKENS = "v1-tokens"

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self]


DESCRIPTIONS = {
    Category.FUZZING: "schemathesis generates requests from the spec, per operation and as linked sequences",
    Category.VALIDATION: "openapi-core validates every response the run received, per operation",
    Category.ERROR_CODES: "one scenario per documented error code of each operation",
    Category.SEMANTICS: "rules of the v2 Persons API that no schema can express",
    Category.V1_TOKENS: "the v1 Tokens endpoints that create person and PII tokens",
}

# Earlier spellings: `--only`'s plural and short names, and the labels that results.json files written before the
# vocabulary was one still carry.
ALIASES = {
    "error-codes": Category.ERROR_CODES,
    "validation": Category.VALIDATION,
    "error-code scenarios": Category.ERROR_CODES,
    "response validation": Category.VALIDATION,
    "v1 tokens": Category.V1_TOKENS,
}


def category(name: str) -> Category:
    """The category a name or an earlier spelling of it stands for; ValueError for any other name."""
    if name in ALIASES:
        return ALIASES[name]
    return Category(name)
