"""The live sockets of the console, against the real engine: a running run's new events and
final status arrive without a reload, the list hears its runs close, and the sockets refuse
(with a close code the page acts on) whoever may not look, including someone whose grant is
removed while they watch.

The sockets run in this test's event loop; their permission checks run on Django's thread,
which sees only committed rows (hence ``transaction=True``).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client as DjangoClient
from playwright.sync_api import Browser, Page, WebSocketRoute, expect, sync_playwright
from temporalio.client import Client, WorkflowHandle

import console.consumers
import console.live
from accounts.principal import Principal
from accounts.services.members import do_set_member_namespace_access
from cloud.asgi import application
from namespaces.models import Namespace
from tests.accounts.pages import browser_of, page_of
from tests.console.conftest import sdk, start_waiting
from tests.namespaces.engine_support import EngineProcess
from tests.support.browser import launch_chromium
from tests.support.net import free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

POLL = 1.0  # seconds: a shorter long poll (and permission re-check) than production's


@pytest.fixture(autouse=True)
def _short_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console.live, "POLL_SECONDS", POLL)
    monkeypatch.setattr(console.consumers, "POLL_SECONDS", POLL)
    monkeypatch.setattr(console.live, "RETRY_DELAYS", (0.2,))


@pytest.fixture
def cookie_of() -> Callable[[Principal], str]:
    """The session cookie of the person behind a principal, signed in as the pages' tests do."""

    def cookie(principal: Principal) -> str:
        client = DjangoClient()
        assert principal.user is not None
        client.force_login(principal.user)
        name = settings.SESSION_COOKIE_NAME
        return f"{name}={client.cookies[name].value}"

    return cookie


@pytest.fixture
def shop_id(shop: Namespace) -> str:
    """The engine's id of Alice's namespace (read here: it queries the database)."""
    return shop.namespace_id


def socket(path: str, cookie: str = "") -> WebsocketCommunicator:
    headers = [(b"origin", b"http://localhost")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


def history_path(principal: Principal, workflow_id: str, run_id: str, after: int | str) -> str:
    account = principal.account.account_id
    return (
        f"/ws/console/history?account={account}&namespace=shop&workflow_id={workflow_id}&run_id={run_id}&after={after}"
    )


def statuses_path(principal: Principal) -> str:
    return f"/ws/console/statuses?account={principal.account.account_id}&namespace=shop"


async def receive(communicator: WebsocketCommunicator, timeout: float = 5) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await communicator.receive_from(timeout=timeout))
    return message


async def closing(communicator: WebsocketCommunicator, timeout: float = 5) -> tuple[list[dict[str, Any]], int]:
    """The messages the socket sends until it closes, and its close code."""
    messages: list[dict[str, Any]] = []
    while True:
        output = await communicator.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return messages, int(output.get("code", 1000))
        messages.append(json.loads(output["text"]))


async def refused(path: str, cookie: str = "") -> tuple[str, int]:
    """Open a socket the server refuses: (its last words, the close code)."""
    communicator = socket(path, cookie)
    connected, _ = await communicator.connect(timeout=10)
    assert connected  # accepted, so that the page gets a close code it can act on
    messages, code = await closing(communicator)
    await communicator.disconnect()
    assert [m["type"] for m in messages] == ["error"]
    return str(messages[0]["message"]), code


async def start_runs(engine: EngineProcess, namespace_id: str, ids: list[str]) -> tuple[Client, list[WorkflowHandle]]:
    """Runs that no worker serves: they stay Running until the test acts on them."""
    client = await sdk(engine, namespace_id)
    handles = [await client.start_workflow("Waits", id=i, task_queue="nobody-polls") for i in ids]
    return client, handles


async def history_length(handle: WorkflowHandle) -> int:
    return len((await handle.fetch_history()).events)


def our_tasks() -> set[asyncio.Task[Any]]:
    return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}


