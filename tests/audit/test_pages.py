"""The audit log page and its exports, as Alice (Owner), Bob (member) and Charlie (outsider) see them."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import warnings
from collections.abc import Callable

import pytest
from asgiref.sync import async_to_sync
from django.http import StreamingHttpResponse
from django.test import AsyncClient, Client

from accounts.models import Role
from accounts.principal import Principal
from accounts.services.service_accounts import do_create_service_account
from audit.export import CSV_COLUMNS
from audit.models import AuditEntry
from audit.views import PAGE_SIZE

pytestmark = pytest.mark.django_db


def browser_of(principal: Principal) -> Client:
    client = Client()
    assert principal.user is not None
    client.force_login(principal.user)
    return client


def audit_url(principal: Principal, rest: str = "") -> str:
    return f"/a/{principal.account.account_id}/audit/{rest}"


def text(body: bytes) -> str:
    plain = html.unescape(re.sub(r"<[^>]+>", " ", body.decode()))
    return " ".join(plain.split())


def streamed(response: object) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)  # type: ignore[arg-type]


def table_rows(body: bytes) -> list[str]:
    tbody = re.search(r"<tbody>(.*?)</tbody>", body.decode(), re.S)
    assert tbody
    return [text(row.encode()) for row in re.findall(r"<tr>(.*?)</tr>", tbody.group(1), re.S)]


def test_the_owner_sees_every_entry_newest_first_with_its_details(
    alice: Principal, history: Callable[[], list[AuditEntry]]
) -> None:
    entries = history()
    response = browser_of(alice).get(audit_url(alice))

    assert response.status_code == 200
    rows = table_rows(response.content)
    assert len(rows) == len(entries)
    assert "UpdateAccount" in rows[0]
    assert "CreateAccount" in rows[-1]
    key_row = next(r for r in rows if "CreateAPIKey" in r and "bob@example.com" in r)
    key_entry = next(e for e in entries if e.operation == "CreateAPIKey" and e.principal_name == "bob@example.com")
    assert key_entry.target_id in key_row
    assert "OK" in key_row
    assert '"name": "Alice Company"' in rows[0]


def test_filters_narrow_the_page_and_carry_into_the_export_links(alice: Principal, history) -> None:
    history()
    browser = browser_of(alice)

    response = browser.get(audit_url(alice), {"operation": "CreateAPIKey", "actor": "bob"})

    rows = table_rows(response.content)
    assert len(rows) == 1
    assert "bob@example.com" in rows[0]
    page = response.content.decode()
    assert f'{audit_url(alice, "export.csv")}?operation=CreateAPIKey&amp;actor=bob"' in page
    assert f'{audit_url(alice, "export.jsonl")}?operation=CreateAPIKey&amp;actor=bob"' in page


def test_status_and_date_filters(alice: Principal, bob: Principal, history) -> None:
    entries = history()
    with pytest.raises(Exception, match="may not"):
        do_create_service_account(bob, name="nope")
    browser = browser_of(alice)

    errors = table_rows(browser.get(audit_url(alice), {"status": "ERROR"}).content)
    assert len(errors) == 1
    assert "bob@example.com" in errors[0]
    day = entries[0].emitted_at.date().isoformat()
    all_today = table_rows(browser.get(audit_url(alice), {"date_from": day, "date_to": day}).content)
    assert len(all_today) == len(entries) + 1
    assert "No entries match" in text(browser.get(audit_url(alice), {"date_to": "2000-01-01"}).content)


def test_long_logs_are_paged(alice: Principal) -> None:
    for i in range(PAGE_SIZE + 5):
        do_create_service_account(alice, name=f"bot-{i:03d}")
    browser = browser_of(alice)

    first = browser.get(audit_url(alice), {"operation": "CreateServiceAccount"})
    assert len(table_rows(first.content)) == PAGE_SIZE
    assert "Page 1 of 2" in text(first.content)
    assert f"bot-{PAGE_SIZE + 4:03d}" in text(first.content)

    second = browser.get(audit_url(alice), {"operation": "CreateServiceAccount", "page": "2"})
    assert len(table_rows(second.content)) == 5
    assert "bot-000" in text(second.content)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"date_from": "yesterday"}, "Enter a valid date."),
        ({"date_from": "2026-02-02", "date_to": "2026-02-01"}, "the 'To' date must not be before the 'From' date"),
        ({"operation": "DropTables"}, "Select a valid choice."),
        ({"status": "MAYBE"}, "Select a valid choice."),
        ({"actor": "x" * 400}, "Ensure this value has at most 320 characters"),
    ],
)
def test_bad_filters_show_the_reason_and_no_entries(alice: Principal, history, query: dict, message: str) -> None:
    history()
    response = browser_of(alice).get(audit_url(alice), query)
    assert response.status_code == 400
    assert message in text(response.content)
    assert "<tbody>" not in response.content.decode()


def test_an_outsider_gets_404(alice: Principal, charlie: Principal, history) -> None:
    history()
    browser = browser_of(charlie)
    for rest in ("", "export.csv", "export.jsonl"):
        assert browser.get(audit_url(alice, rest)).status_code == 404


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.READ_ONLY, Role.FINANCE_ADMIN])
def test_members_who_are_not_admins_get_403(add_member, alice: Principal, history, role: Role) -> None:
    history()
    member = add_member(f"{role.value}@example.com", role)
    browser = browser_of(member)

    page = browser.get(audit_url(alice))
    assert page.status_code == 403
    assert "Only an Account Owner or a Global Admin may read the audit log." in text(page.content)
    for rest in ("export.csv", "export.jsonl"):
        response = browser.get(audit_url(alice, rest))
        assert response.status_code == 403
        assert b"alice@example.com" not in response.content


def test_a_global_admin_sees_the_page(add_member, alice: Principal, history) -> None:
    history()
    admin = add_member("gail@example.com", Role.GLOBAL_ADMIN)
    assert browser_of(admin).get(audit_url(alice)).status_code == 200


def test_a_signed_out_visitor_is_sent_to_sign_in(alice: Principal) -> None:
    response = Client().get(audit_url(alice))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_csv_export_has_the_header_and_the_filtered_rows(alice: Principal, charlie: Principal, history) -> None:
    entries = history()
    response = browser_of(alice).get(audit_url(alice, "export.csv"), {"actor": "alice@example.com"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        rf'attachment; filename="audit-{alice.account.account_id}-\d{{8}}T\d{{6}}Z\.csv"',
        response["Content-Disposition"],
    )
    rows = list(csv.reader(io.StringIO(streamed(response).decode())))
    assert tuple(rows[0]) == CSV_COLUMNS
    expected = [e.log_id for e in entries if e.principal_name == "alice@example.com"]
    assert [r[CSV_COLUMNS.index("log_id")] for r in rows[1:]] == expected  # oldest first
    assert {r[CSV_COLUMNS.index("account_id")] for r in rows[1:]} == {alice.account.account_id}


def test_the_json_lines_export_parses_and_holds_only_the_accounts_entries(
    alice: Principal, charlie: Principal, history
) -> None:
    entries = history()
    response = browser_of(alice).get(audit_url(alice, "export.jsonl"))

    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    records = [json.loads(line) for line in streamed(response).decode().splitlines()]
    assert [r["log_id"] for r in records] == [e.log_id for e in entries]
    assert "charlie@example.com" not in json.dumps(records)

    charlie_export = browser_of(charlie).get(audit_url(charlie, "export.jsonl"))
    theirs = [json.loads(line) for line in streamed(charlie_export).decode().splitlines()]
    assert theirs
    assert {r["account_id"] for r in theirs} == {charlie.account.account_id}


def test_an_export_with_bad_filters_is_refused(alice: Principal, history) -> None:
    history()
    response = browser_of(alice).get(audit_url(alice, "export.csv"), {"date_from": "soon"})
    assert response.status_code == 400
    assert "date_from: Enter a valid date." in response.content.decode()


def test_the_export_streams_under_asgi(alice: Principal, history) -> None:
    """Under daphne the export is fed in batches from the request's thread (no warning, all rows)."""
    entries = history()

    async def fetch() -> tuple[int, bytes]:
        client = AsyncClient()
        assert alice.user is not None
        await client.aforce_login(alice.user)
        response = await client.get(audit_url(alice, "export.jsonl"))
        assert isinstance(response, StreamingHttpResponse)
        body = b"".join([bytes(part) async for part in response.streaming_content])
        return response.status_code, body

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status, body = async_to_sync(fetch)()

    assert not [w for w in caught if "must consume" in str(w.message)]  # it was not gathered whole first
    assert status == 200
    assert [json.loads(line)["log_id"] for line in body.decode().splitlines()] == [e.log_id for e in entries]
