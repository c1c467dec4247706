"""The HTTP layer of the reference server (starlette): auth, headers, bodies, spec validation.

Every request to a spec operation is checked against spec/openapi.yaml with openapi-core (v1
form bodies: decoded, then checked against the same schema) before the service sees it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from werkzeug.datastructures import Headers

from conformance.reference.auth import Caller, KeyRegistry
from conformance.reference.errors import ApiError
from conformance.reference.formdata import decode_form
from conformance.reference.service import Service
from conformance.reference.validation import ParameterProblem, RequestValidator
from conformance.spec import operations, schema_validator, setup_operations
from conformance.spec.catalog import HTTP_METHODS, api_version, resolve
from conformance.spec.schemas import CompiledSchema, describe, leaf_errors

MAX_BODY_BYTES = 1024 * 1024
MAX_IDEMPOTENCY_KEY = 255  # this server's bound (Stripe's general docs say keys are at most 255 characters)
# What this server reads as Stripe's `format: decimal` (Stripe states the format, not its syntax): digits, an
# optional fraction.
DECIMAL_FORM = re.compile(r"[0-9]+(\.[0-9]+)?")
# The versions this server accepts: a date and a release name, then optional beta flags (`2025-11-17.preview; x=v1`).
API_VERSION_FORM = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(\.[a-z]+)?(; *[a-z0-9_]+=[a-z0-9_]+)*$")
MAX_JSON_DEPTH = 32
log = logging.getLogger("conformance.reference")


@dataclass
class Call:
    """What a handler gets: the caller, the path parameters, validated query/headers and body."""

    caller: Caller
    path: dict[str, str]
    query: dict[str, Any]
    headers: Headers
    body: dict[str, Any]
    client_ip: str | None
    user_agent: str | None
    origin: str = ""  # scheme://host[:port] the request was sent to, for absolute page URLs

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


Handler = Callable[[Service, Call], tuple[int, dict[str, Any]]]


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON value, stopping early past `limit`."""
    stack, deepest = [(value, 1)], 0
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            break
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def _body_error(errors: list[Any], fallback: str) -> ApiError:
    """The documented code a schema violation stands for, else Stripe's generic invalid_fields."""
    leaves = leaf_errors(errors)
    for error in leaves:
        if (
            error.validator == "required"
            and "'country'" in error.message
            and any("address" in str(part) for part in error.absolute_path)
        ):
            return ApiError("address_country_required", f"{describe(error)} (an address needs a country).")
    detail = "; ".join(sorted({describe(error) for error in leaves})[:5]) or fallback
    return ApiError("invalid_fields", f"Invalid request: {detail}")


