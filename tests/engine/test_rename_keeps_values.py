"""A renamed search attribute keeps every stored value under its new name: describes and lists
answer the new name, a run that upserts after the rename keeps the renamed value indexed, a
schedule made before the rename starts runs with it, and a new attribute given the old name
starts empty."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from engine.server import EngineServer
from tests.engine.auth_support import Account, Admin, connect, namespace_spec, worker
from tests.engine.sdk_app import HelloWorkflow, TaggingWorkflow
from tests.engine.sdk_support import new_id

PAYMENTS = "payments.cd34e"
OLD, NEW = SearchAttributeKey.for_keyword("CustomerId"), SearchAttributeKey.for_keyword("Customer")
OTHER = SearchAttributeKey.for_keyword("Other")


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


async def ids(client: Client, query: str) -> list[str]:
    return sorted([w.id async for w in client.list_workflows(query)])


def one(key: SearchAttributeKey[str], value: str) -> TypedSearchAttributes:
    return TypedSearchAttributes([SearchAttributePair(key, value)])


def values(attributes: TypedSearchAttributes) -> dict[str, Any]:
    return {pair.key.name: pair.value for pair in attributes}


async def setup(admin: Admin, engine: EngineServer) -> Client:
    spec = namespace_spec("payments", "cd34e", search_attributes={"CustomerId": "Keyword", "Other": "Keyword"})
    await admin.put_namespace(spec)
    account = Account("cd34e")
    key = account.key_for(account.principal("owner", grants={"payments": "admin"}))
    await admin.sync(account)
    return await connect(engine, PAYMENTS, key.token)


async def rename(admin: Admin, old: str, new: str) -> None:
    document = {"namespace": PAYMENTS, "old_name": old, "new_name": new}
    assert await admin.call("RenameSearchAttribute", document) == {"renamed": True}


async def test_a_running_workflow_keeps_its_renamed_value_through_later_upserts(
    auth_engine: EngineServer, admin: Admin
) -> None:
    client = await setup(admin, auth_engine)
    async with worker(client) as task_queue:
        handle = await client.start_workflow(
            TaggingWorkflow.run,
            id=new_id(),
            task_queue=task_queue,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(OLD, "c-1"), SearchAttributePair(OTHER, "o-1")]
            ),
        )
        await rename(admin, "CustomerId", "Customer")

        described = await handle.describe()
        assert values(described.typed_search_attributes) == {"Customer": "c-1", "Other": "o-1"}
        [listed] = [w async for w in client.list_workflows(f"WorkflowId = '{handle.id}'")]
        assert values(listed.typed_search_attributes) == {"Customer": "c-1", "Other": "o-1"}

        # the workflow upserts another attribute: its index is rebuilt and keeps Customer
        await handle.signal(TaggingWorkflow.tag, args=["Other", "o-2"])
        await eventually(lambda: _tagged(handle, 1))
        await eventually(lambda: _found(client, "Other = 'o-2'", handle.id))
        assert await ids(client, "Customer = 'c-1'") == [handle.id]
        assert values((await handle.describe()).typed_search_attributes) == {"Customer": "c-1", "Other": "o-2"}

        # and an upsert by the new name replaces the value stored under the old one
        await handle.signal(TaggingWorkflow.tag, args=["Customer", "c-9"])
        await eventually(lambda: _found(client, "Customer = 'c-9'", handle.id))
        assert await ids(client, "Customer = 'c-1'") == []
        assert values((await handle.describe()).typed_search_attributes) == {"Customer": "c-9", "Other": "o-2"}

        await handle.signal(TaggingWorkflow.finish)
        assert await handle.result() == 2
    # closed: its final listing is by the new name too
    [closed] = [w async for w in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    assert values(closed.typed_search_attributes) == {"Customer": "c-9", "Other": "o-2"}


async def test_the_old_name_defined_again_is_a_new_empty_attribute(auth_engine: EngineServer, admin: Admin) -> None:
    client = await setup(admin, auth_engine)
    before = await client.start_workflow(
        "NeverPolled", id=new_id(), task_queue="nobody", search_attributes=one(OLD, "c-1")
    )
    await rename(admin, "CustomerId", "Customer")
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=PAYMENTS, search_attributes={"CustomerId": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD}
        )
    )
    assert await ids(client, "CustomerId = 'c-1'") == []
    assert await ids(client, "Customer = 'c-1'") == [before.id]
    after = await client.start_workflow(
        "NeverPolled", id=new_id(), task_queue="nobody", search_attributes=one(OLD, "c-1")
    )
    assert await ids(client, "CustomerId = 'c-1'") == [after.id]
    assert await ids(client, "Customer = 'c-1'") == [before.id]
    assert values((await before.describe()).typed_search_attributes) == {"Customer": "c-1"}
    assert values((await after.describe()).typed_search_attributes) == {"CustomerId": "c-1"}

    # renamed back and forth, each value stays with its attribute
    await rename(admin, "Customer", "Client")
    await rename(admin, "CustomerId", "Customer")
    assert await ids(client, "Client = 'c-1'") == [before.id]
    assert await ids(client, "Customer = 'c-1'") == [after.id]
    assert values((await after.describe()).typed_search_attributes) == {"Customer": "c-1"}

    # the engine restarted (everything reloaded from the store) answers the same
    await auth_engine.stop()
    restarted = EngineServer(auth_engine.config)
    await restarted.start()
    try:
        again = await Client.connect(
            f"127.0.0.1:{restarted.port}", namespace=PAYMENTS, api_key=client.api_key, tls=False
        )
        assert await ids(again, "Client = 'c-1'") == [before.id]
        assert await ids(again, "Customer = 'c-1'") == [after.id]
    finally:
        await restarted.stop()


async def test_a_schedule_made_before_a_rename_starts_runs_with_the_new_name(
    auth_engine: EngineServer, admin: Admin
) -> None:
    client = await setup(admin, auth_engine)
    schedule_id = f"nightly-{uuid.uuid4().hex[:6]}"
    async with worker(client) as task_queue:
        action = ScheduleActionStartWorkflow(
            HelloWorkflow.run,
            "renamed",
            id=f"from-schedule-{uuid.uuid4().hex[:6]}",
            task_queue=task_queue,
            typed_search_attributes=one(OLD, "scheduled"),
        )
        spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))])
        handle = await client.create_schedule(
            schedule_id,
            Schedule(action=action, spec=spec, state=ScheduleState(paused=True)),
            search_attributes=one(OLD, "owner-1"),
        )
        await rename(admin, "CustomerId", "Customer")

        described = await handle.describe()
        assert values(described.typed_search_attributes) == {"Customer": "owner-1"}
        assert isinstance(described.schedule.action, ScheduleActionStartWorkflow)
        assert values(described.schedule.action.typed_search_attributes) == {"Customer": "scheduled"}
        assert [s.id async for s in await client.list_schedules("Customer = 'owner-1'")] == [schedule_id]

        await handle.trigger()
        await eventually(lambda: _found(client, "Customer = 'scheduled'"))
        [run] = [w async for w in client.list_workflows("Customer = 'scheduled'")]
        assert values(run.typed_search_attributes)["Customer"] == "scheduled"
        await handle.delete()


async def _tagged(handle: Any, count: int) -> bool:
    return bool(await handle.query(TaggingWorkflow.tagged) >= count)


async def _found(client: Client, query: str, workflow_id: str | None = None) -> bool:
    found = await ids(client, query)
    return workflow_id in found if workflow_id is not None else bool(found)
