"""Reading the log: filters, one account only, Owners and Global Admins only; the export formats."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from accounts.errors import InvalidInput, PermissionDenied
from accounts.models import Role
from accounts.principal import Principal, principal_for_api_key
from accounts.services.api_keys import do_create_api_key
from accounts.services.service_accounts import do_create_service_account
from audit.export import CSV_COLUMNS, csv_lines, jsonl_lines
from audit.models import AuditEntry
from audit.selectors import audit_entry_list, audit_operation_names
from tests.accounts.conftest import in_days

pytestmark = pytest.mark.django_db


def operations(entries) -> list[str]:
    return [e.operation for e in entries]


def test_the_log_is_newest_first_and_only_the_callers_account(
    alice: Principal, charlie: Principal, history: Callable[[], list[AuditEntry]]
) -> None:
    mine = history()
    listed = list(audit_entry_list(principal=alice))
    assert [e.log_id for e in listed] == [e.log_id for e in reversed(mine)]
    assert {e.account_code for e in audit_entry_list(principal=charlie)} == {charlie.account.account_id}
    assert not set(e.log_id for e in audit_entry_list(principal=charlie)) & {e.log_id for e in mine}


def test_filters_by_operation_status_and_actor(alice: Principal, bob: Principal, history) -> None:
    history()
    with pytest.raises(PermissionDenied):
        do_create_service_account(bob, name="nope")

    assert set(operations(audit_entry_list(principal=alice, operation="CreateAPIKey"))) == {"CreateAPIKey"}
    assert len(audit_entry_list(principal=alice, operation="CreateAPIKey")) == 2
    errors = list(audit_entry_list(principal=alice, status="error"))
    assert operations(errors) == ["CreateServiceAccount"]
    by_bob = list(audit_entry_list(principal=alice, actor="BOB@example"))
    assert {e.principal_name for e in by_bob} == {"bob@example.com"}
    assert len(by_bob) == 2
    by_id = audit_entry_list(principal=alice, actor=bob.public_id)
    assert {e.principal_name for e in by_id} == {"bob@example.com"}
    assert audit_entry_list(principal=alice, actor="nobody-at-all").count() == 0


def test_filters_by_time_range(alice: Principal, history) -> None:
    entries = history()
    middle = entries[2]
    after = list(audit_entry_list(principal=alice, start=middle.emitted_at, newest_first=False))
    assert after[0].seq == middle.seq
    before = list(audit_entry_list(principal=alice, end=middle.emitted_at, newest_first=False))
    assert [e.seq for e in before] == [e.seq for e in entries if e.emitted_at < middle.emitted_at]


def test_the_operations_offered_are_those_in_the_log(alice: Principal, charlie: Principal, history) -> None:
    history()
    names = audit_operation_names(principal=alice)
    assert names == sorted(names)
    assert {"CreateAccount", "CreateServiceAccount", "CreateAPIKey", "UpdateAccount"} <= set(names)
    assert "CreateServiceAccount" in audit_operation_names(principal=charlie)


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.READ_ONLY, Role.FINANCE_ADMIN, Role.METRICS_READ_ONLY])
def test_only_owners_and_global_admins_read_the_log(add_member, role: Role) -> None:
    member = add_member(f"{role.value}@example.com", role)
    with pytest.raises(PermissionDenied, match="Account Owner or a Global Admin"):
        audit_entry_list(principal=member)
    with pytest.raises(PermissionDenied):
        audit_operation_names(principal=member)


def test_a_global_admin_reads_the_log(add_member, history) -> None:
    history()
    admin = add_member("gail@example.com", Role.GLOBAL_ADMIN)
    assert audit_entry_list(principal=admin).exists()


def test_bad_filters_are_refused_clearly(alice: Principal, history) -> None:
    entries = history()
    moment = entries[0].emitted_at
    with pytest.raises(InvalidInput, match="status must be one of OK, ERROR"):
        audit_entry_list(principal=alice, status="maybe")
    with pytest.raises(InvalidInput, match="end of the time range must be after its start"):
        audit_entry_list(principal=alice, start=moment, end=moment - timedelta(seconds=1))
    with pytest.raises(InvalidInput, match="needs a time zone"):
        audit_entry_list(principal=alice, start=moment.replace(tzinfo=None))
    with pytest.raises(InvalidInput, match="at most 320 characters"):
        audit_entry_list(principal=alice, actor="x" * 321)


def test_csv_export_has_a_header_and_one_row_per_entry(alice: Principal, history) -> None:
    entries = history()
    rows = list(csv.reader(io.StringIO("".join(csv_lines(audit_entry_list(principal=alice, newest_first=False))))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r[CSV_COLUMNS.index("log_id")] for r in rows[1:]] == [e.log_id for e in entries]
    first = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    assert first["operation"] == "CreateAccount"
    assert json.loads(first["details"]) == {"name": "Alice Co"}


def test_csv_cells_that_look_like_formulas_are_defused(alice: Principal) -> None:
    """A service account named like a spreadsheet formula acts; its name is exported inert."""
    sa = do_create_service_account(alice, name='=HYPERLINK("http://evil")', role=Role.DEVELOPER)
    _, token = do_create_api_key(
        alice, display_name="k", expires_at=in_days(1), owner_type="service_account", owner_id=sa.public_id
    )
    do_create_api_key(principal_for_api_key(token), display_name="rotated", expires_at=in_days(1))

    text = "".join(csv_lines(audit_entry_list(principal=alice, actor=sa.public_id)))

    row = dict(zip(CSV_COLUMNS, list(csv.reader(io.StringIO(text)))[1], strict=True))
    assert row["principal_name"] == '\'=HYPERLINK("http://evil")'


def test_json_lines_parse_as_temporal_log_records(alice: Principal, history) -> None:
    entries = history()
    lines = list(jsonl_lines(audit_entry_list(principal=alice, newest_first=False)))
    records = [json.loads(line) for line in lines]
    assert all(line.endswith("\n") for line in lines)
    assert [r["log_id"] for r in records] == [e.log_id for e in entries]
    key = next(r for r in records if r["operation"] == "CreateAPIKey" and r["principal"]["name"] == "bob@example.com")
    assert key["version"] == 2
    assert key["status"] == "OK"
    assert key["principal"]["type"] == "user"
    assert key["emit_time"].endswith("Z")
    assert key["target"]["type"] == "api_key"
