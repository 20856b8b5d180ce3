"""The API document: valid OpenAPI 3.1, one entry per route of the app and no other, and
real answers of a running hub that fit the schemas it gives for them."""

from __future__ import annotations

from typing import Any

import httpx
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from starlette.routing import Route

from hub.app import create_app
from tests.client import PASSWORD, bearer, register
from tests.scripts.helpers import make_token, pat
from tests.servers import RunningHub


async def _document(hub: RunningHub) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        answer = await http.get("/api/openapi.json")  # public: no token
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    document: dict[str, Any] = answer.json()
    return document


async def test_the_served_document_is_valid_openapi_3_1(hub: RunningHub) -> None:
    """GET /api/openapi.json answers, without a token, a document openapi-spec-validator
    accepts, with the bearer scheme and the error body on every error status."""
    document = await _document(hub)
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert "500" in operation["responses"], (method, path)
            for status, answer in operation["responses"].items():
                if int(status) >= 400 and not path.endswith(("readyz", "health")):
                    assert answer["content"]["application/json"]["schema"] == error_ref
            if operation["security"]:
                assert "401" in operation["responses"], (method, path)
    todos = document["paths"]["/api/todos/{todo_id}"]["patch"]
    assert {p["name"] for p in todos["parameters"]} == {"todo_id", "If-Match",
                                                         "Idempotency-Key"}
    assert todos["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TodoPatch"}
    assert "412" in todos["responses"]
    stream = document["paths"]["/api/changes/stream"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert "Last-Event-ID" in {p["name"] for p in stream["parameters"]}
    metrics = document["paths"]["/metrics"]["get"]
    assert "text/plain" in metrics["responses"]["200"]["content"]


async def test_every_route_is_in_the_document_and_nothing_else(hub: RunningHub) -> None:
    """The Starlette app's HTTP routes (the socket and static files aside) and the document's
    operations are the same set of methods and paths."""
    app = create_app(hub.settings)
    served = {(method, route.path) for route in app.routes if isinstance(route, Route)
              for method in (route.methods or set()) - {"HEAD"}}
    document = await _document(hub)
    listed = {(method.upper(), path) for path, methods in document["paths"].items()
              for method in methods}
    assert served == listed
    assert {path for _, path in served} >= {
        "/api/auth/login", "/api/todos", "/api/todos/{todo_id}", "/api/todos/batch",
        "/api/todos/stats", "/api/changes", "/api/changes/stream", "/api/lists",
        "/api/lists/{list_id}", "/api/lists/{list_id}/invites",
        "/api/lists/{list_id}/members/{user_id}", "/api/invites/preview",
        "/api/invites/accept", "/api/tokens", "/health", "/livez", "/readyz", "/metrics",
        "/api/openapi.json", "/api/docs"}


class Answers:
    """Checks answers against the document's schemas for their operation and status."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.checked: set[tuple[str, str, int]] = set()

    def check(self, method: str, path: str, answer: httpx.Response) -> Any:
        """Assert that ``answer`` is documented for the operation and fits its schema."""
        operation = self.document["paths"][path][method.lower()]
        documented = operation["responses"].get(str(answer.status_code))
        assert documented is not None, (method, path, answer.status_code, answer.text)
        self.checked.add((method, path, answer.status_code))
        if answer.status_code == 204:
            assert answer.content == b""
            return None
        schema = documented["content"]["application/json"]["schema"]
        validator = Draft202012Validator({**schema, "components": self.document["components"]})
        body = answer.json()
        errors = sorted(validator.iter_errors(body), key=str)
        assert not errors, (method, path, answer.status_code, [e.message for e in errors])
        return body


async def test_real_answers_fit_the_document(hub: RunningHub) -> None:
    """A tour of the API (accounts, todos, lists, sharing, tokens, changes, operations and
    the usual refusals) answers exactly what the document says, status and body."""
    answers = Answers(await _document(hub))
    ann = await register(hub, "ann-doc")
    bob = await register(hub, "bob-doc")
    token = await make_token(hub, ann)
    c = answers.check
    async with httpx.AsyncClient(base_url=hub.url, headers=bearer(ann), timeout=10) as http:
        async with httpx.AsyncClient(base_url=hub.url) as anonymous:
            c("POST", "/api/auth/guest", await anonymous.post("/api/auth/guest"))
            c("POST", "/api/auth/login", await anonymous.post(
                "/api/auth/login", json={"username": "ann-doc", "password": "wrong-Pass-1"}))
            c("POST", "/api/auth/register", await anonymous.post(
                "/api/auth/register", json={"username": "x", "password": "short"}))
            c("POST", "/api/auth/refresh", await anonymous.post(
                "/api/auth/refresh", json={"refresh_token": ann["refresh_token"]}))
            c("GET", "/api/todos", await anonymous.get("/api/todos"))
            for path in ("/livez", "/readyz", "/health"):
                c("GET", path, await anonymous.get(path))
        c("GET", "/api/auth/me", await http.get("/api/auth/me"))
        inbox_todo = c("POST", "/api/todos", await http.post(
            "/api/todos", json={"title": "Buy milk", "tags": ["home"],
                                "due_at": "2030-01-01T10:00:00+01:00"}))
        path = f"/api/todos/{inbox_todo['id']}"
        c("GET", "/api/todos/{todo_id}", await http.get(path))
        c("PATCH", "/api/todos/{todo_id}", await http.patch(path, json={"completed": True}))
        c("PATCH", "/api/todos/{todo_id}", await http.patch(
            path, json={"title": "x"}, headers={"If-Match": "1"}))
        c("PATCH", "/api/todos/{todo_id}", await http.patch(path, json={"title": ""}))
        c("GET", "/api/todos/{todo_id}", await http.get("/api/todos/not-a-uuid"))
        c("GET", "/api/todos", await http.get("/api/todos", params={"sort": "-title"}))
        c("GET", "/api/todos", await http.get("/api/todos", params={"bogus": "1"}))
        c("GET", "/api/todos/stats", await http.get("/api/todos/stats"))
        done = c("POST", "/api/todos/batch", await http.post("/api/todos/batch", json={"ops": [
            {"type": "create", "todo": {"title": "In a batch"}},
            {"type": "delete", "todo_id": inbox_todo["id"]}]}))
        assert done["todos"][1]["deleted"] is True
        c("POST", "/api/todos/batch", await http.post("/api/todos/batch", json={"ops": []}))
        made = c("POST", "/api/lists", await http.post("/api/lists", json={"name": "Shop"}))
        list_path = f"/api/lists/{made['id']}"
        c("GET", "/api/lists", await http.get("/api/lists"))
        c("GET", "/api/lists/{list_id}", await http.get(list_path))
        c("PATCH", "/api/lists/{list_id}", await http.patch(list_path, json={"name": "Food"}))
        c("POST", "/api/todos", await http.post(
            "/api/todos", json={"title": "Apples", "list_id": made["id"]}))
        invite = c("POST", "/api/lists/{list_id}/invites", await http.post(
            f"{list_path}/invites", json={"role": "viewer"}))
        c("GET", "/api/lists/{list_id}/invites", await http.get(f"{list_path}/invites"))
        async with httpx.AsyncClient(base_url=hub.url, headers=bearer(bob)) as as_bob:
            c("POST", "/api/invites/preview", await as_bob.post(
                "/api/invites/preview", json={"token": invite["token"]}))
            c("POST", "/api/invites/accept", await as_bob.post(
                "/api/invites/accept", json={"token": invite["token"]}))
            c("POST", "/api/invites/accept", await as_bob.post(
                "/api/invites/accept", json={"token": "spent"}))
            c("DELETE", "/api/lists/{list_id}", await as_bob.delete(list_path))
        c("PATCH", "/api/lists/{list_id}/members/{user_id}", await http.patch(
            f"{list_path}/members/{bob['user']['id']}", json={"role": "editor"}))
        c("DELETE", "/api/lists/{list_id}/members/{user_id}", await http.delete(
            f"{list_path}/members/{bob['user']['id']}"))
        c("DELETE", "/api/lists/{list_id}/invites/{invite_id}", await http.delete(
            f"{list_path}/invites/{invite['id']}"))
        c("GET", "/api/changes", await http.get("/api/changes", params={"since": 0}))
        c("GET", "/api/changes", await http.get("/api/changes", params={"since": "x"}))
        c("GET", "/api/tokens", await http.get("/api/tokens"))
        c("POST", "/api/tokens", await http.post("/api/tokens", json={"name": "n",
                                                                      "scope": "admin"}))
        async with httpx.AsyncClient(base_url=hub.url, headers=pat(token["token"])) as script:
            c("POST", "/api/tokens", await script.post(
                "/api/tokens", json={"name": "n", "scope": "read"}))
            c("POST", "/api/auth/logout", await script.post("/api/auth/logout"))
        c("DELETE", "/api/tokens/{token_id}", await http.delete(f"/api/tokens/{token['id']}"))
        c("DELETE", "/api/lists/{list_id}", await http.delete(list_path))
        c("DELETE", "/api/auth/me", await http.request(
            "DELETE", "/api/auth/me", json={"password": PASSWORD}))
    assert len({(m, p) for m, p, _ in answers.checked}) >= 25
    assert {s for _, _, s in answers.checked} >= {200, 201, 204, 401, 403, 404, 412, 422}
    assert hub.log.tracebacks() == []
