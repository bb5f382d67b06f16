"""`sundial audit verify` passes on an untouched log and names the first bad entry after the
database is changed behind the application's back (raw SQL, as an intruder would)."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.models import AuditChain, AuditEntry
from audit.verify import verify_log
from tests.support.backends import process_databases

pytestmark = pytest.mark.django_db

TABLE = AuditEntry._meta.db_table


def sql(statement: str, *params: str | int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def verify() -> str:
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    return out.getvalue()


def verify_fails() -> str:
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("audit", "verify", stdout=out)
    assert failure.value.returncode == 1
    assert "audit log damaged in 1 of 2 accounts" in str(failure.value)
    return out.getvalue()


def test_an_untouched_log_is_intact(history: Callable[[], list[AuditEntry]]) -> None:
    history()
    assert verify().strip() == f"audit log intact: {AuditEntry.objects.count()} entries in 2 accounts"


def test_an_empty_installation_is_intact(db) -> None:
    assert verify().strip() == "audit log intact: 0 entries in 0 accounts"


def test_an_edited_entry_is_named(history: Callable[[], list[AuditEntry]]) -> None:
    target = history()[2]
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    sql(
        f"UPDATE {TABLE} SET details = %s{cast} WHERE log_id = %s",
        json.dumps({"name": "nothing to see"}),
        target.log_id,
    )

    out = verify_fails()

    assert f"account {target.account_code}: entry #{target.seq} (log_id {target.log_id}): edited" in out
    assert out.count("account ") == 1  # Charlie's account is fine and not mentioned


def test_an_edited_status_is_named(history: Callable[[], list[AuditEntry]]) -> None:
    target = history()[1]
    sql(f"UPDATE {TABLE} SET status = 'ERROR' WHERE log_id = %s", target.log_id)
    assert f"entry #{target.seq} (log_id {target.log_id}): edited" in verify_fails()


def test_a_deleted_middle_entry_is_named(history: Callable[[], list[AuditEntry]]) -> None:
    entries = history()
    gone, after = entries[2], entries[3]
    sql(f"DELETE FROM {TABLE} WHERE log_id = %s", gone.log_id)

    out = verify_fails()

    assert f"account {gone.account_code}: entry #{gone.seq}: deleted" in out
    assert f"log_id {after.log_id}" in out


def test_the_deleted_newest_entry_is_named(history: Callable[[], list[AuditEntry]]) -> None:
    newest = history()[-1]
    sql(f"DELETE FROM {TABLE} WHERE log_id = %s", newest.log_id)

    out = verify_fails()

    assert f"account {newest.account_code}: entry #{newest.seq}: head mismatch" in out
    assert "the newest entries were deleted" in out


def test_swapped_entries_are_named_as_reordered(history: Callable[[], list[AuditEntry]]) -> None:
    entries = history()
    first, second = entries[1], entries[2]
    sql(f"UPDATE {TABLE} SET seq = %s WHERE log_id = %s", 999_999, first.log_id)
    sql(f"UPDATE {TABLE} SET seq = %s WHERE log_id = %s", first.seq, second.log_id)
    sql(f"UPDATE {TABLE} SET seq = %s WHERE log_id = %s", second.seq, first.log_id)

    out = verify_fails()

    assert (
        f"entry #{first.seq} (log_id {second.log_id}): reordered: it was written as #{second.seq}, not #{first.seq}"
    ) in out


def test_an_entry_copied_over_another_is_named(history: Callable[[], list[AuditEntry]]) -> None:
    """Replacing an entry by a copy of a genuine one (with its hashes) breaks the chain too."""
    entries = history()
    victim, genuine = entries[3], entries[1]
    sql(
        f"UPDATE {TABLE} SET operation = %s, prev_hash = %s, entry_hash = %s WHERE log_id = %s",
        genuine.operation,
        genuine.prev_hash,
        genuine.entry_hash,
        victim.log_id,
    )
    assert f"entry #{victim.seq} (log_id {victim.log_id})" in verify_fails()


def test_a_forged_entry_past_the_head_is_named(history: Callable[[], list[AuditEntry]]) -> None:
    newest = history()[-1]
    forged = AuditEntry.objects.get(log_id=newest.log_id)
    forged.pk, forged.log_id, forged.seq = None, "f" * 32, newest.seq + 1
    forged.prev_hash, forged.operation = newest.entry_hash, "CreateUser"
    forged._state.adding = True  # a new row, as an intruder's INSERT would be
    forged.save()  # written without audit.services.record: the head never heard of it

    out = verify_fails()

    assert (
        f"entry #{newest.seq + 1} (log_id {'f' * 32}): inserted: it lies beyond the chain's head #{newest.seq}" in out
    )


def test_old_entries_deleted_by_moving_the_anchor_are_detected(history: Callable[[], list[AuditEntry]]) -> None:
    """An intruder who deletes the oldest entries and moves the anchor has no PurgeAuditLog entry."""
    entries = history()
    code = entries[0].account_code
    sql(f"DELETE FROM {TABLE} WHERE account_code = %s AND seq <= 2", code)
    AuditChain.objects.filter(account_code=code).update(anchor_seq=3, anchor_prev_hash=entries[1].entry_hash)

    out = verify_fails()

    assert f"account {code}: entry #2: deleted" in out
    assert "no PurgeAuditLog entry names that anchor" in out


def test_entries_of_an_account_whose_chain_head_is_gone_are_reported(history: Callable[[], list[AuditEntry]]) -> None:
    code = history()[0].account_code
    AuditChain.objects.filter(account_code=code).delete()

    report = verify_log()

    assert [p.kind for p in report.problems] == ["head mismatch"]
    assert report.problems[0].account_code == code
    assert "head is missing" in str(report.problems[0])


def test_one_account_can_be_checked_alone(history: Callable[[], list[AuditEntry]], charlie) -> None:
    entries = history()
    sql(f"DELETE FROM {TABLE} WHERE log_id = %s", entries[1].log_id)
    out = io.StringIO()
    call_command("audit", "verify", "--account", charlie.account.account_id, stdout=out)
    count = AuditEntry.objects.filter(account_code=charlie.account.account_id).count()
    assert out.getvalue().strip() == f"audit log intact: {count} entries in 1 accounts"


def test_an_unknown_account_is_an_error(db) -> None:
    with pytest.raises(CommandError, match="no audit log for account 'zzzzz'"):
        call_command("audit", "verify", "--account", "zzzzz")


# --- through the `sundial` command line, in its own process and database ----------------------


def _sundial(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloud.cli", *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def _raw_sql(env: dict[str, str], statement: str) -> None:
    url = env["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute(statement)
        return
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as db:
        db.execute(statement.encode())


@pytest.mark.slow
def test_sundial_audit_verify_exits_1_naming_an_edited_entry(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    with process_databases(tmp_path / "var") as databases:
        env = {**subprocess_env, **databases}
        assert _sundial(env, "manage", "migrate", "--noinput").returncode == 0
        assert _sundial(env, "demo").returncode == 0

        intact = _sundial(env, "audit", "verify")
        assert intact.returncode == 0, intact.stderr
        assert intact.stdout.strip() == "audit log intact: 1 entries in 1 accounts"

        _raw_sql(env, f"UPDATE {TABLE} SET principal_name = 'mallory@example.com' WHERE seq = 1")
        damaged = _sundial(env, "audit", "verify")

        assert damaged.returncode == 1
        assert re.search(r"account [a-z0-9]{5}: entry #1 \(log_id [0-9a-f]{32}\): edited", damaged.stdout)
        assert "audit log damaged in 1 of 1 accounts" in damaged.stderr
