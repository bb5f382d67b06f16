"""Drive the Cloud Ops API with the Temporal SDK's own client from synchronous test code.

Each test gets its own event loop; SDK calls run on it with ``run_until_complete``, so the
test's own ORM work happens while no loop is running (Django refuses ORM calls inside one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.forms.models import model_to_dict
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.cloud.identity.v1 import message_pb2 as identity
from temporalio.client import CloudOperationsClient
from temporalio.service import RPCError, RPCStatusCode

from accounts.models import Account, ApiKey, AsyncOperation, Invitation, Membership, NamespaceGrant, ServiceAccount
from accounts.principal import Principal
from accounts.services.api_keys import do_create_api_key
from tests.accounts.conftest import in_days

VERSION = "2024-10-01-00"
CALL_TIMEOUT = timedelta(seconds=30)


@dataclass(frozen=True)
class World:
    """Alice's account and one object of every kind in it (the ``world`` fixture)."""

    alice: Principal
    bob: Principal
    carol: Principal
    dave: Principal
    invitation: Invitation
    service_account: ServiceAccount
    sa_key: ApiKey
    alice_key: ApiKey
    operation_id: str


class Cloud:
    """One SDK client (one API key); ``cloud("get_users", GetUsersRequest())`` makes a call."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: CloudOperationsClient) -> None:
        self.loop = loop
        self.client = client

    def __call__(self, rpc: str, request: Any, metadata: Mapping[str, str] | None = None) -> Any:
        call = getattr(self.client.cloud_service, rpc)
        return self.loop.run_until_complete(call(request, metadata=metadata or {}, timeout=CALL_TIMEOUT))

    def fails(self, rpc: str, request: Any, status: RPCStatusCode, *fragments: str) -> RPCError:
        """Call ``rpc`` expecting the error ``status`` whose message has every fragment."""
        with pytest.raises(RPCError) as caught:
            self(rpc, request)
        error = caught.value
        assert error.status == status, f"{rpc}: {error.status.name}: {error.message}"
        for fragment in fragments:
            assert fragment in error.message, f"{rpc}: {error.message!r} lacks {fragment!r}"
        return error


def connect(
    loop: asyncio.AbstractEventLoop,
    target: str,
    api_key: str | None,
    *,
    version: str | None = VERSION,
    rpc_metadata: Mapping[str, str] | None = None,
) -> Cloud:
    client = loop.run_until_complete(
        CloudOperationsClient.connect(
            target_host=target, api_key=api_key, tls=False, version=version, rpc_metadata=rpc_metadata or {}
        )
    )
    return Cloud(loop, client)


def new_key(principal: Principal, name: str = "test key", days: float = 30) -> tuple[ApiKey, str]:
    return do_create_api_key(principal, display_name=name, expires_at=in_days(days))


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row a Cloud Ops call could change (the audit log aside: refusals are recorded
    there on purpose), to show that a refused call changed nothing."""
    models = (Account, Membership, Invitation, ServiceAccount, NamespaceGrant, ApiKey, AsyncOperation)
    state: dict[str, list[dict[str, Any]]] = {}
    for model in models:
        rows = [model_to_dict(row) | {"pk": row.pk} for row in model.objects.order_by("pk")]
        for row in rows:
            row.pop("last_used_at", None)  # using a key to make a call records that it was used
        state[model.__name__] = rows
    return state


ROLE = identity.AccountAccess
PERMISSION = identity.NamespaceAccess


def access(role: Any, **namespaces: Any) -> identity.Access:
    """An ``Access`` with an account role and {namespace: permission} entries."""
    return identity.Access(
        account_access=identity.AccountAccess(role=role),
        namespace_accesses={ns: identity.NamespaceAccess(permission=p) for ns, p in namespaces.items()},
    )


def expiry(days: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(in_days(days))
    return stamp
