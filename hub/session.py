"""One socket's life: hello in time, token check, welcome and catch-up, then commands until
the socket closes. Every frame to the device goes through its Sender."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from functools import partial

from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocket, WebSocketDisconnect

from auth.errors import InvalidToken
from auth.tokens import AccessClaims
from hub import protocol
from hub.authn import authenticate, is_personal, is_read_only, resolve, verify_hello
from hub.context import HubContext
from hub.errors import CloseCode, ErrorCode, HubError
from hub.ratelimit import TokenBucket
from hub.sender import Sender
from storage.clock import utcnow
from storage.hellos import HelloState
from storage.types import Applied, Command, echo, shown
from storage.users import UserRecord

log = logging.getLogger("todohub.session")


class _Closed(Exception):
    """The socket was closed (with the code) before the session began."""


class Session:
    """A device's session on one socket; a member of its user's room."""

    def __init__(self, websocket: WebSocket, hub: HubContext) -> None:
        self.ws = websocket
        self.hub = hub
        self.conn_id = uuid.uuid4().hex
        self.sender: Sender | None = None
        self.session_id = ""
        self.expires_at = 0
        # Opened with a personal access token: logout of all sessions leaves it open.
        self.personal = False
        self.read_only = False
        self._token = ""
        self._recheck: asyncio.Task[None] | None = None
        # A timer, not a task: an idle socket keeps a handle in the loop's heap, no frame.
        self._expiry: asyncio.TimerHandle | None = None
        self._failed: asyncio.Task[None] | None = None
        settings = hub.settings
        self._bucket = TokenBucket(settings.command_rate, settings.command_burst)
        self._strikes = 0

    # Room membership -------------------------------------------------------------------

    def deliver_change(self, seq: int, text: str) -> None:
        """A change of this user arrived from the broker."""
        assert self.sender is not None
        self.sender.push_change(seq, text)

    def deliver(self, text: str) -> None:
        """A frame for every device of this user (presence)."""
        assert self.sender is not None
        self.sender.push(text)

    def check_log(self) -> None:
        """The broker was away: look in the log for what was missed."""
        assert self.sender is not None
        self.sender.check_log()

    def revoke(self, session_id: str | None) -> None:
        """Sessions were revoked; close when this socket's is one of them."""
        assert self.sender is not None
        if session_id is None and self.personal:
            # Every session ended (logout of all, or the account was deleted): a personal
            # token outlives the first, not the second. Ask the database which it was.
            self._recheck = asyncio.create_task(self._check_token())
        elif session_id is None or session_id == self.session_id:
            self.sender.close(CloseCode.UNAUTHORIZED, "session revoked")

    async def _check_token(self) -> None:
        assert self.sender is not None
        try:
            await authenticate(self.hub.db, self.hub.issuer, self._token)
        except InvalidToken as exc:
            self.sender.close(CloseCode.UNAUTHORIZED, str(exc)[:120])
        except (SQLAlchemyError, OSError):
            log.warning("could not check a token after a revocation (database away); "
                        "closing the socket with 1013 so that its hello checks it again")
            self.sender.close(CloseCode.TRY_AGAIN, "could not check the token")

    # Life ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the socket until it closes."""
        try:
            hello = await self._receive_hello()
            known, claims = await self._check_hello(hello)
        except _Closed:
            return
        self.session_id = claims.session_id
        self.expires_at = claims.expires_at
        self.personal, self.read_only = is_personal(claims), is_read_only(claims)
        self._token = hello.token
        hub = self.hub
        user_id = claims.user_id
        sender = self.sender = Sender(
            send=self._send,
            close=self._close,
            fill=lambda after, upto: hub.catchup.fill(user_id, after, upto),
            head=lambda: hub.catchup.head(user_id),
            max_queue=hub.settings.send_queue,
            on_overflow=hub.metrics.overflows.inc,
            on_delivery=hub.metrics.deliveries.inc,
        )
        # In the room before the log position is read, so no change falls in between; the
        # session is looked up in that same read (a revoked one leaves without a frame).
        try:
            await hub.rooms.join(user_id, self)
            user, state = await self._begin(hello, known, claims)
        except BaseException as exc:
            await hub.rooms.leave(user_id, self)
            if isinstance(exc, _Closed):
                return
            raise
        hub.metrics.sockets_open.inc()
        agent = shown(self.ws.headers.get("user-agent", ""))[:200]
        entry = {"device": hello.device, "agent": agent, "since": utcnow()}
        catch_up = partial(hub.catchup.run, user=user.public(), device=hello.device,
                           since=hello.since, state=state, expires_at=self.expires_at,
                           heartbeat=hub.settings.ping_interval)
        del state  # the catch-up's reads are not kept for the socket's life
        writer: asyncio.Task[None] | None = None
        try:
            await hub.presence.join(user_id, self.conn_id, entry)
            await hub.publish_presence(user_id)
            writer = asyncio.create_task(sender.run(catch_up))
            del catch_up
            writer.add_done_callback(self._writer_done)
            self._arm_expiry()
            # The frames are read in this task (one task per socket less); it ends when the
            # socket does, which is also how the writer's close or failure ends it.
            try:
                await self._receive_loop(user_id, hello.device)
            except Exception as exc:
                log.error("socket reader failed; closing with 1011", exc_info=exc)
                await self._close(1011, "internal error")
        finally:
            if self._expiry is not None:
                self._expiry.cancel()
            for task in (writer, self._failed, self._recheck):
                if task is not None and not task.done():
                    task.cancel()
            for task in (writer, self._failed, self._recheck):
                if task is not None:
                    with contextlib.suppress(BaseException):
                        await task
            hub.metrics.sockets_open.dec()
            await hub.rooms.leave(user_id, self)
            with contextlib.suppress(Exception):
                await hub.presence.leave(user_id, self.conn_id)
                await hub.publish_presence(user_id)

    def _writer_done(self, writer: asyncio.Task[None]) -> None:
        if not writer.cancelled() and writer.exception() is not None:
            self._failed = asyncio.create_task(self._writer_failed(writer.exception()))

    async def _begin(self, hello: protocol.Hello, known: UserRecord | None,
                     claims: AccessClaims) -> tuple[UserRecord, HelloState]:
        """The hello's user and catch-up reads; its session refused (4401) when revoked."""
        try:
            state = await self.hub.catchup.begin(
                claims.user_id, hello.since, None if known is not None else claims.session_id)
        except (SQLAlchemyError, OSError):
            log.warning("database unavailable for a hello; closing the socket with 1013 so "
                        "the device retries")
            raise await self._refuse(CloseCode.TRY_AGAIN, "database unavailable") from None
        try:
            user = known if known is not None else resolve(claims, state.owner)
            if state.position is None:
                raise InvalidToken("the token's user no longer exists")
        except InvalidToken as exc:
            raise await self._refuse(CloseCode.UNAUTHORIZED, str(exc)) from None
        return user, state

    async def _writer_failed(self, exc: BaseException | None) -> None:
        if isinstance(exc, SQLAlchemyError | OSError):
            log.warning("database unavailable while serving a socket (%s); closing it with "
                        "1013 so the device retries", exc.__class__.__name__)
            code, reason = int(CloseCode.TRY_AGAIN), "database unavailable"
        else:
            log.error("socket writer failed: %r; closing with 1011", exc, exc_info=exc)
            code, reason = 1011, "internal error"
        await self._close(code, reason)

    async def _send(self, text: str) -> None:
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as exc:
            raise ConnectionError("the client went away") from exc

    async def _close(self, code: int, reason: str) -> None:
        try:
            await self.ws.close(code, reason)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass

    async def _receive_text(self) -> str | None:
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is None:
            raw = message.get("bytes") or b""
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = "\x00not utf-8"
        return str(text)

    async def _refuse(self, code: CloseCode, reason: str) -> _Closed:
        await self._close(code, protocol.close_reason(reason))
        return _Closed(code)

    async def _receive_hello(self) -> protocol.Hello:
        try:
            async with asyncio.timeout(self.hub.settings.hello_timeout):
                text = await self._receive_text()
        except TimeoutError:
            raise await self._refuse(CloseCode.HELLO_TIMEOUT, "no hello in time") from None
        if text is None:
            raise _Closed(1000)
        try:
            hello = protocol.parse_hello(text)
        except protocol.BadToken as exc:
            raise await self._refuse(CloseCode.UNAUTHORIZED, exc.message) from None
        except HubError as exc:
            raise await self._refuse(CloseCode.BAD_HELLO, exc.message) from None
        if not protocol.protocol_supported(hello.protocol):
            raise await self._refuse(
                CloseCode.PROTOCOL_VERSION,
                f"expected protocol {protocol.PROTOCOL_VERSION}, got {echo(hello.protocol)}",
            )
        return hello

    async def _check_hello(
        self, hello: protocol.Hello
    ) -> tuple[UserRecord | None, AccessClaims]:
        try:
            return await verify_hello(self.hub.db, self.hub.issuer, hello.token)
        except InvalidToken as exc:
            raise await self._refuse(CloseCode.UNAUTHORIZED, str(exc)) from None

    async def _receive_loop(self, user_id: str, device: str) -> None:
        assert self.sender is not None
        sender = self.sender
        settings = self.hub.settings
        while True:
            try:
                text = await self._receive_text()
            except (WebSocketDisconnect, RuntimeError, OSError):
                return
            if text is None:
                return
            if not self._bucket.take():
                self._strikes += 1
                op_id = protocol.peek_id(text)
                sender.push(protocol.error(op_id, HubError(
                    ErrorCode.RATE_LIMITED,
                    f"more than {settings.command_rate:g} commands per second; slow down",
                )))
                if settings.rate_limit_strikes and self._strikes >= settings.rate_limit_strikes:
                    sender.close(CloseCode.RATE_LIMITED, "too many commands for too long")
                continue
            self._strikes = 0
            try:
                frame = protocol.parse_frame(text, settings.max_batch)
            except protocol.CommandError as exc:
                sender.push(protocol.error(exc.op_id, exc.error))
                continue
            except HubError as exc:
                sender.push(protocol.error(protocol.peek_id(text), exc))
                continue
            except Exception:
                # A bug: answered like any refused frame, so the device does not retry the
                # frame forever on a socket that died without a word.
                log.exception("reading a frame failed; answering internal")
                sender.push(protocol.error(protocol.peek_id(text), HubError(
                    ErrorCode.INTERNAL, "internal error")))
                continue
            if isinstance(frame, protocol.Ping):
                sender.push(protocol.pong())
            elif isinstance(frame, protocol.Auth):
                await self._reauthenticate(user_id, frame.token)
            elif isinstance(frame, Command):
                self._submit(user_id, device, frame)
            else:
                sender.push(protocol.error(None, HubError(ErrorCode.BAD_REQUEST,
                                                          "hello was already received")))

    def _submit(self, user_id: str, device: str, command: Command) -> None:
        assert self.sender is not None
        sender = self.sender
        if self.read_only:
            sender.push(protocol.error(command.op_id, HubError(
                ErrorCode.FORBIDDEN, "this access token may only read; writes need scope 'write'"
            )))
            return
        def answer(applied: Applied | None, exc: Exception | None) -> None:
            if applied is not None:
                sender.push(protocol.ack(command.op_id, applied.answer, applied.duplicate))
            elif isinstance(exc, HubError):
                sender.push(protocol.error(command.op_id, exc))
            else:
                sender.push(protocol.error(command.op_id, HubError(ErrorCode.INTERNAL,
                                                                   "internal error")))

        # Answered in commit order, so acks leave in the order the commands came, and right
        # after the command's changes were published: change and ack go out in one write.
        self.hub.dispatcher.send(user_id, command, device, answer)

    async def _reauthenticate(self, user_id: str, token: str) -> None:
        assert self.sender is not None
        try:
            user, claims = await authenticate(self.hub.db, self.hub.issuer, token)
        except InvalidToken as exc:
            self.sender.push(protocol.error(None, HubError(ErrorCode.UNAUTHORIZED, str(exc))))
            return
        if user.id != user_id:
            self.sender.push(protocol.error(None, HubError(
                ErrorCode.UNAUTHORIZED, "the token belongs to another user; the old one stays"
            )))
            return
        self.session_id = claims.session_id
        self.expires_at = claims.expires_at
        self.personal, self.read_only = is_personal(claims), is_read_only(claims)
        self._token = token
        self._arm_expiry()
        self.sender.push(protocol.auth_ok(claims.expires_at))

    def _arm_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        warn_in = self.expires_at - self.hub.settings.token_warning - time.time()
        self._expiry = asyncio.get_running_loop().call_later(
            max(0.0, warn_in), self._expiring, self.expires_at)

    def _expiring(self, expires_at: int) -> None:
        assert self.sender is not None
        left = expires_at - time.time()
        if left > 0:
            self.sender.push(protocol.token_expiring(expires_at))
            self._expiry = asyncio.get_running_loop().call_later(left, self._expired)
        else:
            self._expired()

    def _expired(self) -> None:
        assert self.sender is not None
        self.sender.close(CloseCode.UNAUTHORIZED, "token expired")
