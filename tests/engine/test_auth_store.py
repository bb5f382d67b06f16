"""Tenant access in the engine store (migration 5), on this run's backend."""

from __future__ import annotations

import uuid

import pytest

from engine.persistence import Store
from engine.persistence.access_records import (
    AccessConflict,
    ApiKeyRow,
    NamespaceAccessRow,
    NamespaceAuth,
    PrincipalRow,
)
from engine.persistence.records import NamespaceConflict, NamespaceRecord, ScheduleRow

REGISTERED, DELETED = 1, 3  # NamespaceState values


async def create(store: Store, name: str) -> NamespaceRecord:
    record = NamespaceRecord(id=str(uuid.uuid4()), name=name, state=REGISTERED, data=b"d")
    await store.create_namespace(record)
    return record


def principal(account_id: str, *grants: tuple[str, str], admin: bool = False) -> PrincipalRow:
    return PrincipalRow(uuid.uuid4().hex, account_id, "user", f"{uuid.uuid4().hex[:6]}@example.com", admin, grants)


def key(owner: PrincipalRow, *, expires_at: int | None = None, disabled: bool = False) -> ApiKeyRow:
    return ApiKeyRow(uuid.uuid4().hex[:16], owner.principal_id, "ab" * 32, expires_at, disabled)


async def test_namespace_auth_is_upserted_and_loaded_for_live_namespaces(engine_store: Store) -> None:
    payments = await create(engine_store, "payments.ab12c")
    await create(engine_store, "plain")  # no auth settings: not in the access state
    version = await engine_store.access_version()
    auth = NamespaceAuth(payments.id, "ab12c", True, "-----BEGIN CERTIFICATE-----", '[{"common_name":"x"}]')
    await engine_store.put_namespace_auth(auth)
    assert await engine_store.get_namespace_auth(payments.id) == auth
    off = NamespaceAuth(payments.id, "ab12c", False)
    await engine_store.put_namespace_auth(off)
    assert await engine_store.get_namespace_auth(payments.id) == off
    assert await engine_store.access_version() == version + 2

    state = await engine_store.load_access()
    assert state.version == version + 2
    assert state.namespaces == (NamespaceAccessRow(payments.id, "payments.ab12c", "ab12c", False, None, "[]"),)


async def test_replacing_an_accounts_access_leaves_other_accounts_alone(engine_store: Store) -> None:
    alice = principal("ab12c", admin=True)
    deployer = principal("ab12c", ("orders", "read"), ("payments", "write"))
    bob = principal("zz999", ("payments", "admin"))
    keys = [key(alice, expires_at=1_900_000_000_000_000_000), key(deployer, disabled=True)]
    bob_key = key(bob)
    await engine_store.replace_account_access("ab12c", [alice, deployer], keys)
    await engine_store.replace_account_access("zz999", [bob], [bob_key])
    state = await engine_store.load_access()
    assert sorted(state.principals, key=lambda p: p.principal_id) == sorted(
        [alice, deployer, bob], key=lambda p: p.principal_id
    )
    assert sorted(state.api_keys, key=lambda k: k.key_id) == sorted([*keys, bob_key], key=lambda k: k.key_id)

    await engine_store.replace_account_access("ab12c", [deployer], [])
    state = await engine_store.load_access()
    assert sorted(p.principal_id for p in state.principals) == sorted([deployer.principal_id, bob.principal_id])
    assert state.api_keys == (bob_key,)


async def test_an_id_of_another_account_fails_the_whole_replace(engine_store: Store) -> None:
    alice = principal("ab12c", admin=True)
    alice_key = key(alice)
    await engine_store.replace_account_access("ab12c", [alice], [alice_key])
    before = await engine_store.load_access()

    mallory = principal("zz999", admin=True)
    with pytest.raises(AccessConflict, match=f"API key {alice_key.key_id} belongs to another account"):
        await engine_store.replace_account_access(
            "zz999", [mallory], [ApiKeyRow(alice_key.key_id, mallory.principal_id, "cd" * 32, None, False)]
        )
    impostor = PrincipalRow(alice.principal_id, "zz999", "user", "mallory", True)
    with pytest.raises(AccessConflict, match=f"principal {alice.principal_id} belongs to another account"):
        await engine_store.replace_account_access("zz999", [impostor], [])
    assert await engine_store.load_access() == before


async def test_a_namespace_marked_deleted_leaves_the_access_state_and_frees_its_name(engine_store: Store) -> None:
    payments = await create(engine_store, "payments.ab12c")
    await engine_store.put_namespace_auth(NamespaceAuth(payments.id, "ab12c", True))
    version = await engine_store.access_version()
    deleted = NamespaceRecord(payments.id, f"payments.ab12c-deleted-{payments.id}", DELETED, b"gone", 2)
    with pytest.raises(NamespaceConflict):
        await engine_store.mark_namespace_deleted(deleted, expected_version=5)
    await engine_store.mark_namespace_deleted(deleted, expected_version=1)

    assert await engine_store.get_namespace(name="payments.ab12c") is None
    assert await engine_store.get_namespace(id=payments.id) == deleted
    assert await engine_store.get_namespace_auth(payments.id) is None
    state = await engine_store.load_access()
    assert (state.version, state.namespaces) == (version + 1, ())
    again = await create(engine_store, "payments.ab12c")
    assert again.id != payments.id


async def test_purging_a_namespace_removes_its_last_rows(engine_store: Store) -> None:
    payments = await create(engine_store, "payments.ab12c")
    orders = await create(engine_store, "orders.ab12c")
    for record in (payments, orders):
        await engine_store.put_namespace_auth(NamespaceAuth(record.id, "ab12c", True))
        await engine_store.add_search_attributes(record.id, {"CustomerId": ("CustomerId", 2)})
        await engine_store.create_schedule(ScheduleRow(record.id, "nightly", b"s"))
        await engine_store.save_batch(record.id, "job", b"b")

    await engine_store.purge_namespace(payments.id)

    assert await engine_store.get_namespace(id=payments.id) is None
    assert await engine_store.get_namespace_auth(payments.id) is None
    assert [row[0] for row in await engine_store.search_attributes()] == [orders.id]
    assert [row.namespace_id for row in await engine_store.list_schedules(after=None, limit=10)] == [orders.id]
    assert [row[0] for row in await engine_store.list_batches(after=None, limit=10)] == [orders.id]
    assert await engine_store.get_namespace_auth(orders.id) is not None
