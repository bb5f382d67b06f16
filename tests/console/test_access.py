"""Tenant walls of the console: another account's namespace, or one without a grant, does not
exist (404) on the list, the run page and the download; a Read grant is enough to look. And an
engine that cannot be reached is a clear 503 page, not a traceback."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.models import NamespacePermission, Role
from accounts.principal import Principal
from accounts.services.members import do_set_member_namespace_access
from console.access import resolve
from namespaces.models import Namespace
from namespaces.services import do_create_namespace
from tests.accounts.pages import browser_of, page_of, says
from tests.console.conftest import greet, run, sdk
from tests.namespaces.conftest import Queued
from tests.namespaces.engine_support import EngineProcess
from tests.support.net import free_port

pytestmark = pytest.mark.slow


def urls_of(alice: Principal, run_id: str) -> list[str]:
    base = page_of(alice, "namespaces/shop/workflows/")
    return [base, f"{base}greet-ada/{run_id}/", f"{base}greet-ada/{run_id}/history.json"]


@pytest.fixture
def ada_run(engine: EngineProcess, shop: Namespace) -> str:
    greet(engine, shop, {"greet-ada": "Ada"})
    namespace_id = shop.namespace_id

    async def run_id() -> str:
        client = await sdk(engine, namespace_id)
        description = await client.get_workflow_handle("greet-ada").describe()
        return description.run_id

    return run(run_id)


def test_the_owner_sees_everything(alice: Principal, ada_run: str) -> None:
    client = browser_of(alice)
    for url in urls_of(alice, ada_run):
        assert client.get(url).status_code == 200, url


def test_it_rejects_outsider(alice: Principal, charlie: Principal, ada_run: str) -> None:
    client = browser_of(charlie)
    for url in urls_of(alice, ada_run):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"greet-ada" not in response.content
    # nor under Charlie's own account: the namespace name is Alice's
    own = page_of(charlie, "namespaces/shop/workflows/")
    assert client.get(own).status_code == 404


def test_it_rejects_member_without_grant(alice: Principal, bob: Principal, ada_run: str) -> None:
    client = browser_of(bob)
    for url in urls_of(alice, ada_run):
        response = client.get(url)
        assert response.status_code == 404, url
        assert says(response, "namespace 'shop' not found")


def test_a_read_grant_is_enough_to_look(alice: Principal, bob: Principal, queued: Queued, ada_run: str) -> None:
    assert bob.membership is not None
    member_id = bob.membership.public_id
    queued.commit(
        lambda: do_set_member_namespace_access(alice, member_id=member_id, namespace="shop", permission="read")
    )
    client = browser_of(bob)
    listing, detail, download = (client.get(url) for url in urls_of(alice, ada_run))
    assert listing.status_code == 200
    assert b"greet-ada" in listing.content
    assert detail.status_code == 200
    assert says(detail, 'Result "Hello, Ada!"')
    assert download.status_code == 200
    assert download["Content-Type"] == "application/json"


def test_a_page_that_needs_more_than_read_is_refused(
    alice: Principal, add_member: Callable[..., Principal], queued: Queued
) -> None:
    """Later pages (signal, cancel…) ask for Write: a reader sees the namespace but is refused."""
    queued.commit(lambda: do_create_namespace(alice, name="shop"))
    dana = add_member("dana@example.com", Role.DEVELOPER)
    assert dana.membership is not None
    member_id = dana.membership.public_id
    queued.commit(
        lambda: do_set_member_namespace_access(alice, member_id=member_id, namespace="shop", permission="read")
    )
    request = RequestFactory().get("/")
    request.user = dana.user  # type: ignore[assignment]
    assert isinstance(resolve(request, alice.account.account_id, "shop"), tuple)
    refused = resolve(request, alice.account.account_id, "shop", NamespacePermission.WRITE)
    assert isinstance(refused, HttpResponse)
    assert refused.status_code == 403
    assert says(refused, "you need Write permission on namespace 'shop' to do this")
    assert isinstance(resolve(request, alice.account.account_id, "shop", NamespacePermission.ADMIN), HttpResponse)
    allowed = resolve(request, alice.account.account_id, "shop", NamespacePermission.READ)
    assert isinstance(allowed, tuple)


def test_an_unreachable_engine_is_a_503_page(alice: Principal, queued: Queued, settings) -> None:
    queued.commit(lambda: do_create_namespace(alice, name="shop"))
    settings.SUNDIAL_ENGINE_ADDRESS = f"127.0.0.1:{free_port()}"  # nothing listens there
    client = browser_of(alice)
    listing = client.get(page_of(alice, "namespaces/shop/workflows/"))
    assert listing.status_code == 503
    assert says(listing, f"The workflow engine at {settings.SUNDIAL_ENGINE_ADDRESS} is unreachable")
    assert says(listing, "List Filter")  # the page itself still renders
    detail = client.get(page_of(alice, "namespaces/shop/workflows/greet-ada/4f2d1f0e-0000-4000-8000-000000000000/"))
    assert detail.status_code == 503
    assert says(detail, "The workflow engine is unavailable")
    assert says(detail, "is unreachable")


def test_signed_out_visitors_are_sent_to_sign_in(alice: Principal) -> None:
    from django.test import Client

    response = Client().get(page_of(alice, "namespaces/shop/workflows/"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
