"""Namespaces in the engine store, on this run's backend."""

from __future__ import annotations

import uuid

import pytest

from engine.persistence import Store, open_store
from engine.persistence.records import NamespaceConflict, NamespaceRecord

REGISTERED, DEPRECATED = 1, 2  # NamespaceState values


def namespace(name: str, *, data: bytes = b"description", state: int = REGISTERED) -> NamespaceRecord:
    return NamespaceRecord(id=str(uuid.uuid4()), name=name, state=state, data=data)


async def test_a_created_namespace_reads_back_by_name_or_id(engine_store: Store) -> None:
    billing = namespace("billing", data=b"\x00\xffdescription")
    await engine_store.create_namespace(billing)

    assert await engine_store.get_namespace(name="billing") == billing
    assert await engine_store.get_namespace(id=billing.id) == billing
    assert await engine_store.get_namespace(name="billing", id=billing.id) == billing
    assert await engine_store.get_namespace(name="billing", id=str(uuid.uuid4())) is None
    assert await engine_store.get_namespace(name="payments") is None
    with pytest.raises(ValueError, match="name or an id"):
        await engine_store.get_namespace()


async def test_a_taken_name_or_id_conflicts(engine_store: Store) -> None:
    billing = namespace("billing")
    await engine_store.create_namespace(billing)

    with pytest.raises(NamespaceConflict):
        await engine_store.create_namespace(namespace("billing", data=b"other"))
    with pytest.raises(NamespaceConflict):
        await engine_store.create_namespace(NamespaceRecord(billing.id, "payments", REGISTERED, b""))
    assert await engine_store.get_namespace(name="billing") == billing
    assert await engine_store.get_namespace(name="payments") is None


async def test_an_update_needs_the_version_it_read(engine_store: Store) -> None:
    billing = namespace("billing")
    await engine_store.create_namespace(billing)

    changed = NamespaceRecord(billing.id, "billing", DEPRECATED, b"v2", version=2)
    await engine_store.update_namespace(changed, expected_version=1)
    assert await engine_store.get_namespace(id=billing.id) == changed

    with pytest.raises(NamespaceConflict):  # a writer that read version 1 is too late
        await engine_store.update_namespace(
            NamespaceRecord(billing.id, "billing", REGISTERED, b"lost", 2), expected_version=1
        )
    with pytest.raises(NamespaceConflict):  # no such namespace
        await engine_store.update_namespace(namespace("ghost"), expected_version=1)
    assert await engine_store.get_namespace(id=billing.id) == changed


async def test_namespaces_list_by_name_in_pages(engine_store: Store) -> None:
    names = ["payments", "billing", "Zeta", "alpha", "billing-eu"]
    for name in names:
        await engine_store.create_namespace(namespace(name))

    pages: list[list[str]] = []
    after = ""
    while page := await engine_store.list_namespaces(after_name=after, limit=2):
        pages.append([ns.name for ns in page])
        after = page[-1].name

    assert pages == [["Zeta", "alpha"], ["billing", "billing-eu"], ["payments"]]  # bytewise order


async def test_namespaces_survive_a_restart(engine_db_url: str) -> None:
    store = await open_store(engine_db_url)
    billing = namespace("billing")
    await store.create_namespace(billing)
    await store.update_namespace(NamespaceRecord(billing.id, "billing", DEPRECATED, b"v2", 2), expected_version=1)
    await store.close()

    reopened = await open_store(engine_db_url)
    try:
        assert await reopened.get_namespace(name="billing") == NamespaceRecord(
            billing.id, "billing", DEPRECATED, b"v2", 2
        )
    finally:
        await reopened.close()
