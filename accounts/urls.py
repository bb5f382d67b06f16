"""Account pages (``/a/<account_id>/…``) and the invitation link."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from accounts.views import account, api_keys, invitations, members, service_accounts

A = "a/<slug:account_id>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path("invitations/<str:token>/", invitations.accept, name="invitation_accept"),
    path(A, account.account_home, name="account_home"),
    path(f"{A}settings/", account.account_settings, name="account_settings"),
    path(f"{A}settings/transfer/", account.transfer_ownership, name="account_transfer"),
    path(f"{A}settings/delete/", account.delete_account, name="account_delete"),
    path(f"{A}members/", members.members, name="account_members"),
    path(f"{A}members/invite/", members.invite, name="account_invite"),
    path(f"{A}members/<slug:member_id>/role/", members.change_role, name="account_member_role"),
    path(f"{A}members/<slug:member_id>/remove/", members.remove_member, name="account_member_remove"),
    path(f"{A}invitations/<slug:invitation_id>/resend/", invitations.resend, name="account_invitation_resend"),
    path(f"{A}invitations/<slug:invitation_id>/revoke/", invitations.revoke, name="account_invitation_revoke"),
    path(f"{A}service-accounts/", service_accounts.service_accounts, name="account_service_accounts"),
    path(
        f"{A}service-accounts/<slug:service_account_id>/",
        service_accounts.service_account,
        name="account_service_account",
    ),
    path(
        f"{A}service-accounts/<slug:service_account_id>/delete/",
        service_accounts.delete_service_account,
        name="account_service_account_delete",
    ),
    path(
        f"{A}service-accounts/<slug:service_account_id>/api-keys/",
        service_accounts.create_service_account_key,
        name="account_service_account_key",
    ),
    path(f"{A}api-keys/", api_keys.api_keys, name="account_api_keys"),
    path(f"{A}api-keys/<slug:key_id>/created/", api_keys.api_key_created, name="account_api_key_created"),
    path(f"{A}api-keys/<slug:key_id>/disable/", api_keys.disable_api_key, name="account_api_key_disable"),
    path(f"{A}api-keys/<slug:key_id>/enable/", api_keys.enable_api_key, name="account_api_key_enable"),
    path(f"{A}api-keys/<slug:key_id>/delete/", api_keys.delete_api_key, name="account_api_key_delete"),
]
