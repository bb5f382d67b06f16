"""The account settings page: who sees which controls, what each form changes, and refusals."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from accounts.models import Account, Membership, Role
from accounts.principal import Principal
from audit.models import AuditEntry
from tests.accounts.pages import browser_of, page_of, says, text


def test_owner_sees_the_account_and_every_control(alice: Principal) -> None:
    page = browser_of(alice).get(page_of(alice, "settings/"))
    assert page.status_code == 200
    seen = text(page)
    assert "Alice Co" in seen
    assert alice.account.account_id in seen
    for control in ("Save settings", "Hand over ownership", f"Delete account {alice.account.account_id}"):
        assert control in seen


def test_account_root_leads_to_settings(alice: Principal) -> None:
    response = browser_of(alice).get(page_of(alice))
    assert response.status_code == 302
    assert response["Location"] == page_of(alice, "settings/")


def test_global_admin_may_change_settings_but_not_delete_or_hand_over(add_member: Callable[..., Principal]) -> None:
    admin = add_member("gina@example.com", Role.GLOBAL_ADMIN)
    client = browser_of(admin)
    seen = text(client.get(page_of(admin, "settings/")))
    assert "Save settings" in seen
    assert "Hand over ownership" not in seen
    assert "Delete account" not in seen
    refused = client.post(page_of(admin, "settings/delete/"), {"confirm": admin.account.account_id})
    assert refused.status_code == 403
    assert says(refused, "only an Account Owner may delete the account")
    refused = client.post(
        page_of(admin, "settings/transfer/"), {"to_member": admin.public_id, "keep_role": "developer"}
    )
    assert refused.status_code == 403
    assert Account.objects.filter(pk=admin.account.pk).exists()


@pytest.mark.parametrize("role", [Role.READ_ONLY, Role.DEVELOPER, Role.FINANCE_ADMIN])
def test_members_without_admin_rights_see_no_write_controls_and_get_403(
    alice: Principal, add_member: Callable[..., Principal], role: Role
) -> None:
    member = add_member("rita@example.com", role)
    client = browser_of(member)
    page = client.get(page_of(member, "settings/"))
    assert page.status_code == 200
    seen = text(page)
    assert "Alice Co" in seen
    assert "Save settings" not in seen
    assert "Delete account" not in seen
    assert "Hand over ownership" not in seen
    assert f'href="{page_of(member, "audit/")}"' not in page.content.decode()
    refused = client.post(page_of(member, "settings/"), {"name": "Mine now", "audit_retention_days": "100"})
    assert refused.status_code == 403
    assert says(refused, "may not update account")
    assert client.post(page_of(member, "settings/delete/"), {"confirm": member.account.account_id}).status_code == 403
    transfer = {"to_member": member.public_id, "keep_role": "developer"}
    assert client.post(page_of(member, "settings/transfer/"), transfer).status_code == 403
    account = Account.objects.get(pk=alice.account.pk)
    assert (account.name, account.audit_retention_days) == ("Alice Co", 365)
    assert Membership.objects.get(pk=alice.membership.pk).role == Role.OWNER  # type: ignore[union-attr]


def test_it_rejects_outsider(alice: Principal, charlie: Principal) -> None:
    client = browser_of(charlie)
    for path in ("", "settings/"):
        assert client.get(page_of(alice, path)).status_code == 404
    assert client.post(page_of(alice, "settings/"), {"name": "Pwned"}).status_code == 404
    assert client.post(page_of(alice, "settings/delete/"), {"confirm": alice.account.account_id}).status_code == 404
    assert Account.objects.get(pk=alice.account.pk).name == "Alice Co"


def test_signed_out_visitors_are_sent_to_sign_in(alice: Principal) -> None:
    response = Client().get(page_of(alice, "settings/"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_owner_changes_settings_and_it_is_audited(alice: Principal) -> None:
    client = browser_of(alice)
    response = client.post(
        page_of(alice, "settings/"), {"name": "Alice Group", "audit_retention_days": "90"}, follow=True
    )
    assert response.status_code == 200
    assert says(response, "Account settings saved.")
    account = Account.objects.get(pk=alice.account.pk)
    assert (account.name, account.audit_retention_days, account.api_key_creation_enabled) == ("Alice Group", 90, False)
    entry = AuditEntry.objects.filter(operation="UpdateAccount").latest("seq")
    assert entry.details["name"] == "Alice Group"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Alice Co", "audit_retention_days": "5", "api_key_creation_enabled": "on"}, "retention must be"),
        ({"name": "   ", "audit_retention_days": "365", "api_key_creation_enabled": "on"}, "needs a name"),
        ({"name": "Alice Co", "audit_retention_days": "soon", "api_key_creation_enabled": "on"}, "whole number"),
    ],
)
def test_bad_settings_are_refused_with_the_reason_and_change_nothing(
    alice: Principal, data: dict[str, str], message: str
) -> None:
    response = browser_of(alice).post(page_of(alice, "settings/"), data)
    assert response.status_code == 400
    assert says(response, message)
    assert says(response, "Save settings")  # the form is shown again
    account = Account.objects.get(pk=alice.account.pk)
    assert (account.name, account.audit_retention_days, account.resource_version) == ("Alice Co", 365, 1)


def test_owner_hands_over_ownership(alice: Principal, bob: Principal) -> None:
    client = browser_of(alice)
    assert f"{bob.name} (Developer)" in text(client.get(page_of(alice, "settings/")))
    response = client.post(
        page_of(alice, "settings/transfer/"), {"to_member": bob.public_id, "keep_role": "global_admin"}, follow=True
    )
    assert says(response, "bob@example.com is now the Account Owner.")
    assert Membership.objects.get(pk=bob.membership.pk).role == Role.OWNER  # type: ignore[union-attr]
    assert Membership.objects.get(pk=alice.membership.pk).role == Role.GLOBAL_ADMIN  # type: ignore[union-attr]


def test_handing_over_to_nobody_is_refused(alice: Principal, bob: Principal, charlie: Principal) -> None:
    client = browser_of(alice)
    response = client.post(page_of(alice, "settings/transfer/"), {"to_member": "", "keep_role": "global_admin"})
    assert response.status_code == 404
    response = client.post(
        page_of(alice, "settings/transfer/"), {"to_member": charlie.public_id, "keep_role": "global_admin"}
    )
    assert response.status_code == 404
    response = client.post(page_of(alice, "settings/transfer/"), {"to_member": bob.public_id, "keep_role": "owner"})
    assert response.status_code == 400
    assert says(response, "change the member's role to Account Owner instead")
    assert Membership.objects.get(pk=bob.membership.pk).role == Role.DEVELOPER  # type: ignore[union-attr]


def test_owner_deletes_the_account_after_typing_its_id(alice: Principal, bob: Principal) -> None:
    client = browser_of(alice)
    wrong = client.post(page_of(alice, "settings/delete/"), {"confirm": "nope"})
    assert wrong.status_code == 400
    assert says(wrong, f"type the account id '{alice.account.account_id}' to confirm")
    assert Account.objects.filter(pk=alice.account.pk).exists()
    done = client.post(page_of(alice, "settings/delete/"), {"confirm": alice.account.account_id}, follow=True)
    assert done.redirect_chain[0] == ("/", 302)
    assert says(done, "has been deleted")
    assert says(done, "No account yet")
    assert not Account.objects.filter(pk=alice.account.pk).exists()
    assert browser_of(bob).get(page_of(alice, "settings/")).status_code == 404
