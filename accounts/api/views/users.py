"""Users: the account's members and the people invited to it (Cloud Ops Get/Create/Update/DeleteUser,
SetUserNamespaceAccess), plus resending an invitation."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import present
from accounts.api import serializers as s
from accounts.api.base import ERRORS, ApiView, reread, respond
from accounts.api.lookups import find_user, user_list
from accounts.api.paging import offset_page
from accounts.models import AsyncOperation, Invitation, Membership, Role
from accounts.principal import Principal
from accounts.services.common import namespace_name
from accounts.services.invitations import (
    do_invite_user,
    do_resend_invitation,
    do_revoke_invitation,
    do_update_invitation,
)
from accounts.services.members import do_remove_member, do_set_member_namespace_access, do_update_member

USERS = ["users"]
UserRow = Membership | Invitation  # a Cloud Ops user: a member or an open invitation


def _role(value: str | None) -> Role | None:
    return Role(value) if value is not None else None


def _mutation(principal: Principal, made: list[UserRow], user_id: str, operation: AsyncOperation) -> dict[str, Any]:
    user = made[0] if made else reread(lambda: find_user(principal, user_id))
    return {
        "user": present.user(user) if user is not None else None,
        "async_operation": present.async_operation(operation),
    }


class UsersView(ApiView):
    @extend_schema(
        operation_id="GetUsers",
        tags=USERS,
        parameters=[s.UsersQuerySerializer],
        responses={200: s.GetUsersResponseSerializer, **ERRORS},
        description="Members (state active), then invited people (state pending or expired).",
    )
    def get(self, request: Request) -> Response:
        data = self.query(s.UsersQuerySerializer)
        rows = user_list(principal=self.principal, email=data["email"], namespace=data["namespace"])
        page, next_token = offset_page(rows, page_size=data["page_size"], page_token=data["page_token"])
        return respond(
            s.GetUsersResponseSerializer, {"users": [present.user(u) for u in page], "next_page_token": next_token}
        )

    @extend_schema(
        operation_id="CreateUser",
        tags=USERS,
        request=s.CreateUserRequestSerializer,
        responses={201: s.UserMutationResponseSerializer, **ERRORS},
        description="Invite someone by e-mail with a role; the user id stays theirs once they accept.",
    )
    def post(self, request: Request) -> Response:
        data = self.body(s.CreateUserRequestSerializer)
        made: list[UserRow] = []

        def change() -> dict[str, Any]:
            made.append(
                do_invite_user(
                    self.principal,
                    email=data["email"],
                    role=Role(data["role"]),
                    namespace_accesses=data["namespace_accesses"],
                )
            )
            return {"user_id": made[0].public_id}

        result, operation, _ = self.mutate("CreateUser", data, change)
        return respond(
            s.UserMutationResponseSerializer, _mutation(self.principal, made, result["user_id"], operation), 201
        )


class UserView(ApiView):
    @extend_schema(operation_id="GetUser", tags=USERS, responses={200: s.GetUserResponseSerializer, **ERRORS})
    def get(self, request: Request, user_id: str) -> Response:
        return respond(s.GetUserResponseSerializer, {"user": present.user(find_user(self.principal, user_id))})

    @extend_schema(
        operation_id="UpdateUser",
        tags=USERS,
        request=s.UpdateUserRequestSerializer,
        responses={200: s.UserMutationResponseSerializer, **ERRORS},
        description="Change the role and/or replace the namespace accesses (of a member or an open invitation).",
    )
    def post(self, request: Request, user_id: str) -> Response:
        data = self.body(s.UpdateUserRequestSerializer)
        made: list[UserRow] = []

        def change() -> dict[str, Any]:
            target = find_user(self.principal, user_id)
            common = {
                "role": _role(data.get("role")),
                "namespace_accesses": data.get("namespace_accesses"),
                "resource_version": data["resource_version"],
            }
            if isinstance(target, Membership):
                made.append(do_update_member(self.principal, member_id=user_id, **common))
            else:
                made.append(do_update_invitation(self.principal, invitation_id=user_id, **common))
            return {"user_id": user_id}

        _, operation, _ = self.mutate("UpdateUser", data, change, user_id=user_id)
        return respond(s.UserMutationResponseSerializer, _mutation(self.principal, made, user_id, operation))

    @extend_schema(
        operation_id="DeleteUser",
        tags=USERS,
        parameters=[s.DeleteQuerySerializer],
        responses={200: s.OperationResponseSerializer, **ERRORS},
        description="Remove a member (their API keys go too) or revoke an invitation; anyone may remove themselves.",
    )
    def delete(self, request: Request, user_id: str) -> Response:
        data = self.query(s.DeleteQuerySerializer)

        def change() -> dict[str, Any]:
            target = find_user(self.principal, user_id)
            if isinstance(target, Membership):
                do_remove_member(self.principal, member_id=user_id, resource_version=data["resource_version"])
            else:
                do_revoke_invitation(self.principal, invitation_id=user_id, resource_version=data["resource_version"])
            return {}

        _, operation, _ = self.mutate("DeleteUser", data, change, user_id=user_id)
        return respond(s.OperationResponseSerializer, {"async_operation": present.async_operation(operation)})


class UserNamespaceAccessView(ApiView):
    @extend_schema(
        operation_id="SetUserNamespaceAccess",
        tags=USERS,
        request=s.SetNamespaceAccessRequestSerializer,
        responses={200: s.UserMutationResponseSerializer, **ERRORS},
        description="Grant one namespace permission, or remove it with permission null. "
        "Account admins and the namespace's Admins may.",
    )
    def post(self, request: Request, user_id: str) -> Response:
        data = self.body(s.SetNamespaceAccessRequestSerializer)
        made: list[UserRow] = []

        def change() -> dict[str, Any]:
            target = find_user(self.principal, user_id)
            if isinstance(target, Membership):
                made.append(
                    do_set_member_namespace_access(
                        self.principal,
                        member_id=user_id,
                        namespace=data["namespace"],
                        permission=data["permission"],
                        resource_version=data["resource_version"],
                    )
                )
            else:
                accesses = dict(target.namespace_accesses)
                name = namespace_name(self.principal.account.account_id, data["namespace"])
                accesses.pop(name, None)
                if data["permission"] is not None:
                    accesses[name] = data["permission"]
                made.append(
                    do_update_invitation(
                        self.principal,
                        invitation_id=user_id,
                        role=None,
                        namespace_accesses=accesses,
                        resource_version=data["resource_version"],
                    )
                )
            return {"user_id": user_id}

        _, operation, _ = self.mutate("SetUserNamespaceAccess", data, change, user_id=user_id)
        return respond(s.UserMutationResponseSerializer, _mutation(self.principal, made, user_id, operation))


class ResendInvitationView(ApiView):
    @extend_schema(
        operation_id="ResendUserInvite",
        tags=USERS,
        request=s.EmptyMutationRequestSerializer,
        responses={200: s.UserMutationResponseSerializer, **ERRORS},
        description="Send a new invitation link with a new expiry; the old link stops working.",
    )
    def post(self, request: Request, user_id: str) -> Response:
        data = self.body(s.EmptyMutationRequestSerializer)
        made: list[UserRow] = []

        def change() -> dict[str, Any]:
            made.append(do_resend_invitation(self.principal, invitation_id=user_id))
            return {"user_id": user_id}

        _, operation, _ = self.mutate("ResendUserInvite", data, change, user_id=user_id)
        return respond(s.UserMutationResponseSerializer, _mutation(self.principal, made, user_id, operation))
