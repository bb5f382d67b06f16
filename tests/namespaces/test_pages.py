"""Namespace pages: list and create, settings with certificates and search attributes, access,
deletion and the connection page, for Alice (Owner), Bob (Developer), a Read-Only member and
Charlie (another account's Owner).

Provisioning is not run here (the engine confirms in test_provisioning.py): a page-created
namespace stays ACTIVATING, and ``_activate`` leaves what a confirmed provisioning would.
``queued.commit`` runs a request's on-commit callbacks, so that a test sees what it would queue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from accounts.models import NamespaceGrant, NamespacePermission, Role
from accounts.principal import Principal
from namespaces.models import Namespace, NamespaceState
from namespaces.services import do_create_namespace
from namespaces.validation import NamespaceSpec
from tests.accounts.pages import browser_of, page_of, says, text
from tests.namespaces.conftest import Queued
from tests.support.certs import bundle, make_ca, make_leaf

FORM = {"retention_days": "30", "api_key_auth": "on"}


def _activate(namespace: Namespace) -> Namespace:
    """What a confirmed provisioning leaves behind."""
    namespace.refresh_from_db()
    Namespace.objects.filter(pk=namespace.pk).update(
        state=NamespaceState.ACTIVE, provisioned_search_attributes=namespace.search_attributes
    )
    namespace.refresh_from_db()
    return namespace


def _settings_of(namespace: Namespace, **changes: str) -> dict[str, str]:
    """The settings form as the page fills it in, with ``changes``."""
    data = {
        "retention_days": str(namespace.retention_days),
        "ca_bundle_pem": namespace.ca_bundle_pem,
        "codec_endpoint": namespace.codec_endpoint,
    }
    for flag in ("api_key_auth", "deletion_protection"):
        if getattr(namespace, flag):
            data[flag] = "on"
    return {**data, **changes}


@pytest.fixture
def orders(alice: Principal) -> Namespace:
    return _activate(do_create_namespace(alice, name="orders", spec=NamespaceSpec(retention_days=7)))


@pytest.fixture
def reader(add_member: Callable[..., Principal], orders: Namespace) -> Principal:
    """A Read-Only member with Read on orders."""
    rita = add_member("rita@example.com", Role.READ_ONLY)
    NamespaceGrant.objects.create(
        account=orders.account, membership=rita.membership, namespace="orders", permission=NamespacePermission.READ
    )
    return rita


def _pages(principal: Principal, name: str) -> list[str]:
    base = page_of(principal, f"namespaces/{name}/")
    return [base, f"{base}access/", f"{base}delete/", f"{base}connect/"]


# --- list and create --------------------------------------------------------------------------------


def test_owner_creates_a_namespace_and_sees_it_activating(alice: Principal, queued: Queued) -> None:
    client = browser_of(alice)
    assert "Create namespace" in text(client.get(page_of(alice, "namespaces/")))
    data = {
        "name": "payments",
        "retention_days": "14",
        "api_key_auth": "on",
        "codec_endpoint": "https://codec.example.com",
        "deletion_protection": "on",
    }
    response = queued.commit(lambda: client.post(page_of(alice, "namespaces/"), data, follow=True))
    namespace = Namespace.objects.get(account=alice.account)
    assert (namespace.name, namespace.retention_days, namespace.api_key_auth) == ("payments", 14, True)
    assert (namespace.codec_endpoint, namespace.deletion_protection) == ("https://codec.example.com", True)
    assert queued.provisioning == [namespace.pk]
    assert response.redirect_chain[-1][0] == page_of(alice, "namespaces/payments/")
    assert says(response, f"Namespace payments.{alice.account.account_id} is being created.")
    assert says(response, "State Activating")
    listed = text(client.get(page_of(alice, "namespaces/")))
    assert f"payments payments.{alice.account.account_id} Activating 14 days API keys" in listed


def test_the_nav_links_to_namespaces(alice: Principal) -> None:
    html = browser_of(alice).get(page_of(alice, "settings/")).content.decode()
    assert f'href="/a/{alice.account.account_id}/namespaces/">Namespaces</a>' in html


def test_a_failed_namespace_shows_its_last_error(alice: Principal, orders: Namespace) -> None:
    Namespace.objects.filter(pk=orders.pk).update(
        state=NamespaceState.ACTIVATION_FAILED, last_error="the engine refused: retention too long"
    )
    client = browser_of(alice)
    for page in (page_of(alice, "namespaces/"), page_of(alice, "namespaces/orders/")):
        assert says(client.get(page), "Activation failed — the engine refused: retention too long")


def test_a_ca_bundle_is_uploaded_and_its_expiry_shown(alice: Principal) -> None:
    expiry = datetime(2031, 5, 17, 12, tzinfo=UTC)
    root = make_ca("Orders Root CA", not_after=expiry)
    upload = SimpleUploadedFile("ca.pem", root.pem.encode(), content_type="application/x-pem-file")
    data = {**FORM, "name": "secure", "ca_bundle_file": upload}
    response = browser_of(alice).post(page_of(alice, "namespaces/"), data, follow=True)
    namespace = Namespace.objects.get(name="secure")
    assert namespace.mtls_enabled
    assert namespace.ca_bundle_pem.strip() == root.pem.strip()
    assert says(response, f"{root.subject} {root.subject} ")
    assert says(response, " 2031-05-17 ")
    assert says(response, "mTLS on (1 CA certificate)")


def test_a_pasted_ca_bundle_with_filters_and_no_api_keys(alice: Principal) -> None:
    root = make_ca("Root A")
    second = make_ca("Root B")
    data = {
        "name": "mtls-only",
        "retention_days": "30",
        "ca_bundle_pem": bundle(root, second),
        "cert_filters": "common_name=*.example.com; organization=Acme\n\norganizational_unit=ops",
    }
    response = browser_of(alice).post(page_of(alice, "namespaces/"), data, follow=True)
    namespace = Namespace.objects.get(name="mtls-only")
    assert namespace.api_key_auth is False
    assert [f["common_name"] for f in namespace.cert_filters] == ["*.example.com", ""]
    assert [f["organizational_unit"] for f in namespace.cert_filters] == ["", "ops"]
    assert says(response, "mTLS on (2 CA certificates)")
    assert says(response, "common_name= *.example.com organization= Acme")
    assert "CN=Root A" in text(response)
    assert "CN=Root B" in text(response)


def _seventeen() -> str:
    return bundle(*(make_ca(f"CA {number}") for number in range(17)))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Orders"}, "namespace name 'Orders' is not valid"),
        ({"name": "o"}, "namespace name 'o' is not valid"),
        ({"name": ""}, "namespace name '' is not valid"),
        ({"retention_days": "0"}, "retention must be 1–90 days, not 0"),
        ({"retention_days": "91"}, "retention must be 1–90 days, not 91"),
        ({"retention_days": ""}, "retention must be a whole number of days, not None"),
        ({"ca_bundle_pem": "leaf"}, "is not a CA certificate (basicConstraints CA:true is missing)"),
        ({"ca_bundle_pem": "17"}, "the CA bundle holds 17 certificates; at most 16 are accepted"),
        ({"ca_bundle_pem": "not pem"}, "the CA bundle is not PEM"),
        ({"api_key_auth": ""}, "a namespace needs API-key access, a CA bundle (mTLS), or both"),
        ({"cert_filters": "common_name=a"}, "certificate filters need a CA bundle"),
        ({"codec_endpoint": "http://codec.example.com"}, "must start with https://"),
    ],
)
def test_bad_namespaces_are_refused_on_the_form(
    alice: Principal, queued: Queued, data: dict[str, str], message: str
) -> None:
    if data.get("ca_bundle_pem") == "leaf":
        data = {**data, "ca_bundle_pem": make_leaf(make_ca()).pem}
    elif data.get("ca_bundle_pem") == "17":
        data = {**data, "ca_bundle_pem": _seventeen()}
    client = browser_of(alice)
    response = queued.commit(lambda: client.post(page_of(alice, "namespaces/"), {**FORM, "name": "fine", **data}))
    assert response.status_code == 400
    assert says(response, message)
    assert says(response, "Create namespace")
    assert not Namespace.objects.exists()
    assert queued.provisioning == []


def test_a_bad_filter_line_or_upload_is_refused_by_the_form(alice: Principal) -> None:
    client = browser_of(alice)
    response = client.post(page_of(alice, "namespaces/"), {**FORM, "name": "fine", "cert_filters": "acme"})
    assert response.status_code == 400
    assert says(response, "filter line 1: write field=value, not 'acme'")
    upload = SimpleUploadedFile("ca.der", b"\xff\xfe\x00binary")
    response = client.post(page_of(alice, "namespaces/"), {**FORM, "name": "fine", "ca_bundle_file": upload})
    assert response.status_code == 400
    assert says(response, "the uploaded CA bundle is not PEM text")
    assert not Namespace.objects.exists()


def test_a_duplicate_name_is_refused(alice: Principal, orders: Namespace) -> None:
    response = browser_of(alice).post(page_of(alice, "namespaces/"), {**FORM, "name": "orders"})
    assert response.status_code == 409
    assert says(response, "a namespace named 'orders' already exists")
    assert Namespace.objects.get().retention_days == 7


def test_each_person_lists_the_namespaces_they_may_see(
    alice: Principal, bob: Principal, reader: Principal, charlie: Principal, orders: Namespace
) -> None:
    do_create_namespace(bob, name="bobs")
    assert "orders" in text(browser_of(alice).get(page_of(alice, "namespaces/")))
    assert "bobs" in text(browser_of(alice).get(page_of(alice, "namespaces/")))
    bob_sees = text(browser_of(bob).get(page_of(bob, "namespaces/")))
    assert "bobs" in bob_sees
    assert "orders" not in bob_sees
    reader_sees = text(browser_of(reader).get(page_of(reader, "namespaces/")))
    assert "orders" in reader_sees
    assert "bobs" not in reader_sees
    assert "Create namespace" not in reader_sees
    charlie_sees = text(browser_of(charlie).get(page_of(charlie, "namespaces/")))
    assert "orders" not in charlie_sees
    assert "No namespaces yet" in charlie_sees


# --- tenant and role walls ----------------------------------------------------------------------------


def test_it_rejects_outsider(alice: Principal, charlie: Principal, orders: Namespace, queued: Queued) -> None:
    client = browser_of(charlie)
    assert client.get(page_of(alice, "namespaces/")).status_code == 404
    assert client.post(page_of(alice, "namespaces/"), {**FORM, "name": "evil"}).status_code == 404
    for owner in (alice, charlie):  # Alice's account, and Charlie's own account with Alice's name
        for page in _pages(owner, "orders"):
            assert client.get(page).status_code == 404
        base = page_of(owner, "namespaces/orders/")
        posts = {
            base: _settings_of(orders, retention_days="60"),
            f"{base}search-attributes/": {"name": "Evil", "type": "Keyword"},
            f"{base}access/": {"principal": f"user:{charlie.membership.public_id}", "permission": "admin"},  # type: ignore[union-attr]
            f"{base}delete/": {"confirm": "orders"},
        }
        for page, data in posts.items():
            assert queued.commit(partial(client.post, page, data)).status_code == 404
    orders.refresh_from_db()
    assert (orders.state, orders.retention_days, orders.search_attributes) == (NamespaceState.ACTIVE, 7, {})
    assert not NamespaceGrant.objects.filter(namespace="orders").exists()
    assert Namespace.objects.count() == 1
    assert queued.provisioning == []


def test_read_only_member_sees_no_write_controls_and_gets_403(
    reader: Principal, orders: Namespace, queued: Queued
) -> None:
    client = browser_of(reader)
    pages = dict(zip(("settings", "access", "delete", "connect"), _pages(reader, "orders"), strict=True))
    seen = {name: text(client.get(page)) for name, page in pages.items()}
    assert "7 days" in seen["settings"]
    for control in ("Save settings", "Add search attribute", "Delete"):
        assert control not in seen["settings"]
    assert "rita@example.com User Read" in seen["access"]
    for control in ("Change", "Revoke", "Grant access"):
        assert control not in seen["access"]
    assert "Only the namespace's Admins may delete it" in seen["delete"]
    assert "Delete namespace" not in seen["delete"]
    assert f"orders.{reader.account.account_id}" in seen["connect"]
    assert (
        queued.commit(lambda: client.post(page_of(reader, "namespaces/"), {**FORM, "name": "mine"})).status_code == 403
    )
    base = pages["settings"]
    refused = [
        client.post(base, _settings_of(orders, retention_days="60")),
        client.post(f"{base}search-attributes/", {"name": "CustomerId", "type": "Keyword"}),
        client.post(f"{base}access/", {"principal": f"user:{reader.membership.public_id}", "permission": "admin"}),  # type: ignore[union-attr]
        client.post(f"{base}delete/", {"confirm": "orders"}),
    ]
    assert [r.status_code for r in refused] == [403] * 4
    assert says(refused[0], "you need Namespace Admin on 'orders' to change it")
    orders.refresh_from_db()
    assert (orders.state, orders.retention_days, orders.search_attributes) == (NamespaceState.ACTIVE, 7, {})
    assert NamespaceGrant.objects.get(membership=reader.membership).permission == NamespacePermission.READ
    assert Namespace.objects.count() == 1


def test_a_developer_administers_what_they_create_but_not_others(
    bob: Principal, orders: Namespace, queued: Queued
) -> None:
    client = browser_of(bob)
    assert "Create namespace" in text(client.get(page_of(bob, "namespaces/")))
    client.post(page_of(bob, "namespaces/"), {**FORM, "name": "bobs"})
    bobs = _activate(Namespace.objects.get(name="bobs"))
    assert NamespaceGrant.objects.get(membership=bob.membership).permission == NamespacePermission.ADMIN
    assert "Save settings" in text(client.get(page_of(bob, "namespaces/bobs/")))
    response = client.post(page_of(bob, "namespaces/bobs/"), _settings_of(bobs, retention_days="45"), follow=True)
    assert says(response, "Namespace bobs is being updated.")
    bobs.refresh_from_db()
    assert (bobs.retention_days, bobs.state) == (45, NamespaceState.UPDATING)
    # Alice's namespace is invisible to Bob: 404, not 403.
    for page in _pages(bob, "orders"):
        assert client.get(page).status_code == 404
    assert client.post(page_of(bob, "namespaces/orders/"), _settings_of(orders, retention_days="60")).status_code == 404
    assert client.post(page_of(bob, "namespaces/orders/delete/"), {"confirm": "orders"}).status_code == 404
    # With Write on it he sees it but still may not change it.
    NamespaceGrant.objects.create(
        account=orders.account, membership=bob.membership, namespace="orders", permission=NamespacePermission.WRITE
    )
    assert "Save settings" not in text(client.get(page_of(bob, "namespaces/orders/")))
    assert client.post(page_of(bob, "namespaces/orders/"), _settings_of(orders, retention_days="60")).status_code == 403
    assert client.post(page_of(bob, "namespaces/orders/delete/"), {"confirm": "orders"}).status_code == 403
    orders.refresh_from_db()
    assert (orders.retention_days, orders.state) == (7, NamespaceState.ACTIVE)


# --- settings -------------------------------------------------------------------------------------------


def test_owner_changes_settings_and_certificates(alice: Principal, orders: Namespace, queued: Queued) -> None:
    root = make_ca("Orders CA", not_after=datetime(2030, 1, 2, tzinfo=UTC))
    data = _settings_of(
        orders,
        retention_days="60",
        ca_bundle_pem=root.pem,
        cert_filters="subject_alternative_name=worker*",
        codec_endpoint="http://localhost:8888",
        codec_pass_access_token="on",
        deletion_protection="on",
    )
    client = browser_of(alice)
    response = queued.commit(lambda: client.post(page_of(alice, "namespaces/orders/"), data, follow=True))
    assert says(response, "Namespace orders is being updated.")
    assert says(response, "State Updating")
    orders.refresh_from_db()
    assert (orders.retention_days, orders.deletion_protection, orders.codec_pass_access_token) == (60, True, True)
    assert orders.cert_filters[0]["subject_alternative_name"] == "worker*"
    assert queued.provisioning == [orders.pk]
    assert says(response, root.subject)
    assert says(response, "2030-01-02")


def test_an_expired_stored_certificate_is_shown_expired(alice: Principal, orders: Namespace) -> None:
    now = datetime.now(UTC)
    old = make_ca("Old CA", not_before=now - timedelta(days=400), not_after=now - timedelta(days=1))
    Namespace.objects.filter(pk=orders.pk).update(ca_bundle_pem=old.pem)
    response = browser_of(alice).get(page_of(alice, "namespaces/orders/"))
    assert says(response, f"{(now - timedelta(days=1)):%Y-%m-%d} expired")


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"retention_days": "0"}, 400, "retention must be 1–90 days, not 0"),
        ({"retention_days": "91"}, 400, "retention must be 1–90 days, not 91"),
        ({"retention_days": "abc"}, 400, "Enter a whole number"),
        ({"ca_bundle_pem": "leaf"}, 400, "is not a CA certificate"),
        ({"ca_bundle_pem": "17"}, 400, "the CA bundle holds 17 certificates"),
        ({"ca_bundle_pem": "root", "cert_filters": "common_name=a*b"}, 400, "may hold one '*', at its start or"),
        ({"ca_bundle_pem": "root", "cert_filters": "colour=blue"}, 400, "has unknown field 'colour'"),
        ({}, 400, "namespace 'orders' already has these settings; nothing to change"),
    ],
)
def test_bad_settings_change_nothing(
    alice: Principal, orders: Namespace, queued: Queued, changes: dict[str, str], status: int, message: str
) -> None:
    pem = {"leaf": make_leaf(make_ca()).pem, "17": _seventeen(), "root": make_ca().pem}
    if "ca_bundle_pem" in changes:
        changes = {**changes, "ca_bundle_pem": pem[changes["ca_bundle_pem"]]}
    client = browser_of(alice)
    response = queued.commit(lambda: client.post(page_of(alice, "namespaces/orders/"), _settings_of(orders, **changes)))
    assert response.status_code == status
    assert says(response, message)
    assert says(response, "Save settings")
    orders.refresh_from_db()
    assert (orders.state, orders.retention_days, orders.ca_bundle_pem) == (NamespaceState.ACTIVE, 7, "")
    assert queued.provisioning == []


def test_search_attributes_are_added_and_a_duplicate_refused(
    alice: Principal, orders: Namespace, queued: Queued
) -> None:
    client = browser_of(alice)
    page = page_of(alice, "namespaces/orders/search-attributes/")
    response = queued.commit(lambda: client.post(page, {"name": "CustomerId", "type": "Keyword"}, follow=True))
    assert says(response, "Search attribute CustomerId (Keyword) is being added to orders.")
    assert says(response, "CustomerId Keyword")
    assert queued.provisioning == [orders.pk]
    orders = _activate(orders)
    assert orders.search_attributes == {"CustomerId": "Keyword"}
    queued.clear()
    for data, message in [
        ({"name": "CustomerId", "type": "Keyword"}, "search attribute 'CustomerId' is listed twice"),
        ({"name": "CustomerId", "type": "Int"}, "search attribute 'CustomerId' is listed twice"),
        ({"name": "WorkflowId", "type": "Keyword"}, "is reserved by Temporal"),
        ({"name": "Amount", "type": "Money"}, "unknown type 'Money'"),
        ({"name": "", "type": "Int"}, "a search attribute needs a name"),
    ]:
        refused = queued.commit(partial(client.post, page, data))
        assert refused.status_code == 400
        assert says(refused, message)
        assert says(refused, "Add search attribute")
    orders.refresh_from_db()
    assert (orders.search_attributes, orders.state) == ({"CustomerId": "Keyword"}, NamespaceState.ACTIVE)
    assert queued.provisioning == []


def test_a_change_while_one_is_pending_is_refused(alice: Principal) -> None:
    browser_of(alice).post(page_of(alice, "namespaces/"), {**FORM, "name": "fresh"})
    response = browser_of(alice).post(
        page_of(alice, "namespaces/fresh/search-attributes/"), {"name": "Region", "type": "Keyword"}
    )
    assert response.status_code == 409
    assert says(response, "namespace 'fresh' is activating")
    assert Namespace.objects.get(name="fresh").search_attributes == {}


# --- access ---------------------------------------------------------------------------------------------


def test_owner_grants_changes_and_revokes_access(
    alice: Principal, bob: Principal, orders: Namespace, add_service_account: Callable[..., Principal]
) -> None:
    worker = add_service_account("worker", Role.READ_ONLY).service_account
    add_service_account("robot-admin", Role.GLOBAL_ADMIN)
    assert worker is not None
    assert bob.membership is not None
    client = browser_of(alice)
    page = page_of(alice, "namespaces/orders/access/")
    seen = text(client.get(page))
    assert "alice@example.com User Admin (inherited from Account Owner)" in seen
    assert "robot-admin Service account Admin (inherited from Global Admin)" in seen
    assert "bob@example.com" not in seen.split("Grant access")[0]  # not in the table yet, only offered

    response = client.post(page, {"principal": f"user:{bob.membership.public_id}", "permission": "write"}, follow=True)
    assert says(response, "bob@example.com now has Write on orders.")
    assert says(response, "bob@example.com User Write")
    client.post(page, {"principal": f"sa:{worker.public_id}", "permission": "read"})
    client.post(page, {"principal": f"user:{bob.membership.public_id}", "permission": "read"})
    grants = dict(
        NamespaceGrant.objects.filter(namespace="orders").values_list("membership__user__email", "permission")
    )
    assert grants == {"bob@example.com": "read", None: "read"}
    response = client.post(page, {"principal": f"user:{bob.membership.public_id}", "permission": "none"}, follow=True)
    assert says(response, "bob@example.com no longer has access to orders.")
    assert list(NamespaceGrant.objects.filter(namespace="orders").values_list("service_account__name", flat=True)) == [
        "worker"
    ]


def test_bad_access_changes_are_refused(
    alice: Principal, bob: Principal, charlie: Principal, orders: Namespace
) -> None:
    assert bob.membership is not None
    assert charlie.membership is not None
    assert alice.membership is not None
    client = browser_of(alice)
    page = page_of(alice, "namespaces/orders/access/")
    cases = [
        ({"principal": f"user:{bob.membership.public_id}", "permission": "owner"}, 400, "unknown namespace permission"),
        ({"principal": "", "permission": "read"}, 400, "choose a user or service account"),
        ({"principal": "group:x", "permission": "read"}, 400, "choose a user or service account"),
        ({"principal": f"user:{charlie.membership.public_id}", "permission": "read"}, 404, "not found"),
        ({"principal": "sa:nobody", "permission": "read"}, 404, "service account 'nobody' not found"),
        (
            {"principal": f"user:{alice.membership.public_id}", "permission": "read"},
            409,
            "is Account Owner and so Namespace Admin everywhere already",
        ),
    ]
    for data, status, message in cases:
        response = client.post(page, data)
        assert response.status_code == status, data
        assert says(response, message), data
        if status == 400:  # the form comes back still offering whom to grant
            assert f'value="user:{bob.membership.public_id}"' in response.content.decode()
    assert not NamespaceGrant.objects.filter(namespace="orders").exists()


def test_a_developer_namespace_admin_manages_access_to_their_namespace(
    alice: Principal, bob: Principal, add_member: Callable[..., Principal]
) -> None:
    do_create_namespace(bob, name="bobs")
    dana = add_member("dana@example.com", Role.DEVELOPER)
    assert dana.membership is not None
    client = browser_of(bob)
    page = page_of(bob, "namespaces/bobs/access/")
    assert "Grant access" in text(client.get(page))
    client.post(page, {"principal": f"user:{dana.membership.public_id}", "permission": "write"})
    assert NamespaceGrant.objects.get(membership=dana.membership).permission == NamespacePermission.WRITE
    # Dana (Write) sees the namespace and who may use it, but may not change access.
    dana_client = browser_of(dana)
    assert "Revoke" not in text(dana_client.get(page))
    refused = dana_client.post(page, {"principal": f"user:{dana.membership.public_id}", "permission": "admin"})
    assert refused.status_code == 403
    assert NamespaceGrant.objects.get(membership=dana.membership).permission == NamespacePermission.WRITE


# --- deletion -------------------------------------------------------------------------------------------


def test_owner_deletes_a_namespace_by_typing_its_name(alice: Principal, orders: Namespace, queued: Queued) -> None:
    client = browser_of(alice)
    page = page_of(alice, "namespaces/orders/delete/")
    assert "Delete namespace orders" in text(client.get(page))
    for confirm in ("", "order", "ORDERS", orders.namespace_id):
        refused = queued.commit(partial(client.post, page, {"confirm": confirm}))
        assert refused.status_code == 400
        assert says(refused, "type the namespace name (orders) to confirm its deletion")
    orders.refresh_from_db()
    assert orders.state == NamespaceState.ACTIVE
    assert queued.provisioning == []
    response = queued.commit(lambda: client.post(page, {"confirm": "orders"}, follow=True))
    assert response.redirect_chain[-1][0] == page_of(alice, "namespaces/")
    assert says(response, f"Namespace orders.{alice.account.account_id} is being deleted.")
    assert says(response, f"orders {orders.namespace_id} Deleting")
    assert queued.provisioning == [orders.pk]


def test_a_protected_namespace_is_not_deleted(alice: Principal, queued: Queued) -> None:
    _activate(do_create_namespace(alice, name="keep", spec=NamespaceSpec(deletion_protection=True)))
    client = browser_of(alice)
    page = page_of(alice, "namespaces/keep/delete/")
    seen = text(client.get(page))
    assert "Deletion protection is on" in seen
    assert "Delete namespace keep" not in seen
    refused = queued.commit(lambda: client.post(page, {"confirm": "keep"}))
    assert refused.status_code == 409
    assert says(refused, "namespace 'keep' has deletion protection on; switch it off before deleting")
    assert Namespace.objects.get(name="keep").state == NamespaceState.ACTIVE
    assert queued.provisioning == []


# --- connecting -----------------------------------------------------------------------------------------


@override_settings(SUNDIAL_ENGINE_ADDRESS="engine.internal:7233")
def test_the_connect_page_has_snippets_with_the_namespace_id(alice: Principal, orders: Namespace) -> None:
    response = browser_of(alice).get(page_of(alice, "namespaces/orders/connect/"))
    namespace_id = f"orders.{alice.account.account_id}"
    page = response.content.decode()
    seen = text(response)
    assert "Endpoint engine.internal:7233" in seen
    assert f"Namespace id {namespace_id}" in seen
    assert f"namespace=&quot;{namespace_id}&quot;" in page  # escaped in HTML, copied as text
    assert 'api_key=os.environ["SUNDIAL_API_KEY"], tls=False,' in seen
    assert "address: 'engine.internal:7233', tls: false, apiKey: process.env.SUNDIAL_API_KEY," in seen
    assert f"new Client({{ connection, namespace: '{namespace_id}' }});" in seen
    assert f'tls=TLSConfig( domain="{namespace_id}.sundial.localhost", client_cert=Path("client.pem")' in seen
    assert f"serverNameOverride: '{namespace_id}.sundial.localhost'," in seen
    assert 'client_private_key=Path("client.key").read_bytes(),' in seen
    assert "clientCertPair: { crt: readFileSync('client.pem'), key: readFileSync('client.key'), }," in seen
    assert page.count("data-copy=") == 4
    assert "accepts no client certificates yet" in seen


@override_settings(
    SUNDIAL_ENGINE_PUBLIC_ADDRESS="sundial.example.com:443",
    SUNDIAL_ENGINE_PUBLIC_TLS=True,
    SUNDIAL_ENGINE_TLS_NAMESPACE_SUFFIX="ns.sundial.example.com",
)
def test_the_connect_page_prefers_the_public_address(alice: Principal, orders: Namespace) -> None:
    seen = text(browser_of(alice).get(page_of(alice, "namespaces/orders/connect/")))
    assert "Endpoint sundial.example.com:443" in seen
    assert "tls=True" in seen
    assert "tls: true" in seen
    assert f'domain="orders.{alice.account.account_id}.ns.sundial.example.com"' in seen


def test_it_sends_signed_out_visitors_to_sign_in(alice: Principal, orders: Namespace) -> None:
    for page in [page_of(alice, "namespaces/"), *_pages(alice, "orders")]:
        response = Client().get(page)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]
