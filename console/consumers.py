"""The console's live sockets: new events of one run, and the closes of a list page's runs.

``ws/console/history?account=…&namespace=…&workflow_id=…&run_id=…&after=N`` pushes every event
with an id above ``N`` as the page's own ``<li>`` (``console/_event.html``), then the run's final
status, then closes normally (1000). ``ws/console/statuses?account=…&namespace=…`` waits for
``{"watch": [{"workflow_id": …, "run_id": …}, …]}`` (at most ``MAX_WATCHED_RUNS``; sending it
again replaces the set) and pushes ``{"type": "status", …}`` when each run closes.

The socket is accepted first, so that a refusal reaches the page as a close code it can act
on (no reconnecting after these): 4400 bad parameters, 4403 signed out or the permission is
gone, 4404 no such account, namespace or run (as the pages' 404: tenants cannot tell the
difference). The same check as ``console.access.resolve`` runs on connect and again every
``POLL_SECONDS`` while the socket lives, so a revoked grant closes it with 4403. Other
messages: ``{"type": "live"}`` (following; also after the engine is back), ``{"type":
"error", "message": …, "retrying": bool}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.signed_cookies import SessionStore as CookieSession
from django.template.loader import render_to_string
from temporalio.api.history.v1 import HistoryEvent

from accounts.errors import PermissionDenied, ServiceError
from accounts.models import NamespacePermission, User
from accounts.permissions import has_namespace_permission
from accounts.principal import principal_for_user
from console.codec import codec_context
from console.engine import ConsoleEngineError
from console.history import event_rows
from console.live import (
    MAX_WATCHED_RUNS,
    POLL_SECONDS,
    LiveEngine,
    RunRef,
    follow_history,
    watch_close,
)
from namespaces.models import Namespace
from namespaces.selectors import namespace_get

logger = logging.getLogger(__name__)

BAD_REQUEST, FORBIDDEN, NOT_FOUND, INTERNAL = 4400, 4403, 4404, 1011
MAX_ID_LENGTH = 1000  # Temporal's default limit for workflow ids
_CLOSE_CODE = {400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND}


class Refused(Exception):
    """Why the socket closes before it follows anything: the page's message and close code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def readable_namespace(user: Any, account_id: str, name: str) -> Namespace:
    """The namespace when ``user`` may read it (``console.access.resolve``'s rules)."""
    if user is None or not user.is_authenticated:
        raise Refused(FORBIDDEN, "sign in to follow this page")
    try:
        principal = principal_for_user(user, account_id)
        namespace = namespace_get(principal=principal, namespace=name)
        if not has_namespace_permission(principal, namespace.name, NamespacePermission.READ):
            raise PermissionDenied(f"you need Read permission on namespace {namespace.name!r} to do this")
    except PermissionDenied as exc:
        raise Refused(FORBIDDEN, str(exc)) from None
    except ServiceError as exc:
        raise Refused(NOT_FOUND, str(exc)) from None
    return namespace


def _following(user: Any, account_id: str, name: str) -> tuple[str, dict[str, Any] | None]:
    """The engine's namespace id, and the codec settings its events render with."""
    namespace = readable_namespace(user, account_id, name)
    return namespace.namespace_id, codec_context(namespace)


def _query(scope: dict[str, Any]) -> dict[str, str]:
    raw = bytes(scope.get("query_string", b"")).decode("ascii", errors="replace")
    return {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}


def _required(query: dict[str, str], name: str) -> str:
    value = query.get(name, "").strip()
    if not value:
        raise Refused(BAD_REQUEST, f"{name} is required")
    if len(value) > MAX_ID_LENGTH:
        raise Refused(BAD_REQUEST, f"{name} is too long")
    return value


