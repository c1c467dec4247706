"""The reference server's compiled request validation accepts and refuses exactly what openapi-core does.

Two servers in this process, each behind httpx's ASGI transport: the real one, and one whose request
validation is openapi-core's request validator (the server's code before the compiled validators).
Every request goes to both, and the answers must agree on status, error code and message: the spec's
request examples, edge cases picked by hand, and a few thousand requests schemathesis generates,
schema-valid and schema-invalid, with fixed seeds.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from schemathesis.generation import GenerationMode
from starlette.requests import Request
from werkzeug.datastructures import Headers, ImmutableMultiDict

from conformance.engine.checks.fuzzing import seed_alone
from conformance.reference.app import ReferenceApp, _body_error, _is_bracketed, is_decimal
from conformance.reference.errors import ApiError
from conformance.reference.service import Service, Settings
from conformance.reference.storage import Storage
from conformance.spec import load_spec, operations, schema_validator
from conformance.spec.catalog import HTTP_METHODS, resolve
from conformance.spec.openapi_core_io import SpecRequest, schema_errors
from conformance.spec.schemas import describe

from .conftest import SECRET_KEY, STRIPE_VERSION

SPEC = load_spec()
OPERATIONS = operations(SPEC)
EXAMPLES = 130  # per operation and generation mode: 9 x 2 x 130 = 2,340 generated requests at most
SEED = 2026_12_02
# The codes the server answers when a request is not valid against the spec (a missing account is a 400 too).
VALIDATION_CODES = {"invalid_fields", "address_country_required"}
HEADERS = {"Authorization": f"Bearer {SECRET_KEY}", "Stripe-Version": STRIPE_VERSION}


def _without_bracketed(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as openapi-core can take it: it raises on deepObject arrays, which the server reads itself."""
    copied = copy.deepcopy(spec)
    for item in copied["paths"].values():
        for holder in (item, *(item[method] for method in HTTP_METHODS if method in item)):
            if "parameters" in holder:
                holder["parameters"] = [p for p in holder["parameters"] if not _is_bracketed(resolve(copied, p))]
    return copied


class OpenapiCoreApp(ReferenceApp):
    """The reference server with openapi-core's request validation in place of the compiled validators."""

    def __init__(self, service: Service) -> None:
        super().__init__(service)
        config = Config(extra_format_validators={"decimal": is_decimal})
        self.openapi = OpenAPI.from_dict(_without_bracketed(self.spec), config=config)
        self._token_params = schema_validator(self.spec, "TokenCreateParams")

    def _validate(
        self, request: Request, operation_id: str, raw: bytes | None, body: dict[str, Any], content_type: str
    ) -> dict[str, Any]:
        names = [name for name, _ in request.query_params.multi_items() if "[" not in name]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ApiError(
                "invalid_fields", f"Invalid request: query parameter {', '.join(repeated)} given more than once."
            )
        spec_request = SpecRequest(
            path=request.url.path,
            method=request.method.lower(),
            parameters=RequestParameters(
                query=ImmutableMultiDict(list(request.query_params.multi_items())),
                header=Headers(request.headers.items()),
                cookie=ImmutableMultiDict(),
                path=dict(request.path_params),
            ),
            content_type="application/json" if raw is not None else content_type,
            body=(raw or None) if raw is not None else None,
        )
        for error in self.openapi.request_validator.iter_errors(spec_request):
            name = type(error).__name__
            if "Security" in name or (raw is None and "Body" in name):
                continue
            if "Body" in name:
                raise _body_error(schema_errors(error), str(error))
            details = "; ".join(describe(e) for e in schema_errors(error))
            raise ApiError("invalid_fields", f"Invalid request: {error}{': ' + details if details else ''}")
        if raw is None and self.operations[operation_id].method == "post":
            errors = list(self._token_params.iter_errors(body))
            if errors:
                raise _body_error(errors, "invalid form body")
        query: dict[str, Any] = dict(request.query_params)
        if "limit" in query:
            query["limit"] = int(query["limit"])
        return {**query, **self._bracketed_query(request, operation_id)}


