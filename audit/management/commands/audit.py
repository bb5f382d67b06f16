"""``sundial audit verify | export | purge``: the operator's tools for the audit log.

These act as the operator of the installation, not as a member of an account: ``export``
reads any account's log (also a deleted account's, which outlives it).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_date, parse_datetime

from audit.export import FORMATS
from audit.models import AuditChain, AuditEntry
from audit.retention import purge_expired
from audit.verify import verify_log


def parse_when(text: str, option: str) -> datetime:
    """An ISO date (midnight UTC) or date-time (UTC unless it names its zone)."""
    value = text.strip()
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = datetime.combine(day, time.min) if day is not None else None
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(f"{option} must be a date (2026-01-31) or an ISO date-time, not {text!r}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "The audit log: verify its hash chains, export an account's log, apply retention now."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="{verify,export,purge}")
        verify = commands.add_parser(
            "verify", help="check every account's hash chain; exit 1 naming the first bad entry"
        )
        verify.add_argument("--account", default=None, help="check only this account id")
        export = commands.add_parser("export", help="write one account's log as CSV or JSON lines (oldest first)")
        export.add_argument("--account", required=True, help="the account id")
        export.add_argument("--format", choices=sorted(FORMATS), default="jsonl")
        export.add_argument("--since", default=None, help="only entries at or after this date/date-time (UTC)")
        export.add_argument("--until", default=None, help="only entries before this date/date-time (UTC)")
        export.add_argument("--output", default=None, help="write to this file instead of standard output")
        commands.add_parser("purge", help="delete entries older than each account's retention now")

    def handle(self, *args: Any, **options: Any) -> None:
        subcommand = options["subcommand"]
        if subcommand == "verify":
            self.verify(options["account"])
        elif subcommand == "export":
            self.export(options)
        else:
            self.purge()

    def verify(self, account: str | None) -> None:
        report = verify_log(account_code=account)
        if account is not None and report.accounts == 0:
            raise CommandError(f"no audit log for account {account!r}")
        for problem in report.problems:
            self.stdout.write(str(problem))
        if not report.intact:
            raise CommandError(report.summary(), returncode=1)
        self.stdout.write(report.summary())

    def export(self, options: dict[str, Any]) -> None:
        account = options["account"].strip()
        if not AuditChain.objects.filter(account_code=account).exists():
            raise CommandError(f"no audit log for account {account!r}")
        entries = AuditEntry.objects.filter(account_code=account).order_by("seq")
        if options["since"]:
            entries = entries.filter(emitted_at__gte=parse_when(options["since"], "--since"))
        if options["until"]:
            entries = entries.filter(emitted_at__lt=parse_when(options["until"], "--until"))
        lines = FORMATS[options["format"]](entries)
        if options["output"]:
            newline = "" if options["format"] == "csv" else None
            with open(options["output"], "w", encoding="utf-8", newline=newline) as out:
                out.writelines(lines)
        else:
            for line in lines:
                self.stdout.write(line, ending="")

    def purge(self) -> None:
        purges = purge_expired()
        deleted = sum(p.deleted for p in purges)
        if not purges:
            self.stdout.write("audit retention: nothing to delete")
            return
        for p in purges:
            self.stdout.write(
                f"account {p.account_code}: deleted {p.deleted} entries; the log now starts at #{p.anchor_seq}"
            )
        self.stdout.write(f"audit retention: deleted {deleted} entries in {len(purges)} accounts")