async def test_new_events_and_the_final_status_arrive_live(
    alice: Principal, shop_id: str, engine: EngineProcess, cookie_of: Callable[[Principal], str]
) -> None:
    cookie = await database_sync_to_async(cookie_of)(alice)
    _, (handle,) = await start_runs(engine, shop_id, ["live-1"])
    run_id = handle.result_run_id or ""
    shown = await history_length(handle)
    before = our_tasks()

    communicator = socket(history_path(alice, "live-1", run_id, shown), cookie)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    assert await receive(communicator) == {"type": "live"}
    assert await communicator.receive_nothing(timeout=POLL + 0.5)  # nothing new: nothing sent

    await handle.signal("poke", "hello")
    message = await receive(communicator, timeout=3)
    assert message["type"] == "events"
    assert message["count"] == 1
    assert message["last_event_id"] == shown + 1
    assert f'<li id="event-{shown + 1}" data-event-type="WorkflowExecutionSignaled">' in message["html"]
    assert "signal poke" in message["html"]  # the same row as the page renders

    await handle.terminate("seen enough")
    messages, code = await closing(communicator)
    assert code == 1000
    assert messages[-1] == {"type": "status", "workflow_id": "live-1", "run_id": run_id, "status": "Terminated"}
    new_events = "".join(m["html"] for m in messages if m["type"] == "events")
    assert 'data-event-type="WorkflowExecutionTerminated"' in new_events
    assert f'id="event-{shown + 1}"' not in new_events  # nothing is sent twice

    await communicator.disconnect()
    await asyncio.sleep(0.1)
    assert our_tasks() <= before  # the socket's polls ended with it


async def test_events_written_before_the_socket_opened_are_not_lost(
    alice: Principal, shop_id: str, engine: EngineProcess, cookie_of: Callable[[Principal], str]
) -> None:
    cookie = await database_sync_to_async(cookie_of)(alice)
    _, (handle,) = await start_runs(engine, shop_id, ["live-2"])
    communicator = socket(history_path(alice, "live-2", handle.result_run_id or "", 1), cookie)
    await communicator.connect(timeout=10)
    assert await receive(communicator) == {"type": "live"}
    message = await receive(communicator)
    assert message["type"] == "events"
    assert '<li id="event-1"' not in message["html"]  # the page already shows event 1
    assert '<li id="event-2" data-event-type="WorkflowTaskScheduled">' in message["html"]
    await communicator.disconnect()


async def test_with_a_codec_server_new_events_carry_their_stored_payloads(
    alice: Principal, shop: Namespace, shop_id: str, engine: EngineProcess, cookie_of: Callable[[Principal], str]
) -> None:
    """As on the page: the codec script decodes the payloads of the events the socket adds."""
    await database_sync_to_async(Namespace.objects.filter(pk=shop.pk).update)(codec_endpoint="https://codec.example")
    cookie = await database_sync_to_async(cookie_of)(alice)
    client = await sdk(engine, shop_id)
    handle = await client.start_workflow("Waits", "secret order", id="coded", task_queue="nobody-polls")
    communicator = socket(history_path(alice, "coded", handle.result_run_id or "", 0), cookie)
    await communicator.connect(timeout=10)
    assert await receive(communicator) == {"type": "live"}
    message = await receive(communicator)
    assert '<li id="event-1" data-event-type="WorkflowExecutionStarted">' in message["html"]
    assert "input, as the codec server decodes it:" in message["html"]
    assert 'data-payloads="' in message["html"]
    await communicator.disconnect()


async def test_a_closed_run_sends_its_status_and_ends(
    alice: Principal, shop_id: str, engine: EngineProcess, cookie_of: Callable[[Principal], str]
) -> None:
    cookie = await database_sync_to_async(cookie_of)(alice)
    _, (handle,) = await start_runs(engine, shop_id, ["live-3"])
    await handle.terminate("before anyone looked")
    shown = await history_length(handle)
    communicator = socket(history_path(alice, "live-3", handle.result_run_id or "", shown), cookie)
    await communicator.connect(timeout=10)
    messages, code = await closing(communicator)
    assert code == 1000
    assert [m["type"] for m in messages] == ["live", "status"]
    assert messages[-1]["status"] == "Terminated"
    await communicator.disconnect()


