"""In real Chromium against the production server (daphne): an organisation signs up, verifies
its e-mail from the captured mail, turns on TOTP, invites a member who signs up and accepts, and
creates an API key that is shown once and then works against the REST API."""

from __future__ import annotations

import base64
import email
import hashlib
import hmac
import json
import os
import re
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.support.backends import process_databases
from tests.support.browser import launch_chromium
from tests.support.net import free_port, http_get, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OWNER = "olga@founders.example"
INVITEE = "ivan@founders.example"
PASSWORD = "a long and unusual passphrase 9"
ORGANISATION = "Founders Ltd"


@pytest.fixture
def web(subprocess_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A migrated, empty web app; yields its URL and the directory its mail is written to."""
    port = free_port()
    data_dir = tmp_path / "var"
    with process_databases(data_dir) as databases:
        env = {**subprocess_env, **databases, "SUNDIAL_WEB_PORT": str(port)}
        subprocess.run(
            [sys.executable, "-m", "cloud.cli", "manage", "migrate", "--noinput"],
            env=env,
            capture_output=True,
            timeout=120,
            check=True,
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "cloud.cli", "web"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: (http_get(f"{url}/healthz") or (0, b""))[0] == 200, timeout=60, what="the web app")
            yield url, data_dir / "mail"
        finally:
            server.terminate()
            server.wait(timeout=15)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    base = os.environ.get("SUNDIAL_ARTIFACTS_DIR")
    directory = Path(base) / "browser-signup" if base else tmp_path / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _messages(mail_dir: Path) -> list[Message]:
    """Every captured mail, newest file first (the file backend writes one file per connection)."""
    files = (
        sorted(mail_dir.glob("*.log"), key=lambda f: f.stat().st_mtime_ns, reverse=True) if mail_dir.exists() else []
    )
    found = []
    for path in files:
        for chunk in reversed(path.read_text().split("-" * 79 + "\n")):
            if chunk.strip():
                found.append(email.message_from_string(chunk.lstrip("\n")))
    return found


def _body(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset() or "utf-8")


def newest_link(mail_dir: Path, *, to: str, path: str) -> str:
    """The link to ``path…`` in the newest mail to ``to``, waiting for the mail to be written."""
    pattern = re.compile(rf"https?://\S+{re.escape(path)}\S*")
    links: list[str] = []

    def arrived() -> bool:
        for message in _messages(mail_dir):
            if to in str(message["To"]):
                found = pattern.search(_body(message))
                if found:
                    links.append(found.group(0))
                    return True
        return False

    wait_until(arrived, timeout=20, what=f"a mail to {to} with a link to {path}")
    return links[0]


def totp(secret: str, counter: int) -> str:
    """RFC 6238 (HMAC-SHA1, 30-second steps, 6 digits) for one step ``counter``."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def unused_code(secret: str, used: set[str]) -> str:
    """A code valid now (the server accepts one step either side) that was not used before."""
    now = int(time.time()) // 30
    code = next(c for c in (totp(secret, now), totp(secret, now + 1)) if c not in used)
    used.add(code)
    return code


def sign_up(page: Page, url: str, mail_dir: Path, *, address: str, organisation: str = "") -> None:
    """Fill the sign-up form (already open), then confirm the address from the mailed link."""
    page.get_by_label("Email").fill(address)
    page.get_by_label("Organisation name").fill(organisation)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    link = newest_link(mail_dir, to=address, path="/accounts/confirm-email/")
    assert link.startswith(url)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()


def test_an_organisation_signs_up_secures_itself_invites_and_creates_a_key(web: tuple[str, Path], shots: Path) -> None:
    url, mail_dir = web
    used_codes: set[str] = set()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        owner = browser.new_context().new_page()

        # Sign up: the new organisation gets a 5-character account id and Olga owns it.
        owner.goto(f"{url}/accounts/signup/")
        sign_up(owner, url, mail_dir, address=OWNER, organisation=ORGANISATION)
        expect(owner).to_have_url(re.compile(rf"{url}/a/[a-z0-9]{{5}}/settings/$"))
        account_id = owner.url.rsplit("/", 3)[-3]
        expect(owner.get_by_role("heading", name=ORGANISATION)).to_be_visible()
        expect(owner.locator(".facts")).to_contain_text("Account Owner")
        owner.screenshot(path=str(shots / "01-signed-up.png"), full_page=True)

        # Two-factor authentication with an authenticator app (TOTP).
        owner.get_by_role("link", name="Two-factor").click()
        owner.get_by_role("link", name="Activate").click()
        if owner.get_by_label("Password").count():  # allauth may ask to confirm the password first
            owner.get_by_label("Password").fill(PASSWORD)
            owner.get_by_role("button", name="Confirm").click()
        secret = owner.locator("#authenticator_secret").input_value()
        owner.get_by_label("Authenticator code").fill(unused_code(secret, used_codes))
        owner.get_by_role("button", name="Activate").click()
        expect(owner.get_by_text("Authenticator app activated.")).to_be_visible()
        owner.screenshot(path=str(shots / "02-totp-on.png"), full_page=True)

        # Signing in again now takes the password and a code.
        owner.get_by_role("button", name="Sign out").click()
        owner.goto(f"{url}/accounts/login/")
        owner.get_by_label("Email").fill(OWNER)
        owner.get_by_label("Password").fill(PASSWORD)
        owner.get_by_role("button", name="Sign In").click()
        owner.locator("input[name=code]").fill(unused_code(secret, used_codes))
        owner.get_by_role("button", name="Sign In").click()
        expect(owner).to_have_url(f"{url}/a/{account_id}/settings/")

        # Invite Ivan as a Developer.
        owner.get_by_role("link", name="Members").click()
        owner.get_by_label("E-mail:", exact=True).fill(INVITEE)
        owner.get_by_label("Role:", exact=True).select_option(label="Developer")
        owner.get_by_role("button", name="Send invitation").click()
        expect(owner.get_by_text(f"Invitation sent to {INVITEE}.")).to_be_visible()
        expect(owner.get_by_role("row", name=re.compile(rf"{re.escape(INVITEE)} Developer"))).to_be_visible()

        # Ivan, in his own browser, opens the invitation, signs up with that address and accepts.
        invitee = browser.new_context().new_page()
        invitation = newest_link(mail_dir, to=INVITEE, path="/invitations/")
        assert invitation.startswith(url)
        invitee.goto(invitation)
        expect(invitee.get_by_text(f"{OWNER} invited {INVITEE} to join {ORGANISATION}")).to_be_visible()
        invitee.get_by_role("link", name="Sign up to accept").click()
        sign_up(invitee, url, mail_dir, address=INVITEE)
        expect(invitee).to_have_url(invitation)  # home sends him back to the invitation
        invitee.get_by_role("button", name="Accept invitation").click()
        expect(invitee).to_have_url(f"{url}/a/{account_id}/settings/")
        expect(invitee.get_by_text(f"Welcome to {ORGANISATION}: you joined as Developer.")).to_be_visible()
        invitee.screenshot(path=str(shots / "03-invitee-joined.png"), full_page=True)

        # Olga sees Ivan among the members, with no invitation pending any more.
        owner.get_by_role("link", name="Members").click()
        expect(owner.get_by_role("row", name=re.compile(rf"{re.escape(INVITEE)}.*Developer"))).to_be_visible()
        expect(owner.get_by_text("No pending invitations.")).to_be_visible()

        # An API key: shown once, with a copy button; a reload no longer shows it.
        owner.get_by_role("link", name="API keys").click()
        owner.get_by_label("Name").fill("deploy script")
        owner.get_by_role("button", name="Create API key").click()
        expect(owner.get_by_text("it will not be shown again")).to_be_visible()
        token = owner.get_by_label("API key").input_value()
        assert re.fullmatch(r"sdl_[0-9a-f]+_[\w-]+", token)
        owner.get_by_role("button", name="Copy").click()
        expect(owner.get_by_role("button", name="Copied")).to_be_visible()
        owner.screenshot(path=str(shots / "04-api-key-once.png"), full_page=True)
        owner.reload()
        expect(owner.get_by_text("no longer shown")).to_be_visible()
        assert token not in owner.content()
        owner.get_by_role("link", name="Done").click()
        expect(owner.get_by_role("row", name=re.compile("deploy script"))).to_contain_text("active")
        browser.close()

    # The key works against the REST API and acts as Olga in her account.
    request = urllib.request.Request(f"{url}/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        users = json.loads(response.read())
    emails = json.dumps(users)
    assert OWNER in emails
    assert INVITEE in emails
