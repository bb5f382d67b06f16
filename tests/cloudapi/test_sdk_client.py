"""The Temporal SDK's own CloudOperationsClient manages a Sundial account end to end."""

from __future__ import annotations

import grpc
import pytest
from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr
from temporalio.api.cloud.cloudservice.v1.service_pb2_grpc import CloudServiceServicer, CloudServiceStub
from temporalio.api.cloud.identity.v1 import message_pb2 as identity
from temporalio.api.cloud.operation.v1 import message_pb2 as operation
from temporalio.api.cloud.resource.v1 import message_pb2 as resource
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub
from temporalio.client import CloudOperationsClient
from temporalio.service import GrpcCompression, RPCStatusCode

from accounts.models import ApiKey, AsyncOperation, ServiceAccount
from cloudapi.service import IMPLEMENTED, CloudService
from tests.cloudapi.support import connect, expiry, new_key

pytestmark = pytest.mark.django_db(transaction=True)


def test_owner_creates_a_service_account_and_key_then_reads_the_audit_log(alice, bob, cloud_target, loop) -> None:
    key, token = new_key(alice, "alice's laptop")
    cloud = connect(loop, cloud_target, token, version="2024-10-01-00")

    created = cloud(
        "create_service_account",
        rr.CreateServiceAccountRequest(
            spec=identity.ServiceAccountSpec(
                name="ci",
                description="deploys",
                access=identity.Access(
                    account_access=identity.AccountAccess(role=identity.AccountAccess.ROLE_DEVELOPER)
                ),
            ),
            async_operation_id="create-ci",
        ),
    )
    assert created.async_operation.state == operation.AsyncOperation.STATE_FULFILLED
    assert created.async_operation.operation_type == "CreateServiceAccount"
    assert created.async_operation.id == "create-ci"
    assert created.async_operation.finished_time.seconds >= created.async_operation.started_time.seconds > 0
    sa = ServiceAccount.objects.get(public_id=created.service_account_id)
    assert (sa.name, sa.role, sa.account_id) == ("ci", "developer", alice.account.pk)

    new = cloud(
        "create_api_key",
        rr.CreateApiKeyRequest(
            spec=identity.ApiKeySpec(
                owner_id=sa.public_id,
                owner_type=identity.OWNER_TYPE_SERVICE_ACCOUNT,
                display_name="ci key",
                expiry_time=expiry(90),
            )
        ),
    )
    assert new.token.startswith(f"sdl_{new.key_id}_")
    assert ApiKey.objects.get(key_id=new.key_id).owner_service_account == sa

    users = cloud("get_users", rr.GetUsersRequest())
    assert sorted(u.spec.email for u in users.users) == ["alice@example.com", "bob@example.com"]
    assert {u.spec.access.account_access.role for u in users.users} == {
        identity.AccountAccess.ROLE_OWNER,
        identity.AccountAccess.ROLE_DEVELOPER,
    }
    assert all(u.state == resource.RESOURCE_STATE_ACTIVE for u in users.users)

    logs = cloud("get_audit_logs", rr.GetAuditLogsRequest()).logs
    mine = [log for log in logs if log.principal.api_key_id == key.key_id]
    assert [log.operation for log in mine] == ["CreateServiceAccount", "CreateAPIKey"]
    for log in mine:
        assert (log.status, log.version) == ("OK", 2)
        assert log.principal.type == "user"
        assert log.principal.id == alice.public_id
        assert log.principal.name == "alice@example.com"
        assert log.x_forwarded_for == "127.0.0.1"
        assert log.log_id
    assert mine[0].async_operation_id == "create-ci"
    assert mine[0].raw_details["target"]["id"] == sa.public_id
    assert mine[0].raw_details["name"] == "ci"
    assert mine[0].raw_details["api_version"] == "2024-10-01-00"
    assert mine[1].raw_details["target"]["id"] == new.key_id
    emitted = [log.emit_time.ToNanoseconds() for log in logs]
    assert emitted == sorted(emitted), "audit logs are listed oldest first"


