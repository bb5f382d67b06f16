"""In real Chromium: the demo owner that `make run` prints signs in and sees their account."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.support.backends import process_databases
from tests.support.browser import launch_chromium
from tests.support.net import free_port, http_get, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _sundial(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "cloud.cli", *args], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return result.stdout


@pytest.fixture
def web(subprocess_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A migrated web app (daphne, the production ASGI server) with the demo account; yields (url, login)."""
    port = free_port()
    with process_databases(tmp_path / "var") as databases:
        env = {**subprocess_env, **databases, "SUNDIAL_WEB_PORT": str(port)}
        _sundial(["manage", "migrate", "--noinput"], env)
        login = dict(re.findall(r"^\s+(e-mail|password):\s+(\S+)", _sundial(["demo"], env), re.MULTILINE))
        server = subprocess.Popen(
            [sys.executable, "-m", "cloud.cli", "web"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: (http_get(f"{url}/healthz") or (0, b""))[0] == 200, timeout=60, what="the web app")
            yield url, login
        finally:
            server.terminate()
            server.wait(timeout=15)


def test_demo_owner_signs_in_and_sees_the_account(web: tuple[str, dict[str, str]]) -> None:
    url, login = web
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.goto(f"{url}/")
        page.get_by_role("link", name="Sign in").first.click()
        page.get_by_label("Email").fill(login["e-mail"])
        page.get_by_label("Password").fill(login["password"])
        page.get_by_role("button", name="Sign In").click()
        # Home sends a member to their account's pages.
        expect(page).to_have_url(re.compile(rf"{url}/a/[a-z0-9]{{5}}/settings/$"))
        expect(page.get_by_role("heading", name="Demo")).to_be_visible()
        expect(page.locator(".facts")).to_contain_text("Account Owner")
        expect(page.get_by_text(f"Successfully signed in as {login['e-mail']}")).to_be_visible()
        browser.close()


def test_a_wrong_password_is_refused_in_the_browser(web: tuple[str, dict[str, str]]) -> None:
    url, login = web
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.goto(f"{url}/accounts/login/")
        page.get_by_label("Email").fill(login["e-mail"])
        page.get_by_label("Password").fill("definitely-wrong")
        page.get_by_role("button", name="Sign In").click()
        expect(page.get_by_text("not correct")).to_be_visible()
        assert page.url.startswith(f"{url}/accounts/login/")
        browser.close()
