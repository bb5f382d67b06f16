"""Users: the account's members and its pending invitations, under one id space.

``CreateUser`` invites; the invitation's id is the user id, and stays so once accepted (the
membership takes it). A pending invitation is listed with state ACTIVATING; updating or
deleting it updates or revokes the invitation.
"""

from __future__ import annotations

from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr

from accounts.errors import InvalidInput
from accounts.models import Invitation, Membership
from accounts.principal import Principal
from accounts.selectors import invitation_list, member_list, user_get
from accounts.services.common import namespace_name
from accounts.services.invitations import (
    do_invite_user,
    do_revoke_invitation,
    do_update_invitation,
)
from accounts.services.members import do_remove_member, do_set_member_namespace_access, do_update_member
from cloudapi.convert import namespace_accesses_of, permission_of, role_of, user_to_proto
from cloudapi.handlers.common import mutate, required
from cloudapi.paging import cut, decode_token, page_size_of

PAGE_KIND = "users"


def find_user(principal: Principal, user_id: str) -> Membership | Invitation:
    """A member, or else a pending invitation, of the caller's account by user id."""
    return user_get(principal=principal, user_id=required(user_id, "user_id"))


def get_users(principal: Principal, request: rr.GetUsersRequest) -> rr.GetUsersResponse:
    size = page_size_of(request.page_size)
    after = decode_token(PAGE_KIND, request.page_token)
    members = member_list(principal=principal, email=request.email).prefetch_related("grants")
    invitations = invitation_list(principal=principal, email=request.email)
    if request.namespace:
        namespace = namespace_name(principal.account.account_id, request.namespace)
        members = members.filter(grants__namespace=namespace)
        invitations = invitations.filter(namespace_accesses__has_key=namespace)
    if after is not None:
        members = members.filter(public_id__gt=after)
        invitations = invitations.filter(public_id__gt=after)
    users: list[Membership | Invitation] = [
        *members.order_by("public_id")[: size + 1],
        *invitations.order_by("public_id")[: size + 1],
    ]
    users.sort(key=lambda user: user.public_id)
    page, token = cut(users, kind=PAGE_KIND, page_size=size, key_of=lambda user: user.public_id)
    account_id = principal.account.account_id
    return rr.GetUsersResponse(users=[user_to_proto(u, account_id) for u in page], next_page_token=token)


def get_user(principal: Principal, request: rr.GetUserRequest) -> rr.GetUserResponse:
    return rr.GetUserResponse(user=user_to_proto(find_user(principal, request.user_id), principal.account.account_id))


def create_user(principal: Principal, request: rr.CreateUserRequest) -> rr.CreateUserResponse:
    spec = request.spec
    role = role_of(spec.access.account_access, "spec.access.account_access")
    accesses = namespace_accesses_of(spec.access, "spec.access")

    def change() -> dict[str, str]:
        invitation = do_invite_user(principal, email=spec.email, role=role, namespace_accesses=accesses)
        return {"user_id": invitation.public_id}

    result, operation, _ = mutate(principal, request, "CreateUser", change)
    return rr.CreateUserResponse(user_id=result["user_id"], async_operation=operation)


def update_user(principal: Principal, request: rr.UpdateUserRequest) -> rr.UpdateUserResponse:
    """Replace a user's role and namespace accesses with the spec's (the e-mail cannot change)."""
    spec = request.spec
    role = role_of(spec.access.account_access, "spec.access.account_access")
    accesses = namespace_accesses_of(spec.access, "spec.access")

    def change() -> dict[str, str]:
        user = find_user(principal, request.user_id)
        email = user.user.email if isinstance(user, Membership) else user.email
        if spec.email.strip() and spec.email.strip().lower() != email.lower():
            raise InvalidInput("spec.email: a user's e-mail address cannot be changed")
        if isinstance(user, Membership):
            do_update_member(
                principal,
                member_id=user.public_id,
                role=role,
                namespace_accesses=accesses,
                resource_version=request.resource_version,
            )
        else:
            do_update_invitation(
                principal,
                invitation_id=user.public_id,
                role=role,
                namespace_accesses=accesses,
                resource_version=request.resource_version,
            )
        return {"user_id": user.public_id}

    _, operation, _ = mutate(principal, request, "UpdateUser", change)
    return rr.UpdateUserResponse(async_operation=operation)


def delete_user(principal: Principal, request: rr.DeleteUserRequest) -> rr.DeleteUserResponse:
    """Remove a member, or revoke a pending invitation."""

    def change() -> dict[str, str]:
        user = find_user(principal, request.user_id)
        if isinstance(user, Membership):
            do_remove_member(principal, member_id=user.public_id, resource_version=request.resource_version)
        else:
            do_revoke_invitation(principal, invitation_id=user.public_id, resource_version=request.resource_version)
        return {"user_id": user.public_id}

    _, operation, _ = mutate(principal, request, "DeleteUser", change)
    return rr.DeleteUserResponse(async_operation=operation)


def set_user_namespace_access(
    principal: Principal, request: rr.SetUserNamespaceAccessRequest
) -> rr.SetUserNamespaceAccessResponse:
    """Grant one namespace permission, or with PERMISSION_UNSPECIFIED take it away."""
    permission = permission_of(request.access, "access")

    def change() -> dict[str, str]:
        user = find_user(principal, request.user_id)
        if isinstance(user, Membership):
            do_set_member_namespace_access(
                principal,
                member_id=user.public_id,
                namespace=request.namespace,
                permission=permission.value if permission is not None else None,
                resource_version=request.resource_version,
            )
        else:
            namespace = namespace_name(principal.account.account_id, request.namespace)
            accesses = dict(user.namespace_accesses)
            if permission is None:
                accesses.pop(namespace, None)
            else:
                accesses[namespace] = permission.value
            do_update_invitation(
                principal,
                invitation_id=user.public_id,
                role=None,
                namespace_accesses=accesses,
                resource_version=request.resource_version,
            )
        return {"user_id": user.public_id}

    _, operation, _ = mutate(principal, request, "SetUserNamespaceAccess", change)
    return rr.SetUserNamespaceAccessResponse(async_operation=operation)
