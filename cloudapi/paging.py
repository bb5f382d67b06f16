"""Paging of list RPCs: ``page_size`` (≤ 1000, default 100) and opaque ``page_token``s.

Lists are ordered by id (Temporal Cloud lists users "in ascending ids order"; audit logs by
their sequence number), so a page token is the last id of the previous page: keyset paging
that neither skips nor repeats rows when others are added or removed between pages. Tokens
are signed per list, so a token that was not issued for that list is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.core import signing
from django.db.models import Model, QuerySet

from accounts.errors import InvalidInput

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

M = TypeVar("M", bound=Model)
T = TypeVar("T")


def page_size_of(value: int) -> int:
    if value < 0:
        raise InvalidInput(f"page_size must not be negative (got {value})")
    if value > MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size must be at most {MAX_PAGE_SIZE} (got {value})")
    return value or DEFAULT_PAGE_SIZE


def _salt(kind: str) -> str:
    return f"sundial.cloudapi.page.{kind}"


def encode_token(kind: str, after: Any) -> str:
    return signing.dumps({"after": after}, salt=_salt(kind), compress=True)


def decode_token(kind: str, token: str) -> Any:
    """The position after which the page starts, or None for the first page."""
    if not token:
        return None
    try:
        payload = signing.loads(token, salt=_salt(kind))
    except signing.BadSignature:
        raise InvalidInput("page_token is not valid for this list; start again without one") from None
    if not isinstance(payload, dict) or "after" not in payload:
        raise InvalidInput("page_token is not valid for this list; start again without one")
    return payload["after"]


def keyset_page(rows: QuerySet[M], *, kind: str, key: str, page_size: int, page_token: str) -> tuple[list[M], str]:
    """One page of ``rows`` ordered by the unique column ``key``, and the next page's token."""
    after = decode_token(kind, page_token)
    if after is not None:
        rows = rows.filter(**{f"{key}__gt": after})
    items = list(rows.order_by(key)[: page_size + 1])
    return cut(items, kind=kind, page_size=page_size, key_of=lambda row: getattr(row, key))


def cut(items: Sequence[T], *, kind: str, page_size: int, key_of: Callable[[T], Any]) -> tuple[list[T], str]:
    """The first ``page_size`` of ``items`` (already ordered, one extra fetched) and the next token."""
    page = list(items[:page_size])
    more = len(items) > page_size
    return page, encode_token(kind, key_of(page[-1])) if more and page else ""