async def test_the_list_hears_only_the_run_that_closed(
    alice: Principal, shop_id: str, engine: EngineProcess, cookie_of: Callable[[Principal], str]
) -> None:
    cookie = await database_sync_to_async(cookie_of)(alice)
    _, handles = await start_runs(engine, shop_id, ["list-a", "list-b"])
    before = our_tasks()
    communicator = socket(statuses_path(alice), cookie)
    await communicator.connect(timeout=10)
    assert await receive(communicator) == {"type": "live"}
    watch = [{"workflow_id": h.id, "run_id": h.result_run_id} for h in handles]
    await communicator.send_to(text_data=json.dumps({"watch": watch}))
    assert await communicator.receive_nothing(timeout=POLL + 0.5)  # both still running

    await handles[0].terminate("done with a")
    message = await receive(communicator, timeout=3)
    assert message == {
        "type": "status",
        "workflow_id": "list-a",
        "run_id": handles[0].result_run_id,
        "status": "Terminated",
    }
    assert await communicator.receive_nothing(timeout=POLL + 0.5)  # list-b is still running

    await communicator.disconnect()
    await asyncio.sleep(0.1)
    assert our_tasks() <= before


async def test_a_new_watch_list_replaces_the_old_one(
    alice: Principal, shop_id: str, engine: EngineProcess, cookie_of: Callable[[Principal], str]
) -> None:
    cookie = await database_sync_to_async(cookie_of)(alice)
    _, handles = await start_runs(engine, shop_id, ["swap-a", "swap-b"])
    communicator = socket(statuses_path(alice), cookie)
    await communicator.connect(timeout=10)
    await receive(communicator)
    first, second = ([{"workflow_id": h.id, "run_id": h.result_run_id}] for h in handles)
    await communicator.send_to(text_data=json.dumps({"watch": first}))
    await communicator.send_to(text_data=json.dumps({"watch": second}))
    assert await communicator.receive_nothing(timeout=0.5)  # the socket has taken in both lists
    await handles[0].terminate("no longer on the page")
    await handles[1].terminate("on the page")
    message = await receive(communicator, timeout=3)
    assert (message["workflow_id"], message["status"]) == ("swap-b", "Terminated")
    assert await communicator.receive_nothing(timeout=POLL)
    await communicator.disconnect()


async def test_it_refuses_the_signed_out(alice: Principal, shop: Namespace) -> None:
    message, code = await refused(history_path(alice, "any", "run", 0))
    assert code == 4403
    assert message == "sign in to follow this page"
    _, code = await refused(statuses_path(alice))
    assert code == 4403


async def test_it_rejects_outsider(
    alice: Principal, charlie: Principal, shop: Namespace, cookie_of: Callable[[Principal], str]
) -> None:
    cookie = await database_sync_to_async(cookie_of)(charlie)
    message, code = await refused(history_path(alice, "any", "run", 0), cookie)
    assert (message, code) == ("account not found", 4404)
    _, code = await refused(statuses_path(alice), cookie)
    assert code == 4404


async def test_it_rejects_member_without_grant(
    alice: Principal, bob: Principal, shop: Namespace, cookie_of: Callable[[Principal], str]
) -> None:
    cookie = await database_sync_to_async(cookie_of)(bob)
    message, code = await refused(statuses_path(alice), cookie)
    assert (message, code) == ("namespace 'shop' not found", 4404)


async def test_a_revoked_grant_closes_the_socket(
    alice: Principal, bob: Principal, shop_id: str, engine: EngineProcess, cookie_of: Callable[[Principal], str]
) -> None:
    assert bob.membership is not None
    member_id = bob.membership.public_id

    def grant(permission: str | None) -> None:
        do_set_member_namespace_access(alice, member_id=member_id, namespace="shop", permission=permission)

    await database_sync_to_async(grant)("read")
    cookie = await database_sync_to_async(cookie_of)(bob)
    _, (handle,) = await start_runs(engine, shop_id, ["revoked"])
    shown = await history_length(handle)
    communicator = socket(history_path(alice, "revoked", handle.result_run_id or "", shown), cookie)
    await communicator.connect(timeout=10)
    assert await receive(communicator) == {"type": "live"}  # a Read grant is enough to watch

    await database_sync_to_async(grant)(None)
    messages, code = await closing(communicator, timeout=2 * POLL + 1)  # within one poll interval
    assert code == 4403
    assert messages == [
        {"type": "error", "message": "you no longer have access to namespace 'shop'", "retrying": False}
    ]
    await communicator.disconnect()


