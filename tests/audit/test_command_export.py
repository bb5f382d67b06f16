"""`sundial audit export`: an operator writes one account's log as CSV or JSON lines."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.principal import Principal
from accounts.services.accounts import do_delete_account
from audit.export import CSV_COLUMNS
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("audit", "export", *args, stdout=out)
    return out.getvalue()


def test_csv_of_one_account(alice: Principal, history) -> None:
    entries = history()
    rows = list(csv.reader(io.StringIO(export("--account", alice.account.account_id, "--format", "csv"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r[CSV_COLUMNS.index("log_id")] for r in rows[1:]] == [e.log_id for e in entries]


def test_json_lines_since_a_moment(alice: Principal, history) -> None:
    entries = history()
    since = entries[3].emitted_at.isoformat()
    records = [
        json.loads(line) for line in export("--account", alice.account.account_id, "--since", since).splitlines()
    ]
    assert [r["log_id"] for r in records] == [e.log_id for e in entries[3:]]


def test_until_a_date_excludes_that_day(alice: Principal, history) -> None:
    entries = history()
    today = entries[0].emitted_at.date()
    code = alice.account.account_id
    assert export("--account", code, "--until", today.isoformat()) == ""
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert len(export("--account", code, "--until", tomorrow).splitlines()) == len(entries)


def test_to_a_file(alice: Principal, history, tmp_path: Path) -> None:
    entries = history()
    target = tmp_path / "audit.csv"
    assert export("--account", alice.account.account_id, "--format", "csv", "--output", str(target)) == ""
    rows = list(csv.reader(target.open(newline="", encoding="utf-8")))
    assert len(rows) == len(entries) + 1


def test_a_deleted_accounts_log_can_still_be_exported(alice: Principal) -> None:
    code = alice.account.account_id
    do_delete_account(alice, confirm_account_id=code)
    operations = [json.loads(line)["operation"] for line in export("--account", code).splitlines()]
    assert operations == ["CreateAccount", "DeleteAccount"]
    assert AuditEntry.objects.filter(account_code=code).count() == 2


def test_an_unknown_account_is_refused(db) -> None:
    with pytest.raises(CommandError, match="no audit log for account 'nope1'"):
        export("--account", "nope1")


def test_a_bad_since_is_refused(alice: Principal) -> None:
    with pytest.raises(CommandError, match=r"--since must be a date \(2026-01-31\) or an ISO date-time, not 'soon'"):
        export("--account", alice.account.account_id, "--since", "soon")
    with pytest.raises(CommandError, match="--until must be a date"):
        export("--account", alice.account.account_id, "--until", "2026-13-45")


def test_a_bad_format_is_refused(alice: Principal) -> None:
    with pytest.raises(CommandError, match="invalid choice: 'xml'"):
        export("--account", alice.account.account_id, "--format", "xml")
