"""Helpers for the engine's authorization tests: API keys made as the control plane makes them
(`sdl_<key_id>_<secret>`, digest HMAC-SHA256 under the pepper), admin-API documents, and the
admin client called off the event loop the in-process engine runs on."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from engine.admin_client import EngineAdminClient
from engine.config import EngineConfig
from engine.server import EngineServer

PEPPER = "test-pepper-0f3c"
ADMIN_SECRET = "test-admin-secret-91ab"


def auth_config(engine_db_url: str, **options: Any) -> EngineConfig:
    """An engine outside dev mode (API keys enforced) with the admin API on a free port."""
    settings: dict[str, Any] = {
        "port": 0,
        "db_url": engine_db_url,
        "grace_period": 1,
        "admin_port": 0,
        "admin_secret": ADMIN_SECRET,
        "api_key_pepper": PEPPER,
    }
    settings.update(options)
    return EngineConfig(**settings)


def new_key(pepper: str = PEPPER) -> tuple[str, str, str]:
    """(key id, token, digest) of a fresh API key."""
    key_id = secrets.token_hex(8)
    token = f"sdl_{key_id}_{secrets.token_urlsafe(24)}"
    return key_id, token, digest_of(token, pepper)


def digest_of(token: str, pepper: str = PEPPER) -> str:
    return hmac.new(pepper.encode(), token.encode(), hashlib.sha256).hexdigest()


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def in_a_year() -> str:
    return rfc3339(datetime.now(UTC) + timedelta(days=365))


def namespace_spec(name: str, account_id: str, /, **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "namespace": f"{name}.{account_id}",
        "account_id": account_id,
        "retention_days": 30,
        "description": "",
        "search_attributes": {},
        "api_key_auth": True,
        "mtls": None,
    }
    spec.update(overrides)
    return spec


@dataclass
class Key:
    key_id: str
    token: str
    digest: str
    principal_id: str
    expires_at: str | None = field(default_factory=in_a_year)
    disabled: bool = False

    def entry(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "principal_id": self.principal_id,
            "digest": self.digest,
            "expires_at": self.expires_at,
            "disabled": self.disabled,
        }


@dataclass
class Principal:
    name: str
    grants: dict[str, str] = field(default_factory=dict)
    account_admin: bool = False
    kind: str = "service_account"
    principal_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def entry(self) -> dict[str, Any]:
        return {
            "principal_id": self.principal_id,
            "kind": self.kind,
            "name": self.name,
            "account_admin": self.account_admin,
            "grants": self.grants,
        }

    def new_key(self, **options: Any) -> Key:
        key_id, token, digest = new_key()
        return Key(key_id, token, digest, self.principal_id, **options)


@dataclass
class Account:
    """One account's access as the control plane would sync it."""

    account_id: str
    principals: list[Principal] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)

    def principal(self, name: str, **options: Any) -> Principal:
        principal = Principal(name, **options)
        self.principals.append(principal)
        return principal

    def key_for(self, principal: Principal, **options: Any) -> Key:
        key = principal.new_key(**options)
        self.keys.append(key)
        return key

    def document(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "principals": [p.entry() for p in self.principals],
            "api_keys": [k.entry() for k in self.keys],
        }


class Admin:
    """The control plane's admin client, its blocking calls run in a thread."""

    def __init__(self, address: str, secret: str = ADMIN_SECRET) -> None:
        self.client = EngineAdminClient(address, secret)

    async def call(self, method: str, document: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(self.client.call, method, document)

    async def put_namespace(self, spec: dict[str, Any]) -> dict[str, Any]:
        return await self.call("PutNamespace", spec)

    async def delete_namespace(self, namespace: str) -> dict[str, Any]:
        return await self.call("DeleteNamespace", {"namespace": namespace})

    async def sync(self, account: Account) -> dict[str, Any]:
        return await self.call("SyncAccountAccess", account.document())

    def close(self) -> None:
        self.client.close()


async def connect(engine: EngineServer, namespace: str, token: str | None, **options: Any) -> Client:
    """An SDK client given only the host, the namespace id and the API key (these engines serve
    plaintext, so TLS, which the SDK turns on with an API key, is turned off)."""
    return await Client.connect(f"127.0.0.1:{engine.port}", namespace=namespace, api_key=token, tls=False, **options)


@asynccontextmanager
async def worker(client: Client) -> AsyncIterator[str]:
    """A worker for every workflow and activity of sdk_app on a fresh task queue."""
    from tests.engine.sdk_app import ACTIVITIES, WORKFLOWS

    name = f"tq-{uuid.uuid4().hex[:8]}"
    runner = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("tests.engine.wft_failures")
    )
    async with Worker(
        client,
        task_queue=name,
        workflows=WORKFLOWS,
        activities=ACTIVITIES,  # type: ignore[arg-type]
        workflow_runner=runner,
    ):
        yield name
