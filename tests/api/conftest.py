"""REST API fixtures: Alice, Bob and Charlie (``tests.accounts.conftest``) calling ``/api/v1/``
through Django's test client with API keys of their own, against the real database."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accounts.api.fields import rfc3339
from accounts.models import Account, ApiKey, AsyncOperation, Invitation, Membership, NamespaceGrant, ServiceAccount
from accounts.principal import Principal
from accounts.services.api_keys import do_create_api_key
from tests.accounts.conftest import *  # noqa: F403
from tests.accounts.conftest import in_days

BASE = "/api/v1/"


class Api:
    """One caller of the REST API: every request carries ``Authorization: Bearer <token>``."""

    def __init__(self, token: str | None, client: Client | None = None) -> None:
        self.token = token
        self.client = client or Client()

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        headers = dict(extra)
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return headers

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        return self.client.get(BASE + path, params, headers=self._headers(headers or {}))

    def post(
        self, path: str, body: Any = None, *, raw: str | None = None, headers: dict[str, str] | None = None
    ) -> Any:
        data = raw if raw is not None else json.dumps({} if body is None else body)
        return self.client.post(
            BASE + path, data, content_type="application/json", headers=self._headers(headers or {})
        )

    def delete(self, path: str, **params: Any) -> Any:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self.client.delete(BASE + path + (f"?{query}" if query else ""), headers=self._headers({}))


def key_of(principal: Principal, *, days: float = 30, name: str = "test key") -> tuple[ApiKey, str]:
    """A fresh API key of ``principal`` (a member's own key, or a service account's own)."""
    return do_create_api_key(principal, display_name=name, expires_at=in_days(days))


@pytest.fixture
def api() -> Callable[[Principal], Api]:
    def make(principal: Principal) -> Api:
        return Api(key_of(principal)[1])

    return make


def expiry(days: float = 30) -> str:
    """An RFC 3339 expiry ``days`` from now."""
    return rfc3339(in_days(days)) or ""


def error_of(response: Any) -> tuple[str, str]:
    """(code, message) of an error response, checking its shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]["code"], body["error"]["message"]


def snapshot(account: Account) -> dict[str, Any]:
    """Everything a change to ``account`` could touch (but its audit log), to prove nothing did."""
    fresh = Account.objects.get(pk=account.pk)
    return {
        "account": (fresh.name, fresh.resource_version, fresh.api_key_creation_enabled, fresh.audit_retention_days),
        "members": sorted(
            Membership.objects.filter(account=account).values_list("public_id", "role", "resource_version")
        ),
        "invitations": sorted(
            Invitation.objects.filter(account=account).values_list(
                "public_id", "role", "resource_version", "revoked_at", "token_digest"
            )
        ),
        "service_accounts": sorted(
            ServiceAccount.objects.filter(account=account).values_list("public_id", "name", "role", "resource_version")
        ),
        "grants": sorted(NamespaceGrant.objects.filter(account=account).values_list("namespace", "permission", "pk")),
        "operations": AsyncOperation.objects.filter(account=account).count(),
        "keys": sorted(
            ApiKey.objects.filter(account=account).values_list("key_id", "display_name", "disabled", "resource_version")
        ),
    }
