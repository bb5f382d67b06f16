"""REST API routes (``/api/v1/``): the Cloud Ops API's resources, its paths adapted.

As in the Cloud Ops HTTP API, updates are ``POST /<resource>/{id}`` and deletes take
``resource_version`` and ``async_operation_id`` in the query string.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from accounts.api.errors import not_found
from accounts.api.views.account import (
    AccountView,
    AsyncOperationView,
    AuditLogsView,
    CurrentIdentityView,
    TransferOwnershipView,
)
from accounts.api.views.api_keys import ApiKeysView, ApiKeyView
from accounts.api.views.namespace_extras import (
    RegionsView,
    RegionView,
    RenameSearchAttributeView,
    ServiceAccountAssignmentsView,
    UserAssignmentsView,
)
from accounts.api.views.namespaces import NamespacesView, NamespaceView
from accounts.api.views.service_accounts import (
    ServiceAccountNamespaceAccessView,
    ServiceAccountsView,
    ServiceAccountView,
)
from accounts.api.views.users import (
    ResendInvitationView,
    UserNamespaceAccessView,
    UsersView,
    UserView,
)

app_name = "api"

urlpatterns: list[URLPattern | URLResolver] = [
    path("current-identity", CurrentIdentityView.as_view(), name="current-identity"),
    path("account", AccountView.as_view(), name="account"),
    path("account/transfer-ownership", TransferOwnershipView.as_view(), name="transfer-ownership"),
    path("users", UsersView.as_view(), name="users"),
    path("users/<str:user_id>", UserView.as_view(), name="user"),
    path("users/<str:user_id>/namespace-access", UserNamespaceAccessView.as_view(), name="user-namespace-access"),
    path("users/<str:user_id>/resend-invitation", ResendInvitationView.as_view(), name="user-resend-invitation"),
    path("service-accounts", ServiceAccountsView.as_view(), name="service-accounts"),
    path("service-accounts/<str:service_account_id>", ServiceAccountView.as_view(), name="service-account"),
    path(
        "service-accounts/<str:service_account_id>/namespace-access",
        ServiceAccountNamespaceAccessView.as_view(),
        name="service-account-namespace-access",
    ),
    path("api-keys", ApiKeysView.as_view(), name="api-keys"),
    path("api-keys/<str:key_id>", ApiKeyView.as_view(), name="api-key"),
    path("namespaces", NamespacesView.as_view(), name="namespaces"),
    path("namespaces/<str:namespace>", NamespaceView.as_view(), name="namespace"),
    path(
        "namespaces/<str:namespace>/rename-search-attribute",
        RenameSearchAttributeView.as_view(),
        name="namespace-rename-search-attribute",
    ),
    path(
        "namespaces/<str:namespace>/user-assignments",
        UserAssignmentsView.as_view(),
        name="namespace-user-assignments",
    ),
    path(
        "namespaces/<str:namespace>/service-account-assignments",
        ServiceAccountAssignmentsView.as_view(),
        name="namespace-service-account-assignments",
    ),
    path("regions", RegionsView.as_view(), name="regions"),
    path("regions/<str:region>", RegionView.as_view(), name="region"),
    path("operations/<str:operation_id>", AsyncOperationView.as_view(), name="operation"),
    path("audit-logs", AuditLogsView.as_view(), name="audit-logs"),
    re_path(r"^(?P<path>.*)$", not_found),
]
