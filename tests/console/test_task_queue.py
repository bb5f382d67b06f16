"""The task-queue page: the workers that polled it (workflow and activity pollers) and the
backlog of a queue no one polls; names with ``/`` and unicode; tenant walls."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from accounts.principal import Principal
from namespaces.models import Namespace
from tests.accounts.pages import browser_of, page_of, says, text
from tests.console.conftest import run
from tests.console.sdk_workflows import Greeting, compose_greeting
from tests.namespaces.engine_support import EngineProcess

pytestmark = pytest.mark.slow

QUEUE = "team/örders ⏰"
IDENTITY = "worker-7@build-host"


def queue_url(principal: Principal, name: str) -> str:
    return page_of(principal, f"namespaces/shop/task-queues/{quote(name)}/")


@dataclass
class Fragment:
    content: bytes


def section(page: str, kind: str) -> str:
    """The text of the page's Workflow or Activity section."""
    match = re.search(rf'<section [^>]*data-task-type="{kind}">(.*?)</section>', page, flags=re.S)
    assert match is not None, kind
    return text(Fragment(match[1].encode()))


def serve_one_greeting(engine: EngineProcess, namespace: Namespace) -> None:
    """A worker with a known identity polls QUEUE for workflow and activity tasks, and runs a
    greeting to completion there (so both kinds of poll surely reached the engine)."""
    namespace_id = namespace.namespace_id

    async def main() -> None:
        client = await Client.connect(
            engine.address, namespace=namespace_id, api_key=engine.secret, tls=False, identity=IDENTITY
        )
        async with Worker(client, task_queue=QUEUE, workflows=[Greeting], activities=[compose_greeting]):
            handle = await client.start_workflow(
                Greeting.run, "Ada", id="tq-greet", task_queue=QUEUE, execution_timeout=timedelta(minutes=2)
            )
            await handle.signal(Greeting.finish, "!")
            assert await handle.result() == "Hello, Ada!"

    run(main)


def start_unserved(engine: EngineProcess, namespace: Namespace, queue: str, count: int) -> None:
    namespace_id = namespace.namespace_id

    async def main() -> None:
        client = await Client.connect(engine.address, namespace=namespace_id, api_key=engine.secret, tls=False)
        for i in range(count):
            await client.start_workflow("Report", id=f"waiting-{i}", task_queue=queue)

    run(main)


def test_it_lists_the_workers_that_polled(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    serve_one_greeting(engine, shop)
    response = browser_of(alice).get(queue_url(alice, QUEUE))
    assert response.status_code == 200
    assert says(response, f"Task queue {QUEUE}")
    for kind in ("Workflow", "Activity"):
        shown = section(response.content.decode(), kind)
        assert f"{kind} pollers" in shown
        assert re.search(rf"{re.escape(IDENTITY)} \S+ \S+ .*100000", shown), shown
        assert "No workers have polled" not in shown
    assert re.search(r'<time datetime="[^"]+" data-local>', response.content.decode())


def test_an_unpolled_queue_shows_its_backlog(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    start_unserved(engine, shop, "nobody/polls ✉", 3)
    response = browser_of(alice).get(queue_url(alice, "nobody/polls ✉"))
    assert response.status_code == 200
    workflow, activity = section(response.content.decode(), "Workflow"), section(response.content.decode(), "Activity")
    assert "No workers have polled nobody/polls ✉ for workflow tasks in the last 5 minutes" in workflow
    assert "Backlog: 3 workflow tasks waiting, the oldest for" in workflow
    assert "No workers have polled nobody/polls ✉ for activity tasks" in activity
    assert "Backlog: no activity tasks waiting" in activity


def test_an_unknown_queue_is_simply_empty(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    response = browser_of(alice).get(queue_url(alice, "never-used"))
    assert response.status_code == 200
    assert says(response, "No workers have polled never-used for workflow tasks in the last 5 minutes")


def test_it_rejects_outsider(alice: Principal, charlie: Principal, engine: EngineProcess, shop: Namespace) -> None:
    start_unserved(engine, shop, QUEUE, 1)
    response = browser_of(charlie).get(queue_url(alice, QUEUE))
    assert response.status_code == 404
    assert "Backlog" not in response.content.decode()


def test_the_schedule_page_links_to_its_task_queue(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    client = browser_of(alice)
    data = {
        "schedule_id": "s",
        "workflow_type": "Report",
        "task_queue": QUEUE,
        "workflow_id": "report",
        "spec_kind": "interval",
        "every": "1",
        "every_unit": "hours",
        "offset_unit": "minutes",
        "overlap": "Skip",
    }
    assert client.post(page_of(alice, "namespaces/shop/schedules/new"), data).status_code == 302
    detail = client.get(page_of(alice, "namespaces/shop/schedules/s/"))
    assert f'href="{queue_url(alice, QUEUE)}"' in detail.content.decode()
