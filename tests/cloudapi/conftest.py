"""A Cloud Ops API server per test (in this process, on a free port) and SDK clients for it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from accounts.models import NamespaceGrant, NamespacePermission, Role
from accounts.operations import run_operation
from accounts.principal import Principal, principal_for_service_account
from accounts.services.invitations import do_invite_user
from accounts.services.service_accounts import do_create_service_account
from cloudapi.server import CloudApiServer, ServerConfig
from tests.accounts.conftest import *  # noqa: F403
from tests.cloudapi.support import Cloud, World, connect, new_key


@pytest.fixture
def cloud_target(transactional_db) -> Iterator[str]:
    """``host:port`` of a running server; its worker threads use the test database."""
    server = CloudApiServer(ServerConfig(host="127.0.0.1", port=0, max_workers=4))
    port = server.start()
    yield f"127.0.0.1:{port}"
    server.stop(grace=0)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def client_for(cloud_target: str, loop: asyncio.AbstractEventLoop) -> Callable[..., Cloud]:
    """An SDK client authenticated by a new API key of ``principal`` (or by a given token)."""

    def make(principal: Principal | None = None, *, token: str | None = None, **kwargs: object) -> Cloud:
        if principal is not None:
            token = new_key(principal)[1]
        return connect(loop, cloud_target, token, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def world(alice: Principal, bob: Principal, add_member: Callable[..., Principal]) -> World:
    """Alice's account with something of every kind: Bob (Developer, Namespace Admin of
    ``payments``), Carol (Read-Only), Dave (Global Admin), a pending invitation, a service
    account with a key, Alice's own key and a finished async operation."""
    carol = add_member("carol@example.com", Role.READ_ONLY)
    dave = add_member("dave@example.com", Role.GLOBAL_ADMIN)
    NamespaceGrant.objects.create(
        account=alice.account, membership=bob.membership, namespace="payments", permission=NamespacePermission.ADMIN
    )
    invitation = do_invite_user(alice, email="invitee@example.com", role=Role.DEVELOPER)
    sa = do_create_service_account(alice, name="ci", role=Role.DEVELOPER, namespace_accesses={"payments": "write"})
    sa_key = new_key(principal_for_service_account(sa), "ci key")[0]
    alice_key = new_key(alice, "alice's key")[0]
    run_operation(alice, operation_id="alice-op", operation_type="Noop", request={}, change=lambda: {})
    return World(
        alice=alice,
        bob=bob,
        carol=carol,
        dave=dave,
        invitation=invitation,
        service_account=sa,
        sa_key=sa_key,
        alice_key=alice_key,
        operation_id="alice-op",
    )