class _LiveConsumer(AsyncWebsocketConsumer):
    """Accept, check, follow; every background task is cancelled when the socket ends."""

    account_id = ""
    namespace_name = ""
    namespace_id = ""
    codec: dict[str, Any] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tasks: set[asyncio.Task[None]] = set()
        self.engine: LiveEngine | None = None
        self.ended = False
        self.troubled = False

    # --- what each socket adds ---

    def read_parameters(self, query: dict[str, str]) -> None:
        """Keep the socket's own parameters; ``Refused`` when one is missing or malformed."""

    async def follow(self) -> None:
        """Start following, once the caller is known to be allowed."""

    # --- connection ---

    async def connect(self) -> None:
        await self.accept()
        try:
            query = _query(self.scope)
            self.account_id = _required(query, "account")
            self.namespace_name = _required(query, "namespace")
            self.read_parameters(query)
            self.namespace_id, self.codec = await database_sync_to_async(_following)(
                self.scope.get("user"), self.account_id, self.namespace_name
            )
        except Refused as exc:
            await self.end(exc.code, exc.message)
            return
        self.engine = LiveEngine()
        self.spawn(self.guard())
        await self.send_json({"type": "live"})
        await self.follow()

    async def disconnect(self, code: int) -> None:
        self.ended = True
        await self._stop()

    async def end(self, code: int, message: str = "") -> None:
        """Close the socket (after telling the page why, unless it is a normal end) and stop."""
        if self.ended:
            return
        if message:
            await self.send_json({"type": "error", "message": message, "retrying": False})
        self.ended = True
        await self.close(code=code)
        await self._stop()

    async def _stop(self) -> None:
        """Cancel every task but the calling one, then close the engine channel."""
        current = asyncio.current_task()
        tasks = [task for task in self.tasks if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.engine is not None:
            engine, self.engine = self.engine, None
            await engine.close()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(self._run(coroutine))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        try:
            await coroutine
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("live console socket failed")
            await self.end(INTERNAL, "the live view failed; reload the page")

    async def send_json(self, content: dict[str, Any]) -> None:
        if not self.ended:
            await self.send(text_data=json.dumps(content))

    # --- the permission, again and again ---

    def _still_allowed(self) -> bool:
        session = self.scope.get("session")
        if (
            isinstance(session, SessionBase)
            and not isinstance(session, CookieSession)
            and (not session.session_key or not session.exists(session.session_key))
        ):
            return False  # signed out (here or from the sessions page)
        pk = getattr(self.scope.get("user"), "pk", None)
        fresh = User.objects.filter(pk=pk, is_active=True).first() if pk is not None else None
        try:
            return readable_namespace(fresh, self.account_id, self.namespace_name).namespace_id == self.namespace_id
        except Refused:
            return False

    async def guard(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if not await database_sync_to_async(self._still_allowed)():
                await self.end(FORBIDDEN, f"you no longer have access to namespace {self.namespace_name!r}")
                return

    # --- the Listener of console.live ---

    async def trouble(self, message: str) -> None:
        if not self.troubled:
            self.troubled = True
            await self.send_json({"type": "error", "message": message, "retrying": True})

    async def recovered(self) -> None:
        if self.troubled:
            self.troubled = False
            await self.send_json({"type": "live"})

    async def events(self, run: RunRef, events: list[HistoryEvent]) -> None:
        """Not sent by the statuses socket."""

    async def status(self, run: RunRef, status: str) -> None:
        await self.send_json({"type": "status", "workflow_id": run.workflow_id, "run_id": run.run_id, "status": status})

    async def gone(self, run: RunRef, error: ConsoleEngineError) -> None:
        await self.end(_CLOSE_CODE.get(error.http_status, INTERNAL), error.message)


class HistoryConsumer(_LiveConsumer):
    """New events of one run, then its final status."""

    run: RunRef
    after = 0

    def read_parameters(self, query: dict[str, str]) -> None:
        self.run = RunRef(_required(query, "workflow_id"), _required(query, "run_id"))
        after = _required(query, "after")
        if not after.isdigit() or len(after) > 18:
            raise Refused(BAD_REQUEST, "after must be an event id (a whole number)")
        self.after = int(after)

    async def follow(self) -> None:
        assert self.engine is not None
        self.spawn(follow_history(self.engine, self.namespace_id, self.run, self.after, self))

    async def events(self, run: RunRef, events: list[HistoryEvent]) -> None:
        html = "".join(
            render_to_string("console/_event.html", {"e": row, "codec": self.codec}) for row in event_rows(events)
        )
        await self.send_json(
            {"type": "events", "html": html, "count": len(events), "last_event_id": events[-1].event_id}
        )

    async def status(self, run: RunRef, status: str) -> None:
        await super().status(run, status)
        await self.end(1000)


class StatusesConsumer(_LiveConsumer):
    """The closes of the runs a list page shows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.watching: dict[RunRef, asyncio.Task[None]] = {}

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.ended or self.engine is None:
            return
        try:
            runs = _watch_list(text_data)
        except Refused as exc:
            await self.end(exc.code, exc.message)
            return
        for run in [run for run in self.watching if run not in runs]:
            self.watching.pop(run).cancel()
        for run in runs:
            if run not in self.watching:
                self.watching[run] = self.spawn(watch_close(self.engine, self.namespace_id, run, self))

    async def status(self, run: RunRef, status: str) -> None:
        self.watching.pop(run, None)
        await super().status(run, status)

    async def gone(self, run: RunRef, error: ConsoleEngineError) -> None:
        """A run the engine no longer knows (deleted): stop watching it, keep the others."""
        self.watching.pop(run, None)
        await self.send_json(
            {"type": "gone", "workflow_id": run.workflow_id, "run_id": run.run_id, "message": error.message}
        )


def _watch_list(text: str | None) -> list[RunRef]:
    """The runs of ``{"watch": [{"workflow_id": …, "run_id": …}, …]}``, in order, no repeats."""
    try:
        message = json.loads(text or "")
    except ValueError:
        raise Refused(BAD_REQUEST, "send the runs to watch as JSON") from None
    watch = message.get("watch") if isinstance(message, dict) else None
    if not isinstance(watch, list):
        raise Refused(BAD_REQUEST, 'send {"watch": [{"workflow_id": …, "run_id": …}, …]}')
    if len(watch) > MAX_WATCHED_RUNS:
        raise Refused(BAD_REQUEST, f"at most {MAX_WATCHED_RUNS} runs can be watched at once")
    runs: dict[RunRef, None] = {}
    for item in watch:
        ids = [item.get(key) if isinstance(item, dict) else None for key in ("workflow_id", "run_id")]
        if not all(isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH for value in ids):
            raise Refused(BAD_REQUEST, "each run needs a workflow_id and a run_id")
        runs[RunRef(str(ids[0]), str(ids[1]))] = None
    return list(runs)
