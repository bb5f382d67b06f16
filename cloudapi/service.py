"""The ``CloudService`` servicer: each implemented RPC authenticates through ``serve`` and runs
one handler. Every other Cloud Ops RPC keeps grpcio's generated default, UNIMPLEMENTED."""

from __future__ import annotations

import grpc
from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr
from temporalio.api.cloud.cloudservice.v1.service_pb2_grpc import CloudServiceServicer

from cloudapi.context import serve
from cloudapi.handlers import account, api_keys, namespaces, service_accounts, users

# The RPCs this server implements (issue 5's list); tests check that each one is overridden.
IMPLEMENTED = (
    "GetCurrentIdentity",
    "GetAccount",
    "UpdateAccount",
    "GetUsers",
    "GetUser",
    "CreateUser",
    "UpdateUser",
    "DeleteUser",
    "SetUserNamespaceAccess",
    "GetServiceAccounts",
    "GetServiceAccount",
    "CreateServiceAccount",
    "UpdateServiceAccount",
    "DeleteServiceAccount",
    "SetServiceAccountNamespaceAccess",
    "GetApiKeys",
    "GetApiKey",
    "CreateApiKey",
    "UpdateApiKey",
    "DeleteApiKey",
    "GetAsyncOperation",
    "GetAuditLogs",
    # issue 6
    "GetNamespaces",
    "GetNamespace",
    "CreateNamespace",
    "UpdateNamespace",
    "DeleteNamespace",
    "RenameCustomSearchAttribute",
    "GetRegions",
    "GetRegion",
    "GetUserNamespaceAssignments",
    "GetServiceAccountNamespaceAssignments",
)