async def test_signing_out_closes_the_socket(
    alice: Principal, shop: Namespace, engine: EngineProcess, cookie_of: Callable[[Principal], str]
) -> None:
    cookie = await database_sync_to_async(cookie_of)(alice)
    communicator = socket(statuses_path(alice), cookie)
    await communicator.connect(timeout=10)
    assert await receive(communicator) == {"type": "live"}
    from django.contrib.sessions.models import Session

    await database_sync_to_async(Session.objects.all().delete)()
    _, code = await closing(communicator, timeout=2 * POLL + 1)
    assert code == 4403
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("workflow_id=w&after=0", "run_id is required"),
        ("workflow_id=w&run_id=&after=0", "run_id is required"),
        ("run_id=r&after=0", "workflow_id is required"),
        ("workflow_id=w&run_id=r&after=ten", "after must be an event id (a whole number)"),
        ("workflow_id=w&run_id=r&after=-1", "after must be an event id (a whole number)"),
        ("workflow_id=w&run_id=r", "after is required"),
    ],
)
async def test_bad_history_parameters_close_with_a_reason(
    alice: Principal, shop: Namespace, cookie_of: Callable[[Principal], str], query: str, error: str
) -> None:
    cookie = await database_sync_to_async(cookie_of)(alice)
    account = alice.account.account_id
    message, code = await refused(f"/ws/console/history?account={account}&namespace=shop&{query}", cookie)
    assert (message, code) == (error, 4400)


async def test_bad_watch_lists_close_with_a_reason(
    alice: Principal, shop: Namespace, engine: EngineProcess, cookie_of: Callable[[Principal], str]
) -> None:
    cookie = await database_sync_to_async(cookie_of)(alice)
    too_many = {"watch": [{"workflow_id": f"w{i}", "run_id": "r"} for i in range(101)]}
    cases = [
        ("not json", "send the runs to watch as JSON"),
        (json.dumps({"runs": []}), 'send {"watch": [{"workflow_id": …, "run_id": …}, …]}'),
        (json.dumps({"watch": [{"workflow_id": "w"}]}), "each run needs a workflow_id and a run_id"),
        (json.dumps(too_many), "at most 100 runs can be watched at once"),
    ]
    for text, error in cases:
        communicator = socket(statuses_path(alice), cookie)
        await communicator.connect(timeout=10)
        assert await receive(communicator) == {"type": "live"}
        await communicator.send_to(text_data=text)
        messages, code = await closing(communicator)
        assert (messages, code) == ([{"type": "error", "message": error, "retrying": False}], 4400), text
        await communicator.disconnect()


async def test_an_unknown_run_is_not_found(
    alice: Principal, shop: Namespace, engine: EngineProcess, cookie_of: Callable[[Principal], str]
) -> None:
    cookie = await database_sync_to_async(cookie_of)(alice)
    communicator = socket(history_path(alice, "nobody", "8d0a43c5-2d4e-4a3b-9d0f-000000000000", 0), cookie)
    await communicator.connect(timeout=10)
    messages, code = await closing(communicator)
    assert code == 4404
    assert [m["type"] for m in messages] == ["live", "error"]
    await communicator.disconnect()


