"""``page_size`` / ``page_token`` → ``next_page_token`` paging, as the Cloud Ops API pages.

Tokens are opaque to clients (URL-safe base64): an offset for short lists (people, service
accounts, keys) and, for the audit log, the last ``seq`` seen, so that entries appended while a
client pages never shift what it reads next. An empty ``next_page_token`` means the last page.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db.models import QuerySet

from accounts.errors import InvalidInput

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def encode_token(kind: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def decode_token(kind: str, token: str) -> int:
    """The number inside a token of ``kind``; 0 for no token. Anything else is InvalidInput."""
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        found, _, number = text.partition(":")
        value = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value, found = -1, ""
    if found != kind or value < 0:
        raise InvalidInput("page_token is not valid; pass the next_page_token of the previous page")
    return value


def page_size_or_default(page_size: int) -> int:
    return page_size or DEFAULT_PAGE_SIZE


def offset_page(items: Sequence[T] | QuerySet[Any], *, page_size: int, page_token: str) -> tuple[list[T], str]:
    """One page of an ordered list or query and the token of the next (empty on the last)."""
    size = page_size_or_default(page_size)
    start = decode_token("o", page_token)
    window = list(items[start : start + size + 1])
    more = len(window) > size
    return window[:size], encode_token("o", start + size) if more else ""
