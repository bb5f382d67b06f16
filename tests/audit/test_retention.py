"""Retention deletes the oldest entries, moves the chain's anchor, and says so in the chain."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from celery import current_app
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from accounts.principal import Principal
from accounts.services.accounts import do_delete_account, do_update_account
from audit.models import AuditChain, AuditEntry
from audit.retention import purge_account, purge_expired
from audit.tasks import apply_retention
from audit.verify import verify_log

pytestmark = pytest.mark.django_db


def days_after(moment: datetime, days: int) -> datetime:
    """The 'now' at which ``moment`` is exactly ``days`` old."""
    return moment + timedelta(days=days)


def test_entries_past_retention_go_and_the_log_still_verifies(
    alice: Principal, history: Callable[[], list[AuditEntry]]
) -> None:
    entries = history()
    keep_from = entries[3]
    retention = alice.account.audit_retention_days

    purges = purge_expired(now=days_after(keep_from.emitted_at, retention))

    code = alice.account.account_id
    assert [(p.account_code, p.deleted, p.anchor_seq) for p in purges if p.account_code == code] == [
        (code, 3, keep_from.seq)
    ]
    remaining = list(AuditEntry.objects.filter(account_code=code).order_by("seq"))
    assert remaining[0].log_id == keep_from.log_id
    purge = remaining[-1]
    assert purge.operation == "PurgeAuditLog"
    assert purge.details["anchor_seq"] == keep_from.seq
    assert purge.details["deleted_entries"] == 3
    assert purge.principal_type == "system"
    chain = AuditChain.objects.get(account_code=code)
    assert (chain.anchor_seq, chain.anchor_prev_hash) == (keep_from.seq, keep_from.prev_hash)
    report = verify_log()
    assert report.intact, report.problems


def test_a_second_run_deletes_nothing_and_writes_nothing(history: Callable[[], list[AuditEntry]]) -> None:
    entries = history()
    now = days_after(entries[2].emitted_at, 365)
    purge_expired(now=now)
    count = AuditEntry.objects.count()

    assert purge_expired(now=now) == []
    assert AuditEntry.objects.count() == count


def test_purging_everything_leaves_only_the_purge_entry_and_verifies(alice: Principal, history) -> None:
    history()
    code = alice.account.account_id
    purge_account(code, retention_days=30, now=timezone.now() + timedelta(days=31))

    assert list(AuditEntry.objects.filter(account_code=code).values_list("operation", flat=True)) == ["PurgeAuditLog"]
    assert verify_log().intact


def test_purges_repeat_and_the_log_keeps_verifying(alice: Principal, history) -> None:
    entries = history()
    code = alice.account.account_id
    purge_account(code, retention_days=30, now=days_after(entries[1].emitted_at, 30))
    purge_account(code, retention_days=30, now=days_after(entries[4].emitted_at, 30))

    operations = list(AuditEntry.objects.filter(account_code=code).order_by("seq").values_list("operation", flat=True))
    assert operations.count("PurgeAuditLog") == 2
    assert verify_log().intact


def test_each_account_keeps_its_own_retention(alice: Principal, charlie: Principal, history) -> None:
    history()
    do_update_account(alice, audit_retention_days=30)
    in_40_days = timezone.now() + timedelta(days=40)

    purged = {p.account_code for p in purge_expired(now=in_40_days)}

    assert purged == {alice.account.account_id}  # Charlie keeps the default 365 days
    assert verify_log().intact


def test_a_deleted_accounts_log_is_kept_for_the_default_retention(alice: Principal, history) -> None:
    history()
    code = alice.account.account_id
    do_update_account(alice, audit_retention_days=30)
    do_delete_account(alice, confirm_account_id=code)

    assert purge_expired(now=timezone.now() + timedelta(days=40)) == []
    assert {p.account_code for p in purge_expired(now=timezone.now() + timedelta(days=366))} >= {code}


def test_the_purge_command_applies_retention_now(alice: Principal, history, monkeypatch) -> None:
    history()
    out = io.StringIO()
    call_command("audit", "purge", stdout=out)
    assert out.getvalue().strip() == "audit retention: nothing to delete"

    do_update_account(alice, audit_retention_days=30)
    later = timezone.now() + timedelta(days=31)
    monkeypatch.setattr(timezone, "now", lambda: later)  # the clock moves on a month
    out = io.StringIO()
    call_command("audit", "purge", stdout=out)

    assert f"account {alice.account.account_id}: deleted" in out.getvalue()
    assert "audit retention: deleted" in out.getvalue()


def test_the_celery_task_applies_retention(alice: Principal, history, monkeypatch) -> None:
    history()
    do_update_account(alice, audit_retention_days=30)
    later = timezone.now() + timedelta(days=31)
    monkeypatch.setattr(timezone, "now", lambda: later)

    result = apply_retention.apply().get()

    assert set(result) == {alice.account.account_id}
    assert apply_retention.apply().get() == {}  # idempotent


@pytest.mark.django_db(transaction=True)  # the scheduler closes and reopens database connections
def test_beat_runs_retention_daily() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["audit-retention"]
    assert entry["task"] == apply_retention.name == "audit.apply_retention"
    assert apply_retention.name in current_app.tasks

    DatabaseScheduler(app=current_app)  # what `sundial beat` starts with

    task = PeriodicTask.objects.get(name="audit-retention")
    assert task.task == "audit.apply_retention"
    assert task.enabled
    assert task.crontab is not None
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_month) == ("17", "3", "*")
