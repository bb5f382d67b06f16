"""Users over the Cloud Ops API: members and pending invitations under one id."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr
from temporalio.api.cloud.identity.v1 import message_pb2 as identity
from temporalio.api.cloud.resource.v1 import message_pb2 as resource

from accounts.models import Invitation, Membership, NamespaceGrant, Role, User
from accounts.services.invitations import do_accept_invitation
from tests.accounts.conftest import PASSWORD
from tests.cloudapi.support import PERMISSION, ROLE, World, access

pytestmark = pytest.mark.django_db(transaction=True)


def _invite_token() -> str:
    body = str(mail.outbox[-1].body)
    match = re.search(r"/invitations/([^/\s]+)/", body)
    assert match, body
    return match.group(1)


def test_a_created_user_is_an_invitation_whose_id_survives_acceptance(alice, client_for) -> None:
    cloud = client_for(alice)
    created = cloud(
        "create_user",
        rr.CreateUserRequest(
            spec=identity.UserSpec(
                email="Erin@Example.com", access=access(ROLE.ROLE_DEVELOPER, payments=PERMISSION.PERMISSION_WRITE)
            ),
            async_operation_id="invite-erin",
        ),
    )
    assert created.async_operation.operation_type == "CreateUser"
    pending = cloud("get_user", rr.GetUserRequest(user_id=created.user_id)).user
    assert pending.state == resource.RESOURCE_STATE_ACTIVATING
    assert pending.spec.email == "erin@example.com"
    assert pending.spec.access.account_access.role == ROLE.ROLE_DEVELOPER
    namespace_id = f"payments.{alice.account.account_id}"
    assert pending.spec.access.namespace_accesses[namespace_id].permission == PERMISSION.PERMISSION_WRITE
    assert pending.invitation.expired_time.seconds > pending.invitation.created_time.seconds > 0
    assert mail.outbox[-1].to == ["erin@example.com"]

    erin = User.objects.create_user("erin@example.com", PASSWORD)
    do_accept_invitation(erin, token=_invite_token())

    member = cloud("get_user", rr.GetUserRequest(user_id=created.user_id)).user
    assert member.state == resource.RESOURCE_STATE_ACTIVE
    assert not member.HasField("invitation")
    assert member.spec.access.namespace_accesses[namespace_id].permission == PERMISSION.PERMISSION_WRITE
    assert Membership.objects.get(user=erin).public_id == created.user_id


def test_users_lists_members_and_pending_invitations_in_id_order(world: World, client_for) -> None:
    cloud = client_for(world.alice)
    users = cloud("get_users", rr.GetUsersRequest()).users
    ids = [u.id for u in users]
    assert ids == sorted(ids)
    states = {u.spec.email: u.state for u in users}
    assert states == {
        "alice@example.com": resource.RESOURCE_STATE_ACTIVE,
        "bob@example.com": resource.RESOURCE_STATE_ACTIVE,
        "carol@example.com": resource.RESOURCE_STATE_ACTIVE,
        "dave@example.com": resource.RESOURCE_STATE_ACTIVE,
        "invitee@example.com": resource.RESOURCE_STATE_ACTIVATING,
    }


def test_users_filter_by_email_and_by_namespace(world: World, client_for) -> None:
    cloud = client_for(world.alice)
    by_email = cloud("get_users", rr.GetUsersRequest(email="INVITEE@example.com")).users
    assert [u.id for u in by_email] == [world.invitation.public_id]
    Invitation.objects.filter(pk=world.invitation.pk).update(namespace_accesses={"payments": "read"})
    for name in ("payments", f"payments.{world.alice.account.account_id}"):
        in_payments = cloud("get_users", rr.GetUsersRequest(namespace=name)).users
        assert sorted(u.spec.email for u in in_payments) == ["bob@example.com", "invitee@example.com"]


def test_users_page_through_members_and_invitations_without_gaps(world: World, client_for) -> None:
    cloud = client_for(world.alice)
    everyone = [u.id for u in cloud("get_users", rr.GetUsersRequest()).users]
    seen: list[str] = []
    token = ""
    for _ in range(10):
        page = cloud("get_users", rr.GetUsersRequest(page_size=2, page_token=token))
        assert len(page.users) <= 2
        seen += [u.id for u in page.users]
        token = page.next_page_token
        if not token:
            break
    assert seen == everyone
    assert len(seen) == 5


def test_update_user_replaces_role_and_namespace_accesses(world: World, client_for) -> None:
    cloud = client_for(world.alice)
    bob = cloud("get_user", rr.GetUserRequest(user_id=world.bob.public_id)).user
    response = cloud(
        "update_user",
        rr.UpdateUserRequest(
            user_id=bob.id,
            spec=identity.UserSpec(
                email=bob.spec.email,
                access=access(ROLE.ROLE_READ, orders=PERMISSION.PERMISSION_READ),
            ),
            resource_version=bob.resource_version,
        ),
    )
    assert response.async_operation.operation_type == "UpdateUser"
    after = cloud("get_user", rr.GetUserRequest(user_id=bob.id)).user
    assert after.spec.access.account_access.role == ROLE.ROLE_READ
    assert dict(after.spec.access.namespace_accesses) == {
        f"orders.{world.alice.account.account_id}": identity.NamespaceAccess(
            permission=PERMISSION.PERMISSION_READ, permission_deprecated="read"
        )
    }
    assert int(after.resource_version) == int(bob.resource_version) + 1


def test_update_user_of_a_pending_invitation_changes_the_invitation(world: World, client_for) -> None:
    cloud = client_for(world.alice)
    cloud(
        "update_user",
        rr.UpdateUserRequest(
            user_id=world.invitation.public_id,
            spec=identity.UserSpec(access=access(ROLE.ROLE_ADMIN)),
            resource_version="1",
        ),
    )
    assert Invitation.objects.get(pk=world.invitation.pk).role == Role.GLOBAL_ADMIN


def test_delete_user_removes_a_member_and_revokes_an_invitation(world: World, client_for) -> None:
    cloud = client_for(world.alice)
    cloud("delete_user", rr.DeleteUserRequest(user_id=world.carol.public_id, resource_version="1"))
    cloud("delete_user", rr.DeleteUserRequest(user_id=world.invitation.public_id, resource_version="1"))
    assert not Membership.objects.filter(public_id=world.carol.public_id).exists()
    assert Invitation.objects.get(pk=world.invitation.pk).revoked_at is not None
    emails = {u.spec.email for u in cloud("get_users", rr.GetUsersRequest()).users}
    assert emails == {"alice@example.com", "bob@example.com", "dave@example.com"}


def test_set_user_namespace_access_grants_and_takes_away(world: World, client_for) -> None:
    cloud = client_for(world.bob)  # Bob is Namespace Admin of payments
    cloud(
        "set_user_namespace_access",
        rr.SetUserNamespaceAccessRequest(
            user_id=world.carol.public_id,
            namespace="payments",
            access=identity.NamespaceAccess(permission=PERMISSION.PERMISSION_WRITE),
            resource_version="1",
        ),
    )
    assert NamespaceGrant.objects.get(membership__public_id=world.carol.public_id).permission == "write"
    cloud(
        "set_user_namespace_access",
        rr.SetUserNamespaceAccessRequest(
            user_id=world.carol.public_id,
            namespace="payments",
            access=identity.NamespaceAccess(),
            resource_version="2",
        ),
    )
    assert not NamespaceGrant.objects.filter(membership__public_id=world.carol.public_id).exists()


def test_set_user_namespace_access_on_an_invitation_updates_what_it_grants(world: World, client_for) -> None:
    client_for(world.alice)(
        "set_user_namespace_access",
        rr.SetUserNamespaceAccessRequest(
            user_id=world.invitation.public_id,
            namespace="orders",
            access=identity.NamespaceAccess(permission=PERMISSION.PERMISSION_ADMIN),
            resource_version="1",
        ),
    )
    assert Invitation.objects.get(pk=world.invitation.pk).namespace_accesses == {"orders": "admin"}


def test_a_developer_without_namespace_admin_cannot_set_namespace_access(world: World, client_for) -> None:
    from temporalio.service import RPCStatusCode

    client_for(world.bob).fails(
        "set_user_namespace_access",
        rr.SetUserNamespaceAccessRequest(
            user_id=world.carol.public_id,
            namespace="orders",
            access=identity.NamespaceAccess(permission=PERMISSION.PERMISSION_READ),
            resource_version="1",
        ),
        RPCStatusCode.PERMISSION_DENIED,
        "Namespace Admin on 'orders'",
    )
    assert not NamespaceGrant.objects.filter(membership__public_id=world.carol.public_id).exists()
