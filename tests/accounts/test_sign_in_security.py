"""Sign-in security with allauth: TOTP and recovery codes, the session list, login throttling,
and the ``UserLogin`` audit entries a completed sign-in leaves.

TOTP codes are computed here from the secret the activation page shows (RFC 6238: HMAC-SHA1,
30-second steps, 6 digits), as an authenticator app would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import struct
import time
import uuid

import pytest
from allauth.account.models import EmailAddress
from allauth.core.internal import ratelimit
from django.core.cache import cache
from django.test import Client

from accounts.models import User
from accounts.services import do_create_account
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "sundial correct horse 4921"


def totp(secret: str, *, at: float | None = None) -> str:
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(base64.b32decode(secret, casefold=True), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def new_address() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


def fresh_client(address: str | None = None) -> Client:
    """A browser at its own address, so other tests' failed sign-ins never count against it."""
    return Client(REMOTE_ADDR=address or new_address(), HTTP_USER_AGENT=f"test-browser/{uuid.uuid4().hex[:6]}")


@pytest.fixture
def person(db) -> User:
    """A verified user who owns an account."""
    user = User.objects.create_user(f"erin-{uuid.uuid4().hex[:8]}@example.com", PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    do_create_account(owner=user, name="Erin Inc")
    return user


def sign_in(client: Client, email: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def activate_totp(client: Client) -> str:
    """Set up an authenticator app on the activation page; returns its secret."""
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 302  # allauth asks for the password again before security changes
    assert page["Location"].startswith("/accounts/reauthenticate/")
    assert client.post(page["Location"], {"password": PASSWORD}).status_code == 302
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    field = re.search(r'<input[^>]*id="authenticator_secret"[^>]*>', page.content.decode())
    assert field, page.content.decode()
    secret = re.search(r'value="([A-Z2-7=]+)"', field.group(0))
    assert secret
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp(secret.group(1))})
    assert response.status_code == 302
    return secret.group(1)


def recovery_codes(client: Client) -> list[str]:
    page = client.get("/accounts/2fa/recovery-codes/").content.decode()
    box = re.search(r'<textarea[^>]*id="recovery_codes"[^>]*>(.*?)</textarea>', page, re.S)
    assert box, page
    return html.unescape(box.group(1)).split()


@pytest.fixture
def mfa_person(person: User) -> tuple[User, str, list[str]]:
    """``person`` with TOTP set up: (user, TOTP secret, recovery codes)."""
    browser = fresh_client()
    assert sign_in(browser, person.email).status_code == 302
    secret = activate_totp(browser)
    return person, secret, recovery_codes(browser)


def test_after_totp_is_set_up_sign_in_asks_for_the_code(mfa_person) -> None:
    user, secret, _ = mfa_person
    browser = fresh_client()

    response = sign_in(browser, user.email)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert not signed_in(browser)

    assert browser.post("/accounts/2fa/authenticate/", {"code": totp(secret)}).status_code == 302
    assert signed_in(browser)


def test_a_wrong_totp_code_is_refused(mfa_person) -> None:
    user, secret, _ = mfa_person
    browser = fresh_client()
    sign_in(browser, user.email)
    wrong = f"{(int(totp(secret)) + 500_000) % 1_000_000:06d}"

    response = browser.post("/accounts/2fa/authenticate/", {"code": wrong})

    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert not signed_in(browser)


def test_a_totp_code_cannot_be_replayed(mfa_person) -> None:
    user, secret, _ = mfa_person
    code = totp(secret)
    first = fresh_client()
    sign_in(first, user.email)
    assert first.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302

    second = fresh_client()
    sign_in(second, user.email)
    response = second.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 200
    assert not signed_in(second)


def test_a_recovery_code_signs_in_once(mfa_person) -> None:
    user, _, codes = mfa_person
    assert len(codes) == 10

    browser = fresh_client()
    sign_in(browser, user.email)
    assert browser.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 302
    assert signed_in(browser)

    again = fresh_client()
    sign_in(again, user.email)
    response = again.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert not signed_in(again)


def test_the_session_list_shows_both_browsers_and_signs_out_the_other(person: User) -> None:
    laptop, phone = fresh_client(), fresh_client()
    assert sign_in(laptop, person.email).status_code == 302
    assert sign_in(phone, person.email).status_code == 302

    page = laptop.get("/accounts/sessions/")
    assert page.status_code == 200
    text = page.content.decode()
    assert laptop.defaults["REMOTE_ADDR"] in text
    assert phone.defaults["REMOTE_ADDR"] in text
    assert "Sign Out Other Sessions" in text

    assert laptop.post("/accounts/sessions/").status_code == 302

    assert phone.get("/accounts/sessions/").status_code == 302  # sent to sign in again
    assert not signed_in(phone)
    assert signed_in(laptop)
    assert phone.defaults["REMOTE_ADDR"] not in laptop.get("/accounts/sessions/").content.decode()


@pytest.fixture
def throttled_address(person: User) -> str:
    """A client address whose failed-sign-in counters start empty, on this pass's cache (Redis or
    local memory); only these keys are removed, never the whole cache."""
    address = new_address()
    request = Client(REMOTE_ADDR=address).get("/").wsgi_request
    for key in (address, person.email):
        for rate in ratelimit.get_rates(app="allauth.account", action="login_failed"):
            cache.delete(
                ratelimit.get_cache_key(request, app="allauth.account", action="login_failed", rate=rate, key=key)
            )
    return address


def test_after_five_failed_sign_ins_the_sixth_is_refused_even_with_the_right_password(
    person: User, throttled_address: str
) -> None:
    attacker = fresh_client(throttled_address)
    for _ in range(5):
        response = sign_in(attacker, person.email, "not the password")
        assert response.status_code == 200
        assert "The email address and/or password you specified are not correct." in response.content.decode()

    response = sign_in(attacker, person.email, PASSWORD)

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert not signed_in(attacker)


def test_successful_sign_ins_do_not_count_towards_the_limit(person: User, throttled_address: str) -> None:
    browser = fresh_client(throttled_address)
    for _ in range(7):
        assert sign_in(browser, person.email).status_code == 302
        assert browser.post("/accounts/logout/").status_code == 302
    assert sign_in(browser, person.email).status_code == 302


def test_a_completed_sign_in_is_in_the_audit_log_of_each_account(person: User) -> None:
    second = do_create_account(owner=person, name="Erin Side Project")
    browser = fresh_client()
    sign_in(browser, person.email)

    entries = AuditEntry.objects.filter(operation="UserLogin", principal_name=person.email)
    assert {e.account_code for e in entries} == {
        second.account_id,
        person.memberships.exclude(account=second).get().account.account_id,
    }
    assert all(e.client_ip == browser.defaults["REMOTE_ADDR"] for e in entries)
    assert all(e.details["methods"] == ["password"] for e in entries)


def test_a_sign_in_waiting_for_its_second_factor_is_not_logged_yet(mfa_person) -> None:
    user, secret, _ = mfa_person
    browser = fresh_client()
    before = AuditEntry.objects.filter(operation="UserLogin").count()

    sign_in(browser, user.email)
    assert AuditEntry.objects.filter(operation="UserLogin").count() == before

    browser.post("/accounts/2fa/authenticate/", {"code": totp(secret)})
    newest = AuditEntry.objects.filter(operation="UserLogin").latest("pk")
    assert newest.details["methods"] == ["password", "mfa:totp"]
