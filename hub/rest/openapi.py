"""The API document (OpenAPI 3.1) made from the operations' own models, and the routes that
serve it: ``GET /api/openapi.json`` and the interactive page ``GET /api/docs``.

Both are public, like any service's documentation: the document describes routes and
shapes, never data. The page is Swagger UI, vendored in ``static/apidocs`` (see its
``VENDORED.md``), started by our own script so the hub's CSP needs no exception.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from hub.config import DEFAULT_STATIC_DIR
from hub.rest.answers import ErrorBody
from hub.rest.spec import HEADERS, Operation
from storage.codec import dumps

REF = "#/components/schemas/{model}"
DOCS_ASSETS = Path(DEFAULT_STATIC_DIR) / "apidocs"
_PATH_PARAM = re.compile(r"{(\w+)}")
# Path parameters that name a row by its UUID (anything else answers 404, as a missing one).
_UUID_PARAMS = {"todo_id", "list_id", "invite_id", "user_id"}
STATUS_WORDS = {
    200: "OK", 201: "Created", 204: "Done; no body", 400: "Malformed request (not JSON, "
    "not UTF-8, nested too deep, or not what the route takes)",
    401: "No token, or one that is not valid (WWW-Authenticate: Bearer)",
    403: "Not allowed: a read token's write, a role's overreach, or turned off here",
    404: "Not found (also what the user may not see)", 409: "Conflict with the current state",
    412: "If-Match names another version (the error carries the current one)",
    413: "Body too large", 422: "A field or parameter broke a rule (details say which)",
    429: "Too many attempts (Retry-After says when to try again)",
    500: "A bug in the hub (its log has the traceback)",
    503: "The database or broker is not available; retry (Retry-After)",
}


class OpenApiDocument(BaseModel):
    """An OpenAPI 3.1 document."""

    model_config = ConfigDict(extra="allow")
    openapi: Literal["3.1.0"]
    info: dict[str, Any]
    paths: dict[str, Any]


def _hub_version() -> str:
    try:
        return version("todohub")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


def _schemas(operations: list[Operation]) -> tuple[dict[Any, Any], dict[str, Any]]:
    """Every body and answer model's schema reference, and the shared definitions."""
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorBody, "serialization")]
    for operation in operations:
        if operation.body is not None:
            wanted.append((operation.body, "validation"))
        wanted.extend((answer, "serialization") for answer in operation.answers.values()
                      if isinstance(answer, type))
    refs, top = models_json_schema(list(dict.fromkeys(wanted)), ref_template=REF)
    return refs, top.get("$defs", {})


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without ``null`` (a query string cannot carry one)."""
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1:
        rest = {k: v for k, v in schema.items()
                if k != "anyOf" and not (k == "default" and v is None)}
        return {**options[0], **rest}
    return schema


def _parameters(operation: Operation) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    for name in _PATH_PARAM.findall(operation.path):
        schema: dict[str, Any] = {"type": "string"}
        if name in _UUID_PARAMS:
            schema["format"] = "uuid"
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    if operation.query is not None:
        schema = operation.query.model_json_schema(mode="validation", ref_template=REF)
        if "$defs" in schema:  # pragma: no cover - a model for the query string is flat
            raise ValueError(f"{operation.query.__name__}: query models hold no nested models")
        required = set(schema.get("required", []))
        for name, field in schema["properties"].items():
            field = _without_null(field)
            field.pop("title", None)
            parameters.append({"name": name, "in": "query", "required": name in required,
                               "description": field.pop("description", ""), "schema": field})
    for name in operation.headers:
        header, words = HEADERS[name]
        parameters.append({"name": name, "in": "header", "required": False,
                           "description": words, "schema": header})
    return parameters


def _content(answer: Any, refs: dict[Any, Any]) -> dict[str, Any] | None:
    if answer is None:
        return None
    if answer == "text":
        return {"text/plain": {"schema": {"type": "string"}}}
    if answer == "events":
        return {"text/event-stream": {"schema": {"type": "string"}}}
    if answer == "html":
        return {"text/html": {"schema": {"type": "string"}}}
    return {"application/json": {"schema": refs[(answer, "serialization")]}}


def _responses(operation: Operation, refs: dict[Any, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, answer in operation.answers.items():
        entry: dict[str, Any] = {"description": STATUS_WORDS.get(status, "")}
        content = _content(answer, refs)
        if content is not None:
            entry["content"] = content
        responses[str(status)] = entry
    error = {"application/json": {"schema": refs[(ErrorBody, "serialization")]}}
    for status in operation.error_statuses():
        if str(status) in responses:
            continue
        entry = {"description": STATUS_WORDS[status], "content": error}
        if status in (429, 503):
            entry["headers"] = {"Retry-After": {"schema": {"type": "string"},
                                                "description": "seconds to wait"}}
        responses[str(status)] = entry
    return responses


def build_document(operations: list[Operation]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``operations``."""
    refs, definitions = _schemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        entry: dict[str, Any] = {
            "operationId": operation.endpoint.__module__.rsplit(".", 1)[-1] + "_"
            + operation.endpoint.__name__,
            "summary": operation.summary,
            "description": operation.description,
            "tags": [operation.tag],
            "parameters": _parameters(operation),
            "responses": _responses(operation, refs),
            "security": ([] if not operation.signed_in
                         else [{"bearer": []}, {}] if operation.token_optional
                         else [{"bearer": []}]),
        }
        if operation.body is not None:
            entry["requestBody"] = {
                "required": operation.body_required,
                "content": {"application/json": {
                    "schema": refs[(operation.body, "validation")]}},
            }
        paths.setdefault(operation.path, {})[operation.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "todohub",
            "version": _hub_version(),
            "description": "The REST API of a realtime todo hub. Every write goes through "
            "the same path as the WebSocket commands at /ws, so every device sees it live. "
            "Errors answer {\"error\": {\"code\", \"message\", \"details\"}}.",
        },
        "paths": paths,
        "components": {
            "schemas": definitions,
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "An access JWT (from /api/auth/login, /api/auth/guest or "
                "/api/auth/refresh) or a personal access token (thp_..., from /api/tokens)."}},
        },
        "security": [{"bearer": []}],
    }


def docs_routes(
    operations: list[Operation],
) -> tuple[dict[str, Any], list[Operation], list[BaseRoute]]:
    """The document of ``operations`` (and of the docs' own), the operations that serve it
    and the page, and the mount of the page's assets. The document is built here, once."""
    body: dict[str, bytes] = {}

    async def openapi_json(request: Request) -> Response:
        """The API document (OpenAPI 3.1) of every REST route."""
        return Response(body["json"], media_type="application/json")

    async def docs(request: Request) -> Response:
        """An interactive page for the API document."""
        return FileResponse(DOCS_ASSETS / "index.html", media_type="text/html")

    own = [
        Operation("GET", "/api/openapi.json", openapi_json, {200: OpenApiDocument}, "docs",
                  signed_in=False),
        Operation("GET", "/api/docs", docs, {200: "html"}, "docs", signed_in=False),
    ]
    document = build_document([*operations, *own])
    body["json"] = dumps(document).encode()
    assets = Mount("/api/docs/assets", app=StaticFiles(directory=DOCS_ASSETS, check_dir=False),
                   name="apidocs")
    return document, own, [assets]