class ReferenceApp:
    """Builds the starlette application around one Service."""

    def __init__(self, service: Service, keys: KeyRegistry | None = None, body_timeout: float = 10.0) -> None:
        self.service = service
        self.keys = keys or KeyRegistry()
        self.body_timeout = body_timeout
        self.spec = service.spec  # the spec as it holds for the server's decisions (list limits...)
        self._bracketed = _bracketed_parameters(self.spec)
        self.requests = RequestValidator(self.spec, {"decimal": is_decimal}, skip=_is_bracketed)
        self.operations = operations(self.spec)
        self.api_version = api_version(self.spec)
        self._form_schema = CompiledSchema(
            self.spec, "TokenCreateParams", schema_validator(self.spec, "TokenCreateParams")
        )
        self.app = Starlette(routes=self._routes(), exception_handlers={404: self._not_found, 405: self._not_allowed})

    # ------------------------------------------------------------------ routing
    def _routes(self) -> list[Route]:
        """One route per operation of the spec and of the set-up document, each path as the documents give it."""
        handlers: dict[str, Handler] = {
            "create_person_token": lambda s, c: s.create_person_token(
                c.caller,
                c.path["account_id"],
                c.body,
                {"ip": c.client_ip, "user_agent": c.user_agent},
                c.idempotency_key,
            ),
            "retrieve_person_token": lambda s, c: s.retrieve_person_token(c.caller, c.path["account_id"], c.path["id"]),
            "list_persons": lambda s, c: s.list_persons(
                c.caller, c.path["account_id"], c.query.get("limit"), c.query.get("page"), c.origin
            ),
            "create_person": lambda s, c: s.create_person(c.caller, c.path["account_id"], c.body, c.idempotency_key),
            "retrieve_person": lambda s, c: s.retrieve_person(c.caller, c.path["account_id"], c.path["id"]),
            "update_person": lambda s, c: s.update_person(
                c.caller, c.path["account_id"], c.path["id"], c.body, c.idempotency_key
            ),
            "delete_person": lambda s, c: s.delete_person(
                c.caller, c.path["account_id"], c.path["id"], c.idempotency_key
            ),
            "create_token": lambda s, c: s.create_token(c.caller, c.body, c.client_ip, c.idempotency_key),
            "retrieve_token": lambda s, c: s.retrieve_token(c.caller, c.path["token"], c.query.get("expand", [])),
            # Set-up calls (spec/setup.yaml), modelled on the real API: served, not validated as the contract is.
            "create_account": lambda s, c: s.create_account(c.caller, c.body),
            "close_account": lambda s, c: s.close_account(c.caller, c.path["account_id"]),
            "create_v1_account": lambda s, c: s.create_v1_object(c.caller, "account"),
            "create_v1_customer": lambda s, c: s.create_v1_object(c.caller, "customer"),
        }
        by_path: dict[str, dict[str, tuple[str | None, Handler]]] = {}
        for operation in (*self.operations.values(), *setup_operations().values()):
            contract = operation.operation_id if operation.operation_id in self.operations else None
            handler = handlers[operation.operation_id]
            by_path.setdefault(operation.path, {})[operation.method.upper()] = (contract, handler)
        return [Route(path, self._endpoint(methods), methods=list(methods)) for path, methods in by_path.items()]

    def _endpoint(self, methods: dict[str, tuple[str | None, Handler]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            operation_id, handler = methods[request.method]
            v1 = request.url.path.startswith("/v1/")
            try:
                call = await self._call(request, operation_id)
                # On the event loop, not in a worker thread: the service never waits (one storage lock, no
                # sleeps), and the hop to a thread and back cost more than the work (c=1: +13-30 % without it).
                status, body = handler(self.service, call)
                return self._json(status, body)
            except ApiError as error:
                return self._json(error.status, _v1_error(error) if v1 else error.body(), error.headers)
            except ClientDisconnect:  # the client left before its body arrived: nobody to answer, not a server error
                return Response(status_code=400)
            except Exception:  # the server answers every request, even on its own bugs
                log.exception("internal error on %s %s", request.method, request.url.path)
                return self._json(
                    500,
                    {
                        "error": {
                            "type": "api_error",
                            "code": "internal_error",
                            "message": "An internal error occurred.",
                        }
                    },
                )

        return endpoint

    @staticmethod
    def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        return JSONResponse(
            body, status_code=status, headers={"Request-Id": "req_" + secrets.token_hex(12), **(headers or {})}
        )

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return self._json(
            404,
            {
                "error": {
                    "code": "not_found",
                    "message": f"Unrecognized request URL ({request.method}: {request.url.path}).",
                }
            },
        )

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        headers = getattr(exc, "headers", None)
        allow = {"Allow": headers["Allow"]} if isinstance(headers, dict) and "Allow" in headers else {}
        return self._json(
            405,
            {
                "error": {
                    "code": "method_not_allowed",
                    "message": f"{request.method} is not allowed on {request.url.path}.",
                }
            },
            allow,
        )

    # ------------------------------------------------------------- validation
    async def _call(self, request: Request, operation_id: str | None) -> Call:
        caller = self.keys.caller(request.headers.get("authorization"))
        if caller.publishable and not (operation_id and self.operations[operation_id].publishable_key_allowed):
            raise ApiError(
                "authentication_required",
                "This API call cannot be made with a publishable API key; use a secret key.",
                type="invalid_request_error",
            )
        raw = await self._read_body(request)
        v2 = request.url.path.startswith("/v2/")
        if v2 and "Stripe-Version" not in request.headers:
            raise ApiError(
                "invalid_fields",
                f"The Stripe-Version header is required on v2 requests (for example {self.api_version}).",
            )
        if len(request.headers.get("Idempotency-Key", "")) > MAX_IDEMPOTENCY_KEY:
            raise ApiError("invalid_fields", f"The Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY} characters.")
        if "Stripe-Version" in request.headers and not API_VERSION_FORM.match(request.headers["Stripe-Version"]):
            raise ApiError(
                "invalid_fields",
                f"Invalid Stripe-Version {request.headers['Stripe-Version'][:100]!r}: a date and release "
                f"({self.api_version}), optionally followed by beta flags (; name=v1).",
            )
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if v2:
            body = self._json_body(raw, content_type, request.method)
        elif request.method == "POST":
            if raw and content_type != "application/x-www-form-urlencoded":
                raise ApiError(
                    "invalid_request",
                    f"v1 bodies are form-encoded (application/x-www-form-urlencoded), not {content_type or 'untyped'}.",
                    status=400,
                )
            body = self._form_body(raw) if operation_id else {}
        else:
            body = {}
        query, headers = dict(request.query_params), Headers(request.headers.items())
        if operation_id:
            query = self._validate(request, operation_id, raw if v2 else None, body, content_type)
        return Call(
            caller=caller,
            path=dict(request.path_params),
            query=query,
            headers=headers,
            body=body,
            client_ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
            origin=f"{request.url.scheme}://{request.url.netloc}",
        )

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise _too_large()
        chunks, size = [], 0
        try:
            async with asyncio.timeout(self.body_timeout):  # a declared body that never arrives holds nothing for long
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:  # a chunked body declares no length
                        raise _too_large()
                    chunks.append(chunk)
        except TimeoutError:
            raise ApiError(
                "request_timeout",
                f"The body did not arrive within {self.body_timeout:g} s.",
                status=408,
                headers={"Connection": "close"},
            ) from None
        return b"".join(chunks)

    def _form_body(self, raw: bytes) -> dict[str, Any]:
        """A v1 form body; bracket keys nest it, so it gets the same depth limit as JSON (10,000 brackets were a
        500)."""
        too_deep = ApiError("invalid_request", f"The form body is nested deeper than {MAX_JSON_DEPTH} levels.")
        try:
            body = decode_form(raw, self.spec, {"$ref": "#/components/schemas/TokenCreateParams"})
        except RecursionError:
            raise too_deep from None
        if _depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise too_deep
        return body

    @staticmethod
    def _json_body(raw: bytes, content_type: str, method: str) -> dict[str, Any]:
        if not raw.strip():
            return {}
        if method != "POST" or content_type != "application/json":
            raise ApiError(
                "unsupported_media_type",
                f"v2 request bodies must be application/json, not {content_type or 'untyped'}.",
                status=415,
            )
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_parse_float)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ApiError("invalid_json", f"The body is not valid JSON: {exc}.") from exc
        if not isinstance(body, dict):
            raise ApiError("invalid_fields", "The body must be a JSON object.")
        if _depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise ApiError("invalid_fields", f"The body is nested deeper than {MAX_JSON_DEPTH} levels.")
        # "\ud800" parses to a lone surrogate, which no response can encode: it was stored, then a 500 on every read.
        try:
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ApiError(
                "invalid_json",
                "The body is not valid JSON: a \\u escape stands for a lone surrogate "
                f"({exc.object[exc.start : exc.end]!r}), not a character.",
            ) from exc
        return body

    def _validate(
        self, request: Request, operation_id: str, raw: bytes | None, body: dict[str, Any], content_type: str
    ) -> dict[str, Any]:
        """Check parameters and body against the spec; return the typed query parameters."""
        operation = self.operations[operation_id]
        names = [
            name for name, _ in request.query_params.multi_items() if "[" not in name
        ]  # `expand[]` repeats by design
        repeated = sorted({name for name in names if names.count(name) > 1})
        if (
            repeated
        ):  # openapi-core checks the first value, the handler would read the last: `limit=10&limit=abc` was a 500
            raise ApiError(
                "invalid_fields", f"Invalid request: query parameter {', '.join(repeated)} given more than once."
            )
        try:
            typed = self.requests.parameters(operation_id, request.path_params, request.query_params, request.headers)
        except ParameterProblem as problem:
            raise ApiError("invalid_fields", f"Invalid request: {problem}") from None
        if raw and not raw.strip():  # what openapi-core says of a blank body: it is not JSON
            raise ApiError(
                "invalid_fields",
                "Invalid request: Request body validation error: "
                f"Failed to deserialize value with application/json mimetype: {raw.decode('latin-1')}",
            )
        if raw and self.requests.body_errors(operation_id, body):
            # Explained from the body as sent, the numbers as written (the service's copy has 1.0 as 1).
            raise _body_error(self.requests.body_errors(operation_id, json.loads(raw)), "invalid body")
        if raw is None and operation.method == "post":
            errors = self._form_schema.errors(body)
            if errors:
                raise _body_error(errors, "invalid form body")
        return {**dict(request.query_params), **typed, **self._bracketed_query(request, operation_id)}

    def _bracketed_query(self, request: Request, operation_id: str) -> dict[str, Any]:
        """The deepObject array parameters of the operation (`expand[]=card`, `expand[0]=card`), which openapi-core
        cannot read: decoded like form keys, then checked against their schemas."""
        schemas = self._bracketed.get(operation_id)
        if not schemas:
            return {}
        pairs = [(key, value) for key, value in request.query_params.multi_items() if key.split("[")[0] in schemas]
        schema = {"type": "object", "properties": schemas, "additionalProperties": False}
        decoded = decode_form(urlencode(pairs).encode(), self.spec, schema)
        errors = list(schema_validator(self.spec, schema).iter_errors(decoded))
        if errors:
            raise ApiError(
                "invalid_fields", f"Invalid request: {'; '.join(sorted(describe(error) for error in errors)[:5])}"
            )
        return decoded


def _too_large() -> ApiError:
    return ApiError("request_too_large", f"The body is larger than {MAX_BODY_BYTES} bytes.", status=413)


def is_decimal(value: Any) -> bool:
    return not isinstance(value, str) or DECIMAL_FORM.fullmatch(value) is not None


def _is_bracketed(parameter: dict[str, Any]) -> bool:
    return parameter.get("style") == "deepObject" and parameter.get("schema", {}).get("type") == "array"


def _bracketed_parameters(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """operationId -> {name: schema} of its deepObject array query parameters."""
    found: dict[str, dict[str, Any]] = {}
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            parameters = [resolve(spec, p) for p in [*item.get("parameters", []), *operation.get("parameters", [])]]
            found[operation["operationId"]] = {p["name"]: p["schema"] for p in parameters if _is_bracketed(p)}
    return found


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_float(text: str) -> float | int:
    """A JSON number with a fraction or exponent. JSON Schema counts 1.0 (and 1e-400, which is 0.0) as
    an integer, so an integral value becomes an int: the rules format and compare integer members as
    ints (a float day of birth was a 500)."""
    value = float(text)
    return int(value) if value.is_integer() else value


def _v1_error(error: ApiError) -> dict[str, Any]:
    body = error.body()["error"]
    return {"error": {"type": body.pop("type", "invalid_request_error"), **body}}


def create_app(service: Service, keys: KeyRegistry | None = None, body_timeout: float = 10.0) -> Starlette:
    return ReferenceApp(service, keys, body_timeout).app