class Pair:
    """The two servers; `both(request)` sends one request to each and returns what each answered."""

    def __init__(self) -> None:
        self.apps = [cls(Service(Storage(":memory:"), Settings())) for cls in (ReferenceApp, OpenapiCoreApp)]
        self.loop = asyncio.new_event_loop()
        self.clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app.app), base_url="http://server") for app in self.apps
        ]
        self.compared = self.refused = 0

    def both(self, request: httpx.Request) -> list[tuple[int, str | None, str | None]]:
        return [self.loop.run_until_complete(self._send(client, request)) for client in self.clients]

    @staticmethod
    async def _send(client: httpx.AsyncClient, request: httpx.Request) -> tuple[int, str | None, str | None]:
        response = await client.send(
            client.build_request(request.method, request.url, headers=request.headers, content=request.content)
        )
        error = response.json().get("error") if response.headers.get("content-type") == "application/json" else None
        return response.status_code, (error or {}).get("code"), (error or {}).get("message")

    def agree(self, request: httpx.Request) -> None:
        ours, openapi_core = self.both(request)
        assert ours == openapi_core, (
            f"{request.method} {request.url} {request.content[:300]!r}: compiled {ours}, openapi-core {openapi_core}"
        )
        self.compared += 1
        self.refused += ours[1] in VALIDATION_CODES

    def close(self) -> None:
        for client in self.clients:
            self.loop.run_until_complete(client.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    servers = Pair()
    yield servers
    servers.close()


def _request(
    method: str,
    path: str,
    *,
    params: Any = None,
    json_body: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Request:
    body = content if content is not None else json.dumps(json_body).encode() if json_body is not None else b""
    merged = {**HEADERS, **({"Content-Type": "application/json"} if body else {}), **(headers or {})}
    return httpx.Request(method, "http://server" + path, params=params, headers=merged, content=body)


def _request_examples() -> Iterator[tuple[str, str, str, Any]]:
    for operation_id, operation in OPERATIONS.items():
        content = resolve(SPEC, SPEC["paths"][operation.path][operation.method].get("requestBody", {})).get(
            "content", {}
        )
        for media in content.values():
            for name, example in media.get("examples", {}).items():
                yield operation_id, operation.method, operation.path, resolve(SPEC, example)["value"]


def test_the_spec_request_examples_are_accepted_by_both(pair: Pair) -> None:
    examples = list(_request_examples())
    assert len(examples) >= 5
    for operation_id, method, path, value in examples:
        url = path.replace("{account_id}", "acct_unknown").replace("{id}", "person_unknown")
        if method == "post" and operation_id != "create_token":
            pair.agree(_request("POST", url, json_body=value))
            assert pair.both(_request("POST", url, json_body=value))[0][1] not in VALIDATION_CODES, (
                f"{operation_id} example refused"
            )


EDGE_CASES = [
    ("GET", "/v2/core/accounts/acct_1/persons", {"limit": ""}, None),
    ("GET", "/v2/core/accounts/acct_1/persons", {"limit": "abc"}, None),
    ("GET", "/v2/core/accounts/acct_1/persons", {"limit": "0"}, None),
    ("GET", "/v2/core/accounts/acct_1/persons", {"limit": "101"}, None),
    ("GET", "/v2/core/accounts/acct_1/persons", {"limit": "1_0"}, None),
    ("GET", "/v2/core/accounts/acct_1/persons", {"limit": "  5"}, None),
    ("GET", "/v2/core/accounts/acct_1/persons", {"limit": "5.0"}, None),
    ("GET", "/v2/core/accounts/acct_1/persons", {"limit": "\u0665"}, None),
    ("GET", "/v2/core/accounts/acct_1/persons", {"limit": "5", "page": ""}, None),
    ("GET", "/v2/core/accounts/acct_1/persons", {"limit": "5", "limit ": "x", "other": ""}, None),
    ("GET", "/v2/core/accounts/" + "a" * 255 + "/persons", None, None),
    ("GET", "/v2/core/accounts/" + "a" * 256 + "/persons", None, None),
    ("GET", "/v2/core/accounts/acct_1/persons/" + "\u00e9" * 256, None, None),
    ("POST", "/v2/core/accounts/acct_1/persons", None, b" \n"),
    ("POST", "/v2/core/accounts/acct_1/persons", None, b"{}"),
    ("POST", "/v2/core/accounts/acct_1/persons", None, b'{"given_name": 10000000000000000000000000000000000}'),
    ("POST", "/v2/core/accounts/acct_1/persons", None, b'{"date_of_birth": {"day": 1e400, "month": 1, "year": 2000}}'),
    ("POST", "/v2/core/accounts/acct_1/persons", None, b'{"date_of_birth": {"day": 1.0, "month": 1, "year": 2000}}'),
    (
        "POST",
        "/v2/core/accounts/acct_1/persons",
        None,
        b'{"date_of_birth": {"day": 99999999999999999999999, "month": 1, "year": 2000}}',
    ),
    ("POST", "/v2/core/accounts/acct_1/persons", None, b'{"address": {"country": "US\\n"}}'),
    ("POST", "/v2/core/accounts/acct_1/persons", None, b'{"address": {"country": "usa"}}'),
    ("POST", "/v2/core/accounts/acct_1/persons", None, b'{"address": {"city": "Brothers"}}'),
    ("POST", "/v2/core/accounts/acct_1/persons", None, b'{"relationship": {"percent_ownership": "0.8"}}'),
    ("POST", "/v2/core/accounts/acct_1/persons", None, b'{"relationship": {"percent_ownership": "1e5"}}'),
    ("POST", "/v2/core/accounts/acct_1/persons", None, b'{"relationship": {"percent_ownership": ".5"}}'),
    (
        "POST",
        "/v2/core/accounts/acct_1/persons",
        None,
        b'{"additional_terms_of_service": {"account": {"date": "2022-09-18T13:22:18.123Z"}}}',
    ),
    (
        "POST",
        "/v2/core/accounts/acct_1/persons",
        None,
        b'{"additional_terms_of_service": {"account": {"date": "2022-09-18t13:22:18z"}}}',
    ),
    (
        "POST",
        "/v2/core/accounts/acct_1/persons",
        None,
        b'{"additional_terms_of_service": {"account": {"date": "2022-09-18 13:22:18Z"}}}',
    ),
    (
        "POST",
        "/v2/core/accounts/acct_1/persons",
        None,
        b'{"additional_terms_of_service": {"account": {"date": "2016-12-31T23:59:60Z"}}}',
    ),
    ("POST", "/v2/core/accounts/acct_1/persons", None, b'{"given_name": "x", "unknown_member": 1}'),
    ("POST", "/v2/core/accounts/acct_1/persons", None, b'{"metadata": {"a": null, "b": "c"}}'),
    ("POST", "/v2/core/accounts/acct_1/persons", None, b'{"id_numbers": [{"type": "us_ssn_last_4"}]}'),
    ("POST", "/v2/core/accounts/acct_1/persons/person_1", None, b'{"email": null}'),
    ("POST", "/v2/core/accounts/acct_1/person_tokens", None, b'{"given_name": ["x"]}'),
]


@pytest.mark.parametrize(
    ("method", "path", "params", "content"), EDGE_CASES, ids=[f"edge-{i}" for i in range(len(EDGE_CASES))]
)
def test_both_agree_on_an_edge_case(pair: Pair, method: str, path: str, params: Any, content: bytes | None) -> None:
    pair.agree(_request(method, path, params=params, content=content))


def test_both_agree_without_the_stripe_version_header_and_on_v1(pair: Pair) -> None:
    pair.agree(
        httpx.Request(
            "GET", "http://server/v2/core/accounts/acct_1/persons", headers={"Authorization": f"Bearer {SECRET_KEY}"}
        )
    )
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for body in (
        b"person[first_name]=Jenny",
        b"person[dob][day]=abc",
        b"pii[id_number]=000000000",
        b"person[address][city]=x",
        b"",
    ):
        pair.agree(_request("POST", "/v1/tokens", content=body, headers=form))
    for query in ("expand[]=person", "expand[0]=person", "expand=person"):
        pair.agree(_request("GET", f"/v1/tokens/tok_1?{query}"))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda mode: mode.value)
@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_both_agree_on_generated_requests(pair: Pair, operation_id: str, mode: GenerationMode) -> None:
    operation = OPERATIONS[operation_id]
    strategy = schemathesis.openapi.from_dict(SPEC)[operation.path][operation.method.upper()].as_strategy(
        generation_mode=mode
    )
    before, refused_before, unsendable = pair.compared, pair.refused, []

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(strategy)
    def compare(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://server")
        headers = {
            **kwargs.get("headers", {}),
            **HEADERS,
        }  # any string is a valid Stripe-Version to the spec, not to the server
        try:
            data = kwargs.get("data")
            request = httpx.Request(
                kwargs["method"],
                kwargs["url"],
                params=kwargs.get("params"),
                headers=headers,
                json=kwargs.get("json"),
                **({"content": data} if isinstance(data, (bytes, str)) else {"data": data}),
            )
        except (
            TypeError,
            ValueError,
            UnicodeEncodeError,
        ) as exc:  # not a request HTTP can carry (a dict as a query value)
            unsendable.append(exc)
            return
        pair.agree(request)

    with seed_alone():  # the same requests whatever else this process imported
        compare()
    compared, refused = pair.compared - before, pair.refused - refused_before
    assert compared >= 10, f"only {compared} requests compared ({len(unsendable)} could not be sent)"
    if mode is GenerationMode.NEGATIVE:  # the comparison covers refusals, not only acceptances
        assert refused > 0, f"no generated request for {operation_id} was refused by validation"
