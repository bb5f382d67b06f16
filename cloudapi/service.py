"""The ``CloudService`` servicer: each implemented RPC authenticates through ``serve`` and runs
one handler. Every other Cloud Ops RPC keeps grpcio's generated default, UNIMPLEMENTED."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from temporalio.api.cloud.cloudservice.v1.service_pb2_grpc import CloudServiceServicer

from accounts.principal import Principal
from cloudapi.context import serve
from cloudapi.handlers import account, api_keys, namespaces, service_accounts, users

Handler = Callable[[Principal, Any], Any]

# RPC name → handler(principal, request). Issue 5's list, then issue 6's namespace RPCs.
HANDLERS: dict[str, Handler] = {
    "GetCurrentIdentity": account.get_current_identity,
    "GetAccount": account.get_account,
    "UpdateAccount": account.update_account,
    "GetUsers": users.get_users,
    "GetUser": users.get_user,
    "CreateUser": users.create_user,
    "UpdateUser": users.update_user,
    "DeleteUser": users.delete_user,
    "SetUserNamespaceAccess": users.set_user_namespace_access,
    "GetServiceAccounts": service_accounts.get_service_accounts,
    "GetServiceAccount": service_accounts.get_service_account,
    "CreateServiceAccount": service_accounts.create_service_account,
    "UpdateServiceAccount": service_accounts.update_service_account,
    "DeleteServiceAccount": service_accounts.delete_service_account,
    "SetServiceAccountNamespaceAccess": service_accounts.set_service_account_namespace_access,
    "GetApiKeys": api_keys.get_api_keys,
    "GetApiKey": api_keys.get_api_key,
    "CreateApiKey": api_keys.create_api_key,
    "UpdateApiKey": api_keys.update_api_key,
    "DeleteApiKey": api_keys.delete_api_key,
    "GetAsyncOperation": account.get_async_operation,
    "GetAuditLogs": account.get_audit_logs,
    "GetNamespaces": namespaces.get_namespaces,
    "GetNamespace": namespaces.get_namespace,
    "CreateNamespace": namespaces.create_namespace,
    "UpdateNamespace": namespaces.update_namespace,
    "DeleteNamespace": namespaces.delete_namespace,
    "RenameCustomSearchAttribute": namespaces.rename_custom_search_attribute,
    "GetRegions": namespaces.get_regions,
    "GetRegion": namespaces.get_region,
    "GetUserNamespaceAssignments": namespaces.get_user_namespace_assignments,
    "GetServiceAccountNamespaceAssignments": namespaces.get_service_account_namespace_assignments,
}
# The RPCs this server implements; tests check that each one is overridden.
IMPLEMENTED = tuple(HANDLERS)


def _rpc(name: str, handler: Handler) -> Callable[[Any, Any, grpc.ServicerContext], Any]:
    def method(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        return serve(context, handler, request)

    method.__name__ = method.__qualname__ = name
    return method


class CloudService(CloudServiceServicer):
    """Temporal Cloud's operations API over the control plane's services."""


for _name, _handler in HANDLERS.items():
    setattr(CloudService, _name, _rpc(_name, _handler))
