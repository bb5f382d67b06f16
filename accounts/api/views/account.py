"""The caller's identity and account: read, update, hand over, delete; async operations; audit log."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import present
from accounts.api import serializers as s
from accounts.api.base import ERRORS, ApiView, reread, respond
from accounts.api.fields import rfc3339
from accounts.api.paging import decode_token, encode_token, page_size_or_default
from accounts.models import Account, Membership, Role
from accounts.operations import get_operation
from accounts.permissions import Action, require
from accounts.selectors import member_get
from accounts.services.accounts import do_delete_account, do_transfer_ownership, do_update_account
from audit.selectors import audit_entry_list
from audit.services import current_operation_id, redact

ACCOUNT = ["account"]
# Temporal Cloud's GetAuditLogs reads 30 days unless told otherwise.
DEFAULT_AUDIT_WINDOW = timedelta(days=30)


class CurrentIdentityView(ApiView):
    @extend_schema(
        operation_id="GetCurrentIdentity",
        tags=ACCOUNT,
        responses={200: s.GetCurrentIdentityResponseSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        return respond(s.GetCurrentIdentityResponseSerializer, present.identity(self.principal))


class AccountView(ApiView):
    def _account(self) -> Account:
        return Account.objects.get(pk=self.principal.account.pk)

    @extend_schema(operation_id="GetAccount", tags=ACCOUNT, responses={200: s.GetAccountResponseSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        require(self.principal, Action.VIEW_ACCOUNT)
        return respond(s.GetAccountResponseSerializer, {"account": present.account(self._account())})

    @extend_schema(
        operation_id="UpdateAccount",
        tags=ACCOUNT,
        request=s.UpdateAccountRequestSerializer,
        responses={200: s.UpdateAccountResponseSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = self.body(s.UpdateAccountRequestSerializer)

        def change() -> dict[str, Any]:
            account = do_update_account(
                self.principal,
                name=data.get("name"),
                api_key_creation_enabled=data.get("api_key_creation_enabled"),
                audit_retention_days=data.get("audit_retention_days"),
                resource_version=data["resource_version"],
            )
            return {"account_id": account.account_id}

        _, operation, _ = self.mutate("UpdateAccount", data, change)
        payload = {"account": present.account(self._account()), "async_operation": present.async_operation(operation)}
        return respond(s.UpdateAccountResponseSerializer, payload)

    @extend_schema(
        operation_id="DeleteAccount",
        tags=ACCOUNT,
        parameters=[s.DeleteAccountQuerySerializer],
        responses={200: s.OperationResponseSerializer, **ERRORS},
        description="Deletes the account and everything in it (Account Owner only). "
        "confirm_account_id must repeat the account id. The operation is not kept: it went with the account.",
    )
    def delete(self, request: Request) -> Response:
        data = self.query(s.DeleteAccountQuerySerializer)
        # Not through run_operation: the operation row would be deleted with the account.
        operation_id = data["async_operation_id"].strip() or uuid.uuid4().hex
        started = timezone.now()
        token = current_operation_id.set(operation_id)
        try:
            do_delete_account(
                self.principal,
                confirm_account_id=data["confirm_account_id"],
                resource_version=data["resource_version"],
            )
        finally:
            current_operation_id.reset(token)
        operation = {
            "id": operation_id,
            "state": "fulfilled",
            "check_duration": "0s",
            "operation_type": "DeleteAccount",
            "operation_input": redact({k: v for k, v in data.items() if k != "async_operation_id"}),
            "failure_reason": "",
            "started_time": rfc3339(started),
            "finished_time": rfc3339(timezone.now()),
        }
        return respond(s.OperationResponseSerializer, {"async_operation": operation})


class TransferOwnershipView(ApiView):
    @extend_schema(
        operation_id="TransferAccountOwnership",
        tags=ACCOUNT,
        request=s.TransferOwnershipRequestSerializer,
        responses={200: s.UserMutationResponseSerializer, **ERRORS},
        description="Make another member Account Owner; the caller (an Owner) steps down to keep_role.",
    )
    def post(self, request: Request) -> Response:
        data = self.body(s.TransferOwnershipRequestSerializer)

        made: list[Membership] = []

        def change() -> dict[str, Any]:
            made.append(
                do_transfer_ownership(self.principal, to_member_id=data["user_id"], keep_role=Role(data["keep_role"]))
            )
            return {"user_id": made[0].public_id}

        result, operation, _ = self.mutate("TransferAccountOwnership", data, change)
        user = made[0] if made else reread(lambda: member_get(principal=self.principal, member_id=result["user_id"]))
        payload = {
            "user": present.member(user) if user is not None else None,
            "async_operation": present.async_operation(operation),
        }
        return respond(s.UserMutationResponseSerializer, payload)


class AsyncOperationView(ApiView):
    @extend_schema(
        operation_id="GetAsyncOperation",
        tags=["operations"],
        responses={200: s.GetAsyncOperationResponseSerializer, **ERRORS},
    )
    def get(self, request: Request, operation_id: str) -> Response:
        operation = get_operation(self.principal, operation_id)
        return respond(s.GetAsyncOperationResponseSerializer, {"async_operation": present.async_operation(operation)})


class AuditLogsView(ApiView):
    @extend_schema(
        operation_id="GetAuditLogs",
        tags=["audit"],
        parameters=[s.AuditLogsQuerySerializer],
        responses={200: s.GetAuditLogsResponseSerializer, **ERRORS},
        description="The account's audit log, oldest first (Account Owner and Global Admin).",
    )
    def get(self, request: Request) -> Response:
        data = self.query(s.AuditLogsQuerySerializer)
        end = data.get("end_time_exclusive")
        start = data.get("start_time_inclusive") or (end or timezone.now()) - DEFAULT_AUDIT_WINDOW
        entries = audit_entry_list(
            principal=self.principal,
            start=start,
            end=end,
            actor=data["principal"],
            operation=data["operation"],
            status=data["status"],
            newest_first=False,
        )
        after = decode_token("s", data["page_token"])
        size = page_size_or_default(data["page_size"])
        window = list(entries.filter(seq__gt=after)[: size + 1])
        page = window[:size]
        next_token = encode_token("s", page[-1].seq) if len(window) > size else ""
        payload = {"logs": [present.audit_entry(e) for e in page], "next_page_token": next_token}
        return respond(s.GetAuditLogsResponseSerializer, payload)
