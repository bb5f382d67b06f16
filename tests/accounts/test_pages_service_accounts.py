"""Service account pages: list, create, edit, delete, and keys for a service account."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from accounts.models import ApiKey, Role, ServiceAccount
from accounts.principal import Principal, principal_for_api_key
from accounts.services.api_keys import do_create_api_key
from tests.accounts.conftest import in_days
from tests.accounts.pages import browser_of, page_of, says, text

TOKEN = re.compile(r"sdl_[0-9a-f]+_[\w-]+")


@pytest.fixture
def deployer(alice: Principal, add_service_account: Callable[..., Principal]) -> ServiceAccount:
    sa = add_service_account("deployer", Role.DEVELOPER).service_account
    assert sa is not None
    return sa


def test_owner_creates_a_service_account(alice: Principal) -> None:
    client = browser_of(alice)
    assert "Create service account" in text(client.get(page_of(alice, "service-accounts/")))
    response = client.post(
        page_of(alice, "service-accounts/"),
        {"name": "ci", "description": "builds", "role": "developer"},
        follow=True,
    )
    sa = ServiceAccount.objects.get(account=alice.account)
    assert (sa.name, sa.description, sa.role) == ("ci", "builds", Role.DEVELOPER)
    assert response.redirect_chain[-1][0] == page_of(alice, f"service-accounts/{sa.public_id}/")
    assert says(response, "Service account ci created.")
    assert "ci Developer none builds" in text(client.get(page_of(alice, "service-accounts/")))


def test_no_service_account_may_be_owner_and_the_form_does_not_offer_it(alice: Principal) -> None:
    client = browser_of(alice)
    html = client.get(page_of(alice, "service-accounts/")).content.decode()
    assert 'value="owner"' not in html
    refused = client.post(page_of(alice, "service-accounts/"), {"name": "boss", "role": "owner"})
    assert refused.status_code == 400
    assert says(refused, "a service account cannot have the role Account Owner")
    assert not ServiceAccount.objects.exists()


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"name": "  ", "role": "developer"}, 400, "a service account needs a name"),
        ({"name": "Deployer", "role": "developer"}, 409, "a service account named 'Deployer' already exists"),
        ({"name": "x", "role": "root"}, 400, "unknown role 'root'"),
        ({"name": "x" * 201, "role": "developer"}, 400, "at most 200 characters"),
    ],
)
def test_bad_service_accounts_are_refused_on_the_form(
    alice: Principal, deployer: ServiceAccount, data: dict[str, str], status: int, message: str
) -> None:
    response = browser_of(alice).post(page_of(alice, "service-accounts/"), data)
    assert response.status_code == status
    assert says(response, message)
    assert says(response, "Create service account")
    assert ServiceAccount.objects.count() == 1


def test_global_admin_may_not_grant_finance_admin(add_member: Callable[..., Principal]) -> None:
    admin = add_member("gina@example.com", Role.GLOBAL_ADMIN)
    client = browser_of(admin)
    assert 'value="finance_admin"' not in client.get(page_of(admin, "service-accounts/")).content.decode()
    refused = client.post(page_of(admin, "service-accounts/"), {"name": "billing", "role": "finance_admin"})
    assert refused.status_code == 403
    assert says(refused, "may not grant the role Finance Admin")
    assert not ServiceAccount.objects.exists()


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.READ_ONLY])
def test_non_admins_see_service_accounts_but_no_controls_and_get_403(
    add_member: Callable[..., Principal], deployer: ServiceAccount, role: Role
) -> None:
    member = add_member("rita@example.com", role)
    client = browser_of(member)
    seen = text(client.get(page_of(member, "service-accounts/")))
    assert "deployer" in seen
    assert "Create service account" not in seen
    detail = page_of(member, f"service-accounts/{deployer.public_id}/")
    seen = text(client.get(detail))
    assert "deployer" in seen
    for control in ("Save service account", "Delete service account", "Create API key"):
        assert control not in seen
    assert client.post(page_of(member, "service-accounts/"), {"name": "mine", "role": "read_only"}).status_code == 403
    assert client.post(detail, {"name": "renamed", "role": "developer"}).status_code == 403
    assert client.post(f"{detail}delete/").status_code == 403
    key = {"key-name": "k", "key-expires_on": in_days(30).date().isoformat()}
    assert client.post(f"{detail}api-keys/", key).status_code == 403
    assert list(ServiceAccount.objects.values_list("name", flat=True)) == ["deployer"]
    assert not ApiKey.objects.exists()


def test_it_rejects_outsider(alice: Principal, charlie: Principal, deployer: ServiceAccount) -> None:
    client = browser_of(charlie)
    assert client.get(page_of(alice, "service-accounts/")).status_code == 404
    for account in (alice, charlie):
        detail = page_of(account, f"service-accounts/{deployer.public_id}/")
        assert client.get(detail).status_code == 404
        assert client.post(detail, {"name": "pwned", "role": "developer"}).status_code == 404
        assert client.post(f"{detail}delete/").status_code == 404
        key = {"key-name": "k", "key-expires_on": in_days(30).date().isoformat()}
        assert client.post(f"{detail}api-keys/", key).status_code == 404
    assert ServiceAccount.objects.get().name == "deployer"
    assert not ApiKey.objects.exists()


def test_owner_edits_a_service_account(alice: Principal, deployer: ServiceAccount) -> None:
    detail = page_of(alice, f"service-accounts/{deployer.public_id}/")
    response = browser_of(alice).post(
        detail, {"name": "deploy-bot", "description": "ships", "role": "read_only"}, follow=True
    )
    assert says(response, "Service account deploy-bot saved.")
    deployer.refresh_from_db()
    assert (deployer.name, deployer.description, deployer.role) == ("deploy-bot", "ships", Role.READ_ONLY)
    refused = browser_of(alice).post(detail, {"name": "", "role": "read_only"})
    assert refused.status_code == 400
    assert says(refused, "a service account needs a name")


def test_owner_deletes_a_service_account_with_its_keys(alice: Principal, deployer: ServiceAccount) -> None:
    do_create_api_key(
        alice, display_name="ci", expires_at=in_days(30), owner_type="service_account", owner_id=deployer.public_id
    )
    response = browser_of(alice).post(page_of(alice, f"service-accounts/{deployer.public_id}/delete/"), follow=True)
    assert says(response, "Service account deployer and its API keys have been deleted.")
    assert not ServiceAccount.objects.exists()
    assert not ApiKey.objects.exists()


def test_owner_creates_a_key_for_a_service_account_and_sees_it_once(alice: Principal, deployer: ServiceAccount) -> None:
    client = browser_of(alice)
    detail = page_of(alice, f"service-accounts/{deployer.public_id}/")
    response = client.post(
        f"{detail}api-keys/", {"key-name": "ci key", "key-expires_on": in_days(30).date().isoformat()}, follow=True
    )
    token = TOKEN.search(response.content.decode())
    assert token is not None
    assert says(response, "it will not be shown again")
    acting = principal_for_api_key(token.group(0))
    assert acting.service_account == deployer
    key = ApiKey.objects.get()
    assert key.owner_service_account == deployer
    assert TOKEN.search(client.get(response.redirect_chain[-1][0]).content.decode()) is None
    seen = text(client.get(detail))
    assert f"ci key {key.key_id} service account deployer active" in seen
    assert "Disable ci key" in seen


def test_a_bad_key_for_a_service_account_is_refused_on_its_page(alice: Principal, deployer: ServiceAccount) -> None:
    detail = page_of(alice, f"service-accounts/{deployer.public_id}/")
    response = browser_of(alice).post(
        f"{detail}api-keys/", {"key-name": "ci", "key-expires_on": in_days(800).date().isoformat()}
    )
    assert response.status_code == 400
    assert says(response, "an API key expires at most 2 years from now")
    assert says(response, "Create a key for deployer")
    assert not ApiKey.objects.exists()