async def test_an_unreachable_engine_is_told_and_retried(
    alice: Principal, shop: Namespace, cookie_of: Callable[[Principal], str], settings: Any
) -> None:
    settings.SUNDIAL_ENGINE_ADDRESS = f"127.0.0.1:{free_port()}"
    cookie = await database_sync_to_async(cookie_of)(alice)
    before = our_tasks()
    communicator = socket(history_path(alice, "w", "r", 0), cookie)
    await communicator.connect(timeout=10)
    assert await receive(communicator) == {"type": "live"}
    message = await receive(communicator, timeout=10)
    assert message["type"] == "error"
    assert message["retrying"] is True
    assert "unreachable" in message["message"]
    assert await communicator.receive_nothing(timeout=1)  # retrying quietly, not repeating itself
    await communicator.disconnect()
    await asyncio.sleep(0.1)
    assert our_tasks() <= before


def test_the_pages_point_the_script_at_their_socket(alice: Principal, shop: Namespace, engine: EngineProcess) -> None:
    start_waiting(engine, shop, "Waits", ["page-run"])
    client = browser_of(alice)
    listing = client.get(page_of(alice, "namespaces/shop/workflows/")).content.decode()
    assert 'data-kind="statuses"' in listing
    assert f"/ws/console/statuses?account={alice.account.account_id}&amp;namespace=shop" in listing
    assert "js/console-live" in listing
    found = re.search(r'data-workflow-id="page-run" data-run-id="([^"]+)"', listing)
    assert found is not None
    run_id = found.group(1)
    detail = client.get(page_of(alice, f"namespaces/shop/workflows/page-run/{run_id}/")).content.decode()
    assert 'data-kind="history"' in detail
    assert f"workflow_id=page-run&amp;run_id={run_id}" in detail
    assert 'aria-live="polite"' in detail


# --- the page's script, in Chromium, against a scripted socket --------------------------------

ORIGIN = "http://console.test"
SCRIPT = (settings.BASE_DIR / "static" / "js" / "console-live.js").read_text()


class ScriptedServer:
    """Stands in for the consumers: records each connection and what the page sends."""

    def __init__(self) -> None:
        self.sockets: list[WebSocketRoute] = []
        self.received: list[dict[str, Any]] = []

    def accept(self, ws: WebSocketRoute) -> None:
        self.sockets.append(ws)
        ws.on_message(lambda message: self.received.append(json.loads(str(message))))
        ws.send(json.dumps({"type": "live"}))


def open_page(browser: Browser, body: str, server: ScriptedServer) -> Page:
    page = browser.new_page()
    page.route(f"{ORIGIN}/run", lambda route: route.fulfill(content_type="text/html", body=body))
    page.route(
        f"{ORIGIN}/static/js/console-live.js",
        lambda route: route.fulfill(content_type="text/javascript", body=SCRIPT),
    )
    page.route_web_socket("ws://console.test/ws/**", server.accept)
    page.goto(f"{ORIGIN}/run")
    return page


def live_part(context: dict[str, Any]) -> str:
    return render_to_string("console/_live.html", context)


RUN_CONTEXT = {
    "account": SimpleNamespace(account_id="acc01"),
    "namespace": SimpleNamespace(name="shop", namespace_id="shop.acc01"),
    "run": SimpleNamespace(workflow_id="orders/42", run_id="r-1", status="Running", history_length=3),
}


def run_page(events_list: bool, context: dict[str, Any] = RUN_CONTEXT) -> str:
    events = '<ol id="live-events"><li id="event-3">3</li></ol>' if events_list else "<pre>{}</pre>"
    return (
        '<!doctype html><html><body><h1><span class="badge" data-status="Running" data-live-run-status>Running</span>'
        f" orders/42</h1>{events}{live_part(context)}</body></html>"
    )


def event_item(event_id: int) -> str:
    return f'<li id="event-{event_id}" data-event-type="WorkflowExecutionSignaled">{event_id}</li>'


