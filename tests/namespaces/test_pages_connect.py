"""The connection page's Python API-key snippet, copied from the page as a user would and run
unchanged in a fresh interpreter against a real engine (API keys enforced) that the control
plane provisioned the namespace on: it connects with only the endpoint, the namespace id and
the key. A key of the same account without a grant on the namespace is refused.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from accounts.models import Role
from accounts.principal import Principal
from accounts.services.api_keys import do_create_api_key
from namespaces.models import Namespace, NamespaceState
from namespaces.tasks import provision, sync_account_access
from tests.accounts.conftest import in_days
from tests.accounts.pages import browser_of, page_of, says
from tests.namespaces.conftest import Queued
from tests.namespaces.engine_support import EngineProcess, engine_process, run, sdk_client

pytestmark = pytest.mark.slow


@pytest.fixture
def engine(tmp_path: Path, settings) -> Iterator[EngineProcess]:
    with engine_process(tmp_path) as process:
        settings.SUNDIAL_ENGINE_ADDRESS = process.address
        settings.SUNDIAL_ENGINE_PUBLIC_ADDRESS = ""
        settings.SUNDIAL_ENGINE_PUBLIC_TLS = False
        settings.SUNDIAL_ENGINE_ADMIN_ADDRESS = process.admin_address
        settings.SUNDIAL_ENGINE_ADMIN_SECRET = process.secret
        process.start()
        yield process


def drain(queued: Queued) -> None:
    """Run the queued tasks as a worker would (access first: keys must exist before use)."""
    syncs, provisioning = list(queued.access_syncs), list(queued.provisioning)
    queued.clear()
    for account_id in syncs:
        queued.commit(partial(sync_account_access, account_id))
    for pk in provisioning:
        queued.commit(partial(provision, pk))


def run_snippet(code: str, api_key: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUNDIAL_")}
    env["SUNDIAL_API_KEY"] = api_key
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_python_snippet_from_the_page_connects_with_a_key(
    alice: Principal, add_member: Callable[..., Principal], queued: Queued, engine: EngineProcess
) -> None:
    client = browser_of(alice)
    queued.commit(
        lambda: client.post(
            page_of(alice, "namespaces/"), {"name": "shop", "retention_days": "3", "api_key_auth": "on"}
        )
    )
    drain(queued)
    assert Namespace.objects.get(name="shop").state == NamespaceState.ACTIVE
    response = client.get(page_of(alice, "namespaces/shop/connect/"))
    assert says(response, "State Active")
    found = re.search(r'<code id="python-api-key">(.*?)</code>', response.content.decode(), re.S)
    assert found is not None
    snippet = html.unescape(found.group(1))
    assert f'"{engine.address}"' in snippet
    assert f'namespace="shop.{alice.account.account_id}"' in snippet

    token = queued.commit(lambda: do_create_api_key(alice, display_name="sdk", expires_at=in_days(30)))[1]
    stranger = add_member("sam@example.com", Role.DEVELOPER)  # same account, no grant on shop
    other = queued.commit(lambda: do_create_api_key(stranger, display_name="sdk", expires_at=in_days(30)))[1]
    drain(queued)

    namespace_id = f"shop.{alice.account.account_id}"

    async def start() -> None:
        sdk = await sdk_client(engine, namespace_id, token)
        await sdk.start_workflow("Checkout", id="order-17", task_queue="shop")

    run(start)

    # Exit codes are not compared: a short-lived SDK process may abort while the interpreter
    # shuts down after its work is done (temporalio/sdk-python#300). What it printed tells.
    ran = run_snippet(snippet, token)
    assert "order-17 Checkout" in ran.stdout, ran.stderr
    assert "Traceback" not in ran.stderr, ran.stderr
    refused = run_snippet(snippet, other)
    assert "order-17" not in refused.stdout
    assert "RPCError: (7, 'the API key has no access to namespace" in refused.stderr, (
        refused.stderr
    )  # 7: PERMISSION_DENIED
    unknown = run_snippet(snippet, "sdl_0000_not-a-key")
    assert "order-17" not in unknown.stdout
    assert 'Status { code: Unauthenticated, message: "invalid API key"' in unknown.stderr, unknown.stderr
