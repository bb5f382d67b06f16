"""The API keys page: create (token shown once), expiry rules, disable/enable/delete, who sees what."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.errors import Unauthenticated
from accounts.models import ApiKey, Role
from accounts.principal import Principal, principal_for_api_key
from accounts.services.accounts import do_update_account
from accounts.services.api_keys import do_create_api_key
from tests.accounts.conftest import in_days
from tests.accounts.pages import browser_of, page_of, says, text

TOKEN = re.compile(r"sdl_[0-9a-f]+_[\w-]+")


def _form(name: str = "laptop", days: int = 30, **extra: str) -> dict[str, str]:
    expires_on = (timezone.now().date() + timedelta(days=days)).isoformat()
    return {"key-name": name, "key-expires_on": expires_on, **{f"key-{k}": v for k, v in extra.items()}}


def test_a_new_key_is_shown_once_and_works(alice: Principal) -> None:
    client = browser_of(alice)
    response = client.post(page_of(alice, "api-keys/"), _form(description="for the CLI"), follow=True)
    key = ApiKey.objects.get()
    created = page_of(alice, f"api-keys/{key.key_id}/created/")
    assert response.redirect_chain == [(created, 302)]
    assert "no-store" in response["Cache-Control"]
    match = TOKEN.search(response.content.decode())
    assert match is not None
    token = match.group(0)
    assert says(response, "Copy this key now: it will not be shown again.")
    assert 'data-copy="new-api-key"' in response.content.decode()
    assert principal_for_api_key(token).membership == alice.membership
    assert (key.display_name, key.description) == ("laptop", "for the CLI")
    assert key.expires_at.date() == timezone.now().date() + timedelta(days=30)
    reload = client.get(created)
    assert token not in reload.content.decode()
    assert says(reload, "The secret of this key is no longer shown")
    listing = client.get(page_of(alice, "api-keys/")).content.decode()
    assert token not in listing
    assert key.key_id in listing


def test_the_form_suggests_a_90_day_expiry_and_caps_it_at_2_years(alice: Principal) -> None:
    html = browser_of(alice).get(page_of(alice, "api-keys/")).content.decode()
    today = timezone.now().date()
    assert f'value="{(today + timedelta(days=90)).isoformat()}"' in html
    assert f'max="{(today + timedelta(days=730)).isoformat()}"' in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_form(days=800), "an API key expires at most 2 years from now"),
        (_form(days=-1), "the expiry time must be in the future"),
        (_form(days=0), "the expiry time must be in the future"),
        ({"key-name": "laptop", "key-expires_on": ""}, "an API key needs an expiry time"),
        ({"key-name": "laptop", "key-expires_on": "next tuesday"}, "Enter a valid date."),
        (_form(name="  "), "an API key needs a name"),
    ],
)
def test_bad_keys_are_refused_on_the_form_and_nothing_is_created(
    alice: Principal, data: dict[str, str], message: str
) -> None:
    response = browser_of(alice).post(page_of(alice, "api-keys/"), data)
    assert response.status_code == 400
    assert says(response, message)
    assert says(response, "Create API key")
    assert TOKEN.search(response.content.decode()) is None
    assert not ApiKey.objects.exists()


def test_admins_see_every_key_with_its_owner_others_only_their_own(
    alice: Principal, bob: Principal, add_service_account: Callable[..., Principal]
) -> None:
    do_create_api_key(alice, display_name="alice-key", expires_at=in_days(30))
    do_create_api_key(bob, display_name="bob-key", expires_at=in_days(30))
    owner_view = text(browser_of(alice).get(page_of(alice, "api-keys/")))
    assert "Every API key of the account." in owner_view
    assert "alice-key" in owner_view
    assert "bob-key" in owner_view
    assert "bob@example.com" in owner_view
    assert "Disable bob-key" in owner_view
    developer_view = text(browser_of(bob).get(page_of(bob, "api-keys/")))
    assert "Your API keys." in developer_view
    assert "bob-key" in developer_view
    assert "alice-key" not in developer_view


def test_a_developer_cannot_touch_someone_elses_key(alice: Principal, bob: Principal) -> None:
    key, token = do_create_api_key(alice, display_name="alice-key", expires_at=in_days(30))
    client = browser_of(bob)
    for action in ("disable", "enable", "delete"):
        assert client.post(page_of(bob, f"api-keys/{key.key_id}/{action}/")).status_code == 404
    assert client.get(page_of(bob, f"api-keys/{key.key_id}/created/")).status_code == 404
    assert ApiKey.objects.filter(pk=key.pk, disabled=False).exists()
    assert principal_for_api_key(token).membership == alice.membership


def test_it_rejects_outsider(alice: Principal, charlie: Principal) -> None:
    key, _ = do_create_api_key(alice, display_name="alice-key", expires_at=in_days(30))
    client = browser_of(charlie)
    assert client.get(page_of(alice, "api-keys/")).status_code == 404
    assert client.post(page_of(alice, "api-keys/"), _form()).status_code == 404
    for account in (alice, charlie):
        for action in ("disable", "delete"):
            assert client.post(page_of(account, f"api-keys/{key.key_id}/{action}/")).status_code == 404
    assert "alice-key" not in text(client.get(page_of(charlie, "api-keys/")))
    assert ApiKey.objects.filter(pk=key.pk, disabled=False).exists()


def test_a_member_disables_enables_and_deletes_their_key(bob: Principal) -> None:
    key, token = do_create_api_key(bob, display_name="bob-key", expires_at=in_days(30))
    client = browser_of(bob)
    disabled = client.post(page_of(bob, f"api-keys/{key.key_id}/disable/"), follow=True)
    assert says(disabled, "API key bob-key is disabled.")
    assert "bob-key" in text(disabled)
    assert "Enable bob-key" in text(disabled)
    with pytest.raises(Unauthenticated, match="disabled"):
        principal_for_api_key(token)
    enabled = client.post(page_of(bob, f"api-keys/{key.key_id}/enable/"), follow=True)
    assert says(enabled, "API key bob-key is enabled.")
    assert principal_for_api_key(token).membership == bob.membership
    deleted = client.post(page_of(bob, f"api-keys/{key.key_id}/delete/"), follow=True)
    assert says(deleted, "The API key has been deleted")
    assert not ApiKey.objects.exists()


def test_the_list_shows_when_a_key_was_last_used(alice: Principal) -> None:
    key, token = do_create_api_key(alice, display_name="laptop", expires_at=in_days(30))
    client = browser_of(alice)
    assert "laptop" in text(client.get(page_of(alice, "api-keys/")))
    assert f"{key.key_id} alice@example.com active {in_days(30):%-d %b %Y} never" in text(
        client.get(page_of(alice, "api-keys/"))
    )
    principal_for_api_key(token)
    used = ApiKey.objects.get().last_used_at
    assert used is not None
    assert f"{used:%-d %b %Y, %H:%M} UTC" in text(client.get(page_of(alice, "api-keys/")))


def test_read_only_members_manage_only_their_own_keys(alice: Principal, add_member: Callable[..., Principal]) -> None:
    reader = add_member("rita@example.com", Role.READ_ONLY)
    alices, _ = do_create_api_key(alice, display_name="alice-key", expires_at=in_days(30))
    client = browser_of(reader)
    response = client.post(page_of(reader, "api-keys/"), _form(name="rita-key"), follow=True)
    assert TOKEN.search(response.content.decode()) is not None
    assert client.post(page_of(reader, f"api-keys/{alices.key_id}/disable/")).status_code == 404
    assert ApiKey.objects.filter(pk=alices.pk, disabled=False).exists()


def test_with_key_creation_switched_off_only_admins_create_keys(
    alice: Principal, bob: Principal, add_member: Callable[..., Principal]
) -> None:
    do_update_account(alice, api_key_creation_enabled=False)
    client = browser_of(bob)
    page = client.get(page_of(bob, "api-keys/"))
    assert "Create API key" not in text(page)
    assert says(page, "API key creation is switched off for this account")
    refused = client.post(page_of(bob, "api-keys/"), _form())
    assert refused.status_code == 403
    assert says(refused, "API key creation is switched off")
    assert not ApiKey.objects.exists()
    admin = add_member("gina@example.com", Role.GLOBAL_ADMIN)
    assert "Create API key" in text(browser_of(admin).get(page_of(admin, "api-keys/")))
    assert browser_of(admin).post(page_of(admin, "api-keys/"), _form()).status_code == 302
    assert ApiKey.objects.count() == 1