class CloudService(CloudServiceServicer):
    """Temporal Cloud's operations API over the control plane's services."""

    def GetCurrentIdentity(
        self, request: rr.GetCurrentIdentityRequest, context: grpc.ServicerContext
    ) -> rr.GetCurrentIdentityResponse:
        return serve(context, account.get_current_identity, request)

    def GetAccount(self, request: rr.GetAccountRequest, context: grpc.ServicerContext) -> rr.GetAccountResponse:
        return serve(context, account.get_account, request)

    def UpdateAccount(
        self, request: rr.UpdateAccountRequest, context: grpc.ServicerContext
    ) -> rr.UpdateAccountResponse:
        return serve(context, account.update_account, request)

    def GetUsers(self, request: rr.GetUsersRequest, context: grpc.ServicerContext) -> rr.GetUsersResponse:
        return serve(context, users.get_users, request)

    def GetUser(self, request: rr.GetUserRequest, context: grpc.ServicerContext) -> rr.GetUserResponse:
        return serve(context, users.get_user, request)

    def CreateUser(self, request: rr.CreateUserRequest, context: grpc.ServicerContext) -> rr.CreateUserResponse:
        return serve(context, users.create_user, request)

    def UpdateUser(self, request: rr.UpdateUserRequest, context: grpc.ServicerContext) -> rr.UpdateUserResponse:
        return serve(context, users.update_user, request)

    def DeleteUser(self, request: rr.DeleteUserRequest, context: grpc.ServicerContext) -> rr.DeleteUserResponse:
        return serve(context, users.delete_user, request)

    def SetUserNamespaceAccess(
        self, request: rr.SetUserNamespaceAccessRequest, context: grpc.ServicerContext
    ) -> rr.SetUserNamespaceAccessResponse:
        return serve(context, users.set_user_namespace_access, request)

    def GetServiceAccounts(
        self, request: rr.GetServiceAccountsRequest, context: grpc.ServicerContext
    ) -> rr.GetServiceAccountsResponse:
        return serve(context, service_accounts.get_service_accounts, request)

    def GetServiceAccount(
        self, request: rr.GetServiceAccountRequest, context: grpc.ServicerContext
    ) -> rr.GetServiceAccountResponse:
        return serve(context, service_accounts.get_service_account, request)

    def CreateServiceAccount(
        self, request: rr.CreateServiceAccountRequest, context: grpc.ServicerContext
    ) -> rr.CreateServiceAccountResponse:
        return serve(context, service_accounts.create_service_account, request)

    def UpdateServiceAccount(
        self, request: rr.UpdateServiceAccountRequest, context: grpc.ServicerContext
    ) -> rr.UpdateServiceAccountResponse:
        return serve(context, service_accounts.update_service_account, request)

    def DeleteServiceAccount(
        self, request: rr.DeleteServiceAccountRequest, context: grpc.ServicerContext
    ) -> rr.DeleteServiceAccountResponse:
        return serve(context, service_accounts.delete_service_account, request)

    def SetServiceAccountNamespaceAccess(
        self, request: rr.SetServiceAccountNamespaceAccessRequest, context: grpc.ServicerContext
    ) -> rr.SetServiceAccountNamespaceAccessResponse:
        return serve(context, service_accounts.set_service_account_namespace_access, request)

    def GetApiKeys(self, request: rr.GetApiKeysRequest, context: grpc.ServicerContext) -> rr.GetApiKeysResponse:
        return serve(context, api_keys.get_api_keys, request)

    def GetApiKey(self, request: rr.GetApiKeyRequest, context: grpc.ServicerContext) -> rr.GetApiKeyResponse:
        return serve(context, api_keys.get_api_key, request)

    def CreateApiKey(self, request: rr.CreateApiKeyRequest, context: grpc.ServicerContext) -> rr.CreateApiKeyResponse:
        return serve(context, api_keys.create_api_key, request)

    def UpdateApiKey(self, request: rr.UpdateApiKeyRequest, context: grpc.ServicerContext) -> rr.UpdateApiKeyResponse:
        return serve(context, api_keys.update_api_key, request)

    def DeleteApiKey(self, request: rr.DeleteApiKeyRequest, context: grpc.ServicerContext) -> rr.DeleteApiKeyResponse:
        return serve(context, api_keys.delete_api_key, request)

    def GetAsyncOperation(
        self, request: rr.GetAsyncOperationRequest, context: grpc.ServicerContext
    ) -> rr.GetAsyncOperationResponse:
        return serve(context, account.get_async_operation, request)

    def GetAuditLogs(self, request: rr.GetAuditLogsRequest, context: grpc.ServicerContext) -> rr.GetAuditLogsResponse:
        return serve(context, account.get_audit_logs, request)

    def GetNamespaces(
        self, request: rr.GetNamespacesRequest, context: grpc.ServicerContext
    ) -> rr.GetNamespacesResponse:
        return serve(context, namespaces.get_namespaces, request)

    def GetNamespace(self, request: rr.GetNamespaceRequest, context: grpc.ServicerContext) -> rr.GetNamespaceResponse:
        return serve(context, namespaces.get_namespace, request)

    def CreateNamespace(
        self, request: rr.CreateNamespaceRequest, context: grpc.ServicerContext
    ) -> rr.CreateNamespaceResponse:
        return serve(context, namespaces.create_namespace, request)

    def UpdateNamespace(
        self, request: rr.UpdateNamespaceRequest, context: grpc.ServicerContext
    ) -> rr.UpdateNamespaceResponse:
        return serve(context, namespaces.update_namespace, request)

    def DeleteNamespace(
        self, request: rr.DeleteNamespaceRequest, context: grpc.ServicerContext
    ) -> rr.DeleteNamespaceResponse:
        return serve(context, namespaces.delete_namespace, request)

    def RenameCustomSearchAttribute(
        self, request: rr.RenameCustomSearchAttributeRequest, context: grpc.ServicerContext
    ) -> rr.RenameCustomSearchAttributeResponse:
        return serve(context, namespaces.rename_custom_search_attribute, request)

    def GetRegions(self, request: rr.GetRegionsRequest, context: grpc.ServicerContext) -> rr.GetRegionsResponse:
        return serve(context, namespaces.get_regions, request)

    def GetRegion(self, request: rr.GetRegionRequest, context: grpc.ServicerContext) -> rr.GetRegionResponse:
        return serve(context, namespaces.get_region, request)

    def GetUserNamespaceAssignments(
        self, request: rr.GetUserNamespaceAssignmentsRequest, context: grpc.ServicerContext
    ) -> rr.GetUserNamespaceAssignmentsResponse:
        return serve(context, namespaces.get_user_namespace_assignments, request)

    def GetServiceAccountNamespaceAssignments(
        self, request: rr.GetServiceAccountNamespaceAssignmentsRequest, context: grpc.ServicerContext
    ) -> rr.GetServiceAccountNamespaceAssignmentsResponse:
        return serve(context, namespaces.get_service_account_namespace_assignments, request)