@pytest.mark.browser
def test_the_run_page_appends_events_and_shows_the_status() -> None:
    server = ScriptedServer()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = open_page(browser, run_page(events_list=True, context={**RUN_CONTEXT, "live_after": 3}), server)
        state = page.get_by_role("status")
        expect(state).to_contain_text("Live")
        first = server.sockets[0]
        assert first.url == (
            "ws://console.test/ws/console/history?account=acc01&namespace=shop&workflow_id=orders%2F42"
            "&run_id=r-1&after=3"
        )
        first.send(
            json.dumps({"type": "events", "html": event_item(4) + event_item(5), "count": 2, "last_event_id": 5})
        )
        expect(page.locator("#live-events > li")).to_have_count(3)
        expect(page.locator("#event-5")).to_have_attribute("data-event-type", "WorkflowExecutionSignaled")

        first.close(code=1011)  # dropped: the page reconnects, asking only for what it lacks
        expect(state).to_contain_text("Live")
        assert len(server.sockets) == 2
        assert server.sockets[1].url.endswith("&after=5")
        again = event_item(5) + event_item(6)  # an event the page already has is not shown twice
        server.sockets[1].send(json.dumps({"type": "events", "html": again, "count": 2, "last_event_id": 6}))
        expect(page.locator("#live-events > li")).to_have_count(4)

        server.sockets[1].send(
            json.dumps({"type": "status", "workflow_id": "orders/42", "run_id": "r-1", "status": "Terminated"})
        )
        badge = page.locator("[data-live-run-status]")
        expect(badge).to_have_text("Terminated")
        expect(badge).to_have_attribute("data-status", "Terminated")
        server.sockets[1].close(code=1000)
        expect(state).to_contain_text("Closed")
        page.wait_for_timeout(1500)
        assert len(server.sockets) == 2  # a normal end is not reconnected
        browser.close()


@pytest.mark.browser
def test_the_json_view_counts_new_events_and_a_refusal_is_final() -> None:
    server = ScriptedServer()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = open_page(browser, run_page(events_list=False), server)
        state = page.get_by_role("status")
        expect(state).to_contain_text("Live")
        assert server.sockets[0].url.endswith("&after=3")  # no live_after: the run's history length
        server.sockets[0].send(json.dumps({"type": "events", "html": event_item(4), "count": 1, "last_event_id": 4}))
        expect(state).to_contain_text("1 new event — reload to see it")
        server.sockets[0].send(json.dumps({"type": "error", "message": "engine away", "retrying": True}))
        expect(state).to_contain_text("Reconnecting…")
        server.sockets[0].send(json.dumps({"type": "error", "message": "no access", "retrying": False}))
        server.sockets[0].close(code=4403)
        expect(state).to_contain_text("Closed")
        expect(state).to_contain_text("no access")
        page.wait_for_timeout(1500)
        assert len(server.sockets) == 1
        browser.close()


@pytest.mark.browser
def test_the_list_watches_its_running_rows() -> None:
    rows = [
        SimpleNamespace(workflow_id="a", run_id="ra", status="Running"),
        SimpleNamespace(workflow_id="b", run_id="rb", status="Completed"),
        SimpleNamespace(workflow_id="c", run_id="rc", status="Running"),
    ]
    table = "".join(
        f'<tr data-workflow-id="{r.workflow_id}" data-run-id="{r.run_id}">'
        f'<td><span class="badge" data-status="{r.status}">{r.status}</span></td></tr>'
        for r in rows
    )
    context = {**RUN_CONTEXT, "run": None, "rows": rows}
    body = f"<!doctype html><html><body><table>{table}</table>{live_part(context)}</body></html>"
    server = ScriptedServer()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = open_page(browser, body, server)
        expect(page.get_by_role("status")).to_contain_text("Live")
        assert server.sockets[0].url == "ws://console.test/ws/console/statuses?account=acc01&namespace=shop"
        for _ in range(50):
            if server.received:
                break
            page.wait_for_timeout(100)
        assert server.received == [
            {"watch": [{"workflow_id": "a", "run_id": "ra"}, {"workflow_id": "c", "run_id": "rc"}]}
        ]
        server.sockets[0].send(json.dumps({"type": "status", "workflow_id": "c", "run_id": "rc", "status": "Failed"}))
        badge = page.locator('tr[data-workflow-id="c"] .badge')
        expect(badge).to_have_text("Failed")
        expect(badge).to_have_attribute("data-status", "Failed")
        expect(page.locator('tr[data-workflow-id="a"] .badge')).to_have_text("Running")
        browser.close()
