"""The caller's identity, the account, async operations and the audit log."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr

from accounts.errors import InvalidInput
from accounts.operations import get_operation
from accounts.permissions import Action, require
from accounts.principal import Principal
from accounts.selectors import member_get, service_account_get
from accounts.services.accounts import do_update_account
from audit.selectors import audit_entry_list
from cloudapi.convert import (
    account_to_proto,
    api_key_to_proto,
    datetime_of,
    log_record_to_proto,
    member_to_proto,
    operation_to_proto,
    service_account_to_proto,
)
from cloudapi.handlers.common import mutate, required
from cloudapi.paging import keyset_page, page_size_of

AUDIT_LOG_WINDOW = timedelta(days=30)


def get_current_identity(principal: Principal, request: rr.GetCurrentIdentityRequest) -> rr.GetCurrentIdentityResponse:
    account_id = principal.account.account_id
    response = rr.GetCurrentIdentityResponse()
    if principal.membership is not None:
        me = member_get(principal=principal, member_id=principal.public_id)
        response.user.CopyFrom(member_to_proto(me, account_id))
    else:
        sa = service_account_get(principal=principal, service_account_id=principal.public_id)
        response.service_account.CopyFrom(service_account_to_proto(sa, account_id))
    if principal.api_key is not None:
        response.principal_api_key.CopyFrom(api_key_to_proto(principal.api_key))
    return response


def get_account(principal: Principal, request: rr.GetAccountRequest) -> rr.GetAccountResponse:
    require(principal, Action.VIEW_ACCOUNT)
    return rr.GetAccountResponse(account=account_to_proto(principal.account))


def update_account(principal: Principal, request: rr.UpdateAccountRequest) -> rr.UpdateAccountResponse:
    """The Cloud Ops account spec holds only the metrics endpoint's client CA, which Sundial does
    not have; the call still checks permission and version and is audited."""
    if request.spec.metrics.accepted_client_ca:
        raise InvalidInput("spec.metrics.accepted_client_ca: Sundial has no metrics endpoint, so it takes no client CA")

    def change() -> dict[str, str]:
        account = do_update_account(principal, resource_version=request.resource_version)
        return {"account_id": account.account_id}

    _, operation, _ = mutate(principal, request, "UpdateAccount", change)
    return rr.UpdateAccountResponse(async_operation=operation)


def get_async_operation(principal: Principal, request: rr.GetAsyncOperationRequest) -> rr.GetAsyncOperationResponse:
    operation = get_operation(principal, required(request.async_operation_id, "async_operation_id"))
    return rr.GetAsyncOperationResponse(async_operation=operation_to_proto(operation))


def get_audit_logs(principal: Principal, request: rr.GetAuditLogsRequest) -> rr.GetAuditLogsResponse:
    """The account's audit log, oldest first, by default over the last 30 days."""
    require(principal, Action.VIEW_AUDIT_LOG)
    size = page_size_of(request.page_size)
    now = timezone.now()
    end = datetime_of(request, "end_time_exclusive") or now
    start = datetime_of(request, "start_time_inclusive") or now - AUDIT_LOG_WINDOW
    if start >= end:
        raise InvalidInput("start_time_inclusive must be before end_time_exclusive")
    entries = audit_entry_list(principal=principal, start=start, end=end, newest_first=False)
    page, token = keyset_page(entries, kind="audit-logs", key="seq", page_size=size, page_token=request.page_token)
    return rr.GetAuditLogsResponse(logs=[log_record_to_proto(e) for e in page], next_page_token=token)
