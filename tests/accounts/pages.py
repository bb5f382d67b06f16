"""Helpers for the page tests: a signed-in browser per person and the text a user sees."""

from __future__ import annotations

import html
import re
from typing import Protocol

from django.test import Client

from accounts.principal import Principal


class Page(Protocol):
    content: bytes


def browser_of(principal: Principal) -> Client:
    """A test client signed in as the person behind ``principal``."""
    client = Client()
    assert principal.user is not None
    client.force_login(principal.user)
    return client


def page_of(principal: Principal, rest: str = "") -> str:
    """``/a/<account id>/<rest>`` of the principal's account."""
    return f"/a/{principal.account.account_id}/{rest}"


def text(response: Page) -> str:
    """The page as a user reads it: tags dropped, entities decoded, whitespace collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def says(response: Page, message: str) -> bool:
    """Whether the page shows ``message`` (case aside: pages capitalise the services' messages)."""
    return message.lower() in text(response).lower()
