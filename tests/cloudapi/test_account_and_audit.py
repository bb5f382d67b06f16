"""The account, the caller's identity and the audit log over the Cloud Ops API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.cloud.account.v1 import message_pb2 as account_pb
from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr
from temporalio.api.cloud.identity.v1 import message_pb2 as identity
from temporalio.api.cloud.resource.v1 import message_pb2 as resource
from temporalio.service import RPCStatusCode

from accounts.models import Account
from audit.models import AuditEntry
from tests.cloudapi.support import ROLE, World, expiry, new_key

pytestmark = pytest.mark.django_db(transaction=True)


def _at(minutes_ago: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(timezone.now() - timedelta(minutes=minutes_ago))
    return stamp


def test_current_identity_of_a_user_key(world: World, client_for) -> None:
    key, token = new_key(world.carol, "carol's")
    me = client_for(token=token)("get_current_identity", rr.GetCurrentIdentityRequest())
    assert me.WhichOneof("principal") == "user"
    assert (me.user.id, me.user.spec.email) == (world.carol.public_id, "carol@example.com")
    assert me.user.spec.access.account_access.role == ROLE.ROLE_READ
    assert (me.principal_api_key.id, me.principal_api_key.spec.display_name) == (key.key_id, "carol's")


def test_get_account_and_update_account_with_its_version(alice, client_for) -> None:
    cloud = client_for(alice)
    account = cloud("get_account", rr.GetAccountRequest()).account
    assert (account.id, account.resource_version, account.state) == (
        alice.account.account_id,
        "1",
        resource.RESOURCE_STATE_ACTIVE,
    )
    updated = cloud("update_account", rr.UpdateAccountRequest(resource_version="1", async_operation_id="acct-1"))
    assert updated.async_operation.operation_type == "UpdateAccount"
    assert AuditEntry.objects.filter(operation="UpdateAccount", async_operation_id="acct-1", status="OK").exists()


def test_update_account_refuses_a_metrics_client_ca(alice, client_for) -> None:
    cloud = client_for(alice)
    spec = account_pb.AccountSpec(metrics=account_pb.MetricsSpec(accepted_client_ca=b"-----BEGIN CERTIFICATE-----"))
    cloud.fails(
        "update_account",
        rr.UpdateAccountRequest(spec=spec, resource_version="1"),
        RPCStatusCode.INVALID_ARGUMENT,
        "accepted_client_ca",
    )
    assert Account.objects.get(pk=alice.account.pk).resource_version == 1


def test_audit_logs_honour_the_time_window(alice, client_for) -> None:
    cloud = client_for(alice)
    recent = AuditEntry.objects.filter(account_code=alice.account.account_id).order_by("seq")
    assert recent.count() == 2  # CreateAccount, CreateAPIKey (the test's key)
    AuditEntry.objects.filter(pk=recent[0].pk).update(emitted_at=timezone.now() - timedelta(days=40))

    default = cloud("get_audit_logs", rr.GetAuditLogsRequest()).logs
    assert [log.operation for log in default] == ["CreateAPIKey"]
    wide = cloud(
        "get_audit_logs", rr.GetAuditLogsRequest(start_time_inclusive=_at(60 * 24 * 41), end_time_exclusive=_at(-1))
    ).logs
    assert [log.operation for log in wide] == ["CreateAccount", "CreateAPIKey"]
    old_only = cloud(
        "get_audit_logs",
        rr.GetAuditLogsRequest(start_time_inclusive=_at(60 * 24 * 41), end_time_exclusive=_at(60 * 24 * 39)),
    ).logs
    assert [log.operation for log in old_only] == ["CreateAccount"]


def test_audit_logs_page_oldest_first(alice, client_for) -> None:
    for n in range(4):
        new_key(alice, f"key {n}")
    cloud = client_for(alice)
    logs, token = [], ""
    while True:
        page = cloud("get_audit_logs", rr.GetAuditLogsRequest(page_size=2, page_token=token))
        assert len(page.logs) <= 2
        logs += page.logs
        token = page.next_page_token
        if not token:
            break
    expected = AuditEntry.objects.filter(account_code=alice.account.account_id).order_by("seq")
    assert [log.log_id for log in logs] == [e.log_id for e in expected]
    assert len(logs) == 6


def test_audit_logs_for_owner_and_global_admin_only(world: World, client_for) -> None:
    for who in (world.alice, world.dave):
        assert client_for(who)("get_audit_logs", rr.GetAuditLogsRequest()).logs
    for who in (world.bob, world.carol):
        client_for(who).fails("get_audit_logs", rr.GetAuditLogsRequest(), RPCStatusCode.PERMISSION_DENIED)


def test_the_client_address_chain_keeps_the_peer_after_a_forwarded_header(alice, client_for) -> None:
    cloud = client_for(alice, rpc_metadata={"x-forwarded-for": "203.0.113.9"})
    cloud("create_api_key", rr.CreateApiKeyRequest(spec=identity.ApiKeySpec(display_name="fwd", expiry_time=expiry(3))))
    entry = AuditEntry.objects.filter(operation="CreateAPIKey").order_by("-seq").first()
    assert entry is not None
    assert entry.client_ip == "203.0.113.9, 127.0.0.1"
