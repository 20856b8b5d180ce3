"""create_app(settings): routes, middleware and the lifespan that builds the database,
broker, presence, rooms and writer, and tears them down in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from auth.keys import load_secret
from auth.passwords import Hasher
from auth.refresh import successor_key
from auth.tokens import TokenIssuer
from hub import allocator
from hub.attempts import create_attempts
from hub.brokers import create_broker
from hub.catchup import CatchUp
from hub.config import Settings
from hub.context import HubContext
from hub.cors import ApiCors
from hub.dispatch import Dispatcher
from hub.errors import ErrorCode, HubError
from hub.headers import SecurityHeaders
from hub.metrics import Metrics
from hub.presence import create_presence
from hub.rest import auth as rest_auth
from hub.rest import changes as rest_changes
from hub.rest import invites as rest_invites
from hub.rest import lists as rest_lists
from hub.rest import ops as rest_ops
from hub.rest import stream as rest_stream
from hub.rest import todos as rest_todos
from hub.rest import tokens as rest_tokens
from hub.rest.common import error_response
from hub.rest.openapi import docs_routes
from hub.rest.spec import Operation
from hub.rooms import Rooms
from hub.websocket import PATH, SocketsFirst, websocket_endpoint
from storage.changes import prune
from storage.engine import Database
from storage.migrate import upgrade
from storage.types import Limits

log = logging.getLogger("todohub")


async def build_context(settings: Settings, migrate: bool = True) -> HubContext:
    """Open the database (migrating it), the broker and presence; start the writer."""
    allocator.limit_arenas(settings.malloc_arenas)
    if settings.gc_threshold:
        # A hub holds many long-lived objects (thousands of sockets) and allocates many
        # short-lived ones per frame: with Python's default of 700 the young collections
        # took about a fifth of the CPU of a hello (bench hellos: 1.0 ms -> 0.8 ms each).
        gc.set_threshold(settings.gc_threshold, *gc.get_threshold()[1:])
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    if migrate:
        await upgrade(url)
    db = Database(url, settings.db_pool_size, settings.db_max_overflow, settings.sqlite_on_loop,
                  settings.sqlite_wal_limit_mb)
    broker = create_broker(settings.redis_url, settings.redis_prefix)
    presence = create_presence(settings.redis_url, settings.redis_prefix, settings.presence_ttl)
    rooms = Rooms(broker)
    metrics = Metrics()
    secret = load_secret(settings.signing_secret, settings.data_dir)
    dispatcher = Dispatcher(db, broker, metrics, settings.group_commit_max,
                            Limits(settings.max_list_members, settings.max_lists))
    hub = HubContext(
        settings=settings,
        db=db,
        broker=broker,
        presence=presence,
        rooms=rooms,
        dispatcher=dispatcher,
        catchup=CatchUp(db, settings.snapshot_page, settings.replay_page),
        issuer=TokenIssuer(secret, settings.access_ttl),
        hasher=Hasher(settings.argon2_time_cost, settings.argon2_memory_cost,
                      settings.argon2_parallelism, settings.hash_threads, allocator.trim),
        metrics=metrics,
        attempts=create_attempts(settings.redis_url, settings.redis_prefix),
        refresh_key=successor_key(secret),
    )
    # Devices of a process that died drop out: whoever notices expired entries publishes.
    presence.set_on_expired(hub.publish_presence)
    await broker.start()
    await presence.start()
    await hub.attempts.start()
    await dispatcher.start()
    return hub


async def close_context(hub: HubContext) -> None:
    """Drain the writer, then close presence, broker and database."""
    await hub.dispatcher.stop(hub.settings.shutdown_grace)
    for part in (hub.attempts, hub.presence, hub.broker):
        try:
            await part.stop()
        except Exception as exc:
            log.warning("stopping %s failed: %s", part.__class__.__name__, exc)
    await hub.db.dispose()
    await asyncio.to_thread(hub.hasher.close)


async def _prune_forever(hub: HubContext) -> None:
    settings = hub.settings
    while True:
        await asyncio.sleep(settings.prune_interval)
        try:
            async with hub.db.write() as conn:
                removed = await prune(conn, settings.retention_days, settings.retention_changes)
            if removed:
                log.info("pruned %d changes from the change log", removed)
        except Exception as exc:
            log.warning("pruning the change log failed (%s); will retry", exc)


async def _hub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.BAD_REQUEST}.get(
        exc.status_code, ErrorCode.BAD_REQUEST
    )
    return error_response(HubError(code, str(exc.detail), status=exc.status_code,
                                   headers=dict(exc.headers or {})))


async def _database_error(request: Request, exc: Exception) -> Response:
    log.warning("database unavailable on %s %s (%s); answering 503", request.method,
                request.url.path, exc.__class__.__name__)
    return error_response(HubError(ErrorCode.UNAVAILABLE, "the database is not available; retry",
                                   headers={"Retry-After": "1"}))


async def _crash(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(HubError(ErrorCode.INTERNAL, "internal error"))


class _Hub(Starlette):
    """Starlette with the sockets taken past the HTTP middleware (hub.websocket)."""

    def build_middleware_stack(self) -> ASGIApp:
        return SocketsFirst(super().build_middleware_stack())


def create_app(settings: Settings | None = None) -> Starlette:
    """The hub as an ASGI application."""
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hub = await build_context(settings)
        app.state.hub = hub
        pruner = (asyncio.create_task(_prune_forever(hub))
                  if settings.prune_interval > 0 else None)
        log.info("todohub ready on %s (database %s, broker %s)", settings.port,
                 hub.db.writer.url.get_backend_name(), hub.broker.__class__.__name__)
        try:
            yield
        finally:
            if pruner is not None:
                pruner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pruner
            await close_context(hub)

    # /ws is reached through SocketsFirst, past the middleware; the route stays listed.
    routes: list[BaseRoute] = [WebSocketRoute(PATH, websocket_endpoint)]
    operations: list[Operation] = [
        *rest_auth.operations,
        *rest_todos.operations,
        *rest_lists.operations,
        *rest_invites.operations,
        *rest_stream.operations,
        *rest_changes.operations,
        *rest_tokens.operations,
        *rest_ops.operations,
    ]
    document, docs, assets = docs_routes(operations)
    routes += [operation.route() for operation in [*operations, *docs]]
    routes += assets
    # An empty setting serves no client (Path("") would be the working directory).
    static = Path(settings.static_dir)
    if settings.static_dir and static.is_dir():
        routes.append(Mount("/", app=StaticFiles(directory=static, html=True), name="static"))
    app = _Hub(
        routes=routes,
        middleware=[Middleware(SecurityHeaders), Middleware(ApiCors, settings=settings)],
        lifespan=lifespan,
        exception_handlers={
            HubError: _hub_error,
            HTTPException: _http_error,
            SQLAlchemyError: _database_error,
            OSError: _database_error,
            Exception: _crash,
        },
    )
    app.state.openapi = document
    return app


def app_factory() -> Starlette:
    """The application configured from the environment (for uvicorn's --factory)."""
    return create_app(Settings.from_env())