def test_a_service_account_key_is_a_credential_of_its_own(alice, cloud_target, loop) -> None:
    cloud = connect(loop, cloud_target, new_key(alice)[1])
    sa_id = cloud(
        "create_service_account",
        rr.CreateServiceAccountRequest(
            spec=identity.ServiceAccountSpec(
                name="reader",
                access=identity.Access(account_access=identity.AccountAccess(role=identity.AccountAccess.ROLE_READ)),
            )
        ),
    ).service_account_id
    created = cloud(
        "create_api_key",
        rr.CreateApiKeyRequest(
            spec=identity.ApiKeySpec(
                owner_id=sa_id,
                owner_type=identity.OWNER_TYPE_SERVICE_ACCOUNT,
                display_name="reader key",
                expiry_time=expiry(30),
            )
        ),
    )

    as_sa = connect(loop, cloud_target, created.token)
    identity_of_sa = as_sa("get_current_identity", rr.GetCurrentIdentityRequest())
    assert identity_of_sa.WhichOneof("principal") == "service_account"
    assert identity_of_sa.service_account.id == sa_id
    assert identity_of_sa.service_account.spec.name == "reader"
    assert identity_of_sa.principal_api_key.id == created.key_id
    assert identity_of_sa.principal_api_key.spec.owner_type == identity.OWNER_TYPE_SERVICE_ACCOUNT
    assert as_sa("get_account", rr.GetAccountRequest()).account.id == alice.account.account_id


def test_the_same_async_operation_id_creates_one_service_account(alice, cloud_target, loop) -> None:
    cloud = connect(loop, cloud_target, new_key(alice)[1])
    request = rr.CreateServiceAccountRequest(
        spec=identity.ServiceAccountSpec(
            name="once",
            access=identity.Access(account_access=identity.AccountAccess(role=identity.AccountAccess.ROLE_READ)),
        ),
        async_operation_id="op-once",
    )
    first = cloud("create_service_account", request)
    again = cloud("create_service_account", request)
    assert again.service_account_id == first.service_account_id
    assert again.async_operation == first.async_operation
    assert ServiceAccount.objects.filter(name="once").count() == 1
    assert AsyncOperation.objects.filter(operation_id="op-once").count() == 1

    got = cloud("get_async_operation", rr.GetAsyncOperationRequest(async_operation_id="op-once")).async_operation
    assert (got.id, got.operation_type, got.state) == (
        "op-once",
        "CreateServiceAccount",
        operation.AsyncOperation.STATE_FULFILLED,
    )


def test_a_replayed_create_api_key_returns_the_key_id_without_the_token(alice, cloud_target, loop) -> None:
    cloud = connect(loop, cloud_target, new_key(alice)[1])
    request = rr.CreateApiKeyRequest(
        spec=identity.ApiKeySpec(display_name="mine", expiry_time=expiry(10)), async_operation_id="key-once"
    )
    first = cloud("create_api_key", request)
    again = cloud("create_api_key", request)
    assert first.token
    assert again.token == ""
    assert again.key_id == first.key_id
    assert ApiKey.objects.filter(display_name="mine").count() == 1


def test_connect_survives_the_get_system_info_probe_and_gzip_requests_are_read(alice, cloud_target, loop) -> None:
    """On connect the SDK calls WorkflowService/GetSystemInfo, which this server answers with
    grpcio's UNIMPLEMENTED; and it gzips requests by default. Both with and without gzip, and
    from a plain grpcio client that compresses every request, calls succeed."""
    token = new_key(alice)[1]
    for compression in (GrpcCompression.GZIP, GrpcCompression.NONE):
        client = loop.run_until_complete(
            CloudOperationsClient.connect(
                target_host=cloud_target, api_key=token, tls=False, version="v0.7.1", grpc_compression=compression
            )
        )
        me = loop.run_until_complete(client.cloud_service.get_current_identity(rr.GetCurrentIdentityRequest()))
        assert me.user.spec.email == "alice@example.com"

    metadata = (("authorization", f"Bearer {token}"), ("temporal-cloud-api-version", "2024-10-01-00"))
    with grpc.insecure_channel(cloud_target, compression=grpc.Compression.Gzip) as channel:
        stub = CloudServiceStub(channel)
        me = stub.GetCurrentIdentity(rr.GetCurrentIdentityRequest(), metadata=metadata, timeout=30)
        assert me.user.id == alice.public_id
        with pytest.raises(grpc.RpcError) as probe:
            WorkflowServiceStub(channel).GetSystemInfo(GetSystemInfoRequest(), timeout=30)
    assert probe.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_the_servicer_overrides_exactly_the_implemented_rpcs() -> None:
    overridden = {name for name in vars(CloudService) if name[0].isupper()}
    assert overridden == set(IMPLEMENTED)
    assert len(IMPLEMENTED) == 32
    assert all(callable(getattr(CloudServiceServicer, name)) for name in IMPLEMENTED)


def test_an_rpc_this_server_does_not_implement_says_so(alice, cloud_target, loop) -> None:
    cloud = connect(loop, cloud_target, new_key(alice)[1])
    cloud.fails(
        "get_namespace_export_sinks",
        rr.GetNamespaceExportSinksRequest(),
        RPCStatusCode.UNIMPLEMENTED,
        "not implemented",
    )
