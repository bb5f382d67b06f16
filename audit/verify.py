"""Checking the audit log's hash chains (``sundial audit verify``).

Each account's chain is walked from its anchor: ``seq`` must count up without gaps, every
entry's HMAC must match its content and link to the previous entry's hash, and the last entry
must be the head that ``AuditChain`` recorded when it was written. An anchor other than the
genesis is only legitimate when a ``PurgeAuditLog`` entry (itself in the chain, so covered by
the HMAC) names it: that is how a retention purge differs from someone deleting old entries.

The walk reports the first bad entry of each account and what is wrong with it:

* ``edited`` — its content no longer matches its hash;
* ``reordered`` — its content is intact but it was written at another position;
* ``deleted`` — entries are missing from the middle or from the start of the chain;
* ``broken link`` — it does not follow the entry before it (that one was replaced);
* ``head mismatch`` — the newest entries were deleted (or the head does not match the log);
* ``inserted`` — an entry lies beyond the recorded head, or precedes the anchor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from audit.chain import GENESIS_HASH, HASHED_FIELDS, entry_hash
from audit.models import AuditChain, AuditEntry, AuditStatus

PURGE_OPERATION = "PurgeAuditLog"
_CHUNK = 2000
_ATTEMPTS = 3
_COLUMNS = (*HASHED_FIELDS, "pk", "prev_hash", "entry_hash")


@dataclass(frozen=True)
class Problem:
    """The first bad entry of one account's chain. ``log_id`` is empty for a missing entry."""

    account_code: str
    seq: int
    log_id: str
    kind: str
    detail: str

    def __str__(self) -> str:
        entry = f"entry #{self.seq}" + (f" (log_id {self.log_id})" if self.log_id else "")
        return f"account {self.account_code}: {entry}: {self.kind}: {self.detail}"


@dataclass
class Report:
    entries: int = 0
    accounts: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.intact:
            return f"audit log intact: {self.entries} entries in {self.accounts} accounts"
        return f"audit log damaged in {len(self.problems)} of {self.accounts} accounts"


def _hash_ok(row: dict[str, Any], **override: Any) -> bool:
    return entry_hash(row["prev_hash"], {**row, **override}) == row["entry_hash"]


def _rows(account_code: str, upto: int) -> Iterator[dict[str, Any]]:
    return (
        AuditEntry.objects.filter(account_code=account_code, seq__lte=upto)
        .order_by("seq")
        .values(*_COLUMNS)
        .iterator(chunk_size=_CHUNK)
    )


def _written_at(chain: AuditChain, row: dict[str, Any]) -> int | None:
    """Where an intact entry found at the wrong place was written, if that can be told.

    Entries of one account are inserted in seq order under the chain's lock, so their row ids
    rise with seq: the number of retained entries with a smaller id gives the original place.
    """
    entries = AuditEntry.objects.filter(account_code=chain.account_code)
    candidates = [chain.anchor_seq + entries.filter(pk__lt=row["pk"], seq__gte=chain.anchor_seq).count()]
    before = entries.filter(entry_hash=row["prev_hash"]).values_list("seq", flat=True).first()
    if before is not None:
        candidates.append(before + 1)
    for seq in candidates:
        if seq != row["seq"] and _hash_ok(row, seq=seq):
            return seq
    return None


def _anchor_is_legitimate(chain: AuditChain) -> bool:
    if chain.anchor_seq == 1 and chain.anchor_prev_hash == GENESIS_HASH:
        return True
    purges = AuditEntry.objects.filter(
        account_code=chain.account_code, operation=PURGE_OPERATION, status=AuditStatus.OK, seq__gte=chain.anchor_seq
    ).values(*_COLUMNS)
    return any(
        _hash_ok(row)
        and row["details"].get("anchor_seq") == chain.anchor_seq
        and row["details"].get("anchor_prev_hash") == chain.anchor_prev_hash
        for row in purges
    )


def _walk(chain: AuditChain) -> tuple[int, Problem | None]:
    """Walk one chain; returns (entries seen, first problem on the way)."""
    code = chain.account_code
    expected, prev, count = chain.anchor_seq, chain.anchor_prev_hash, 0
    last_log_id = ""
    for row in _rows(code, chain.last_seq):
        count += 1
        seq, log_id = row["seq"], row["log_id"]
        if seq < chain.anchor_seq:
            return count, Problem(code, seq, log_id, "inserted", f"it precedes the chain's anchor #{chain.anchor_seq}")
        if seq > expected:
            missing = f"#{expected}" if seq == expected + 1 else f"#{expected}–#{seq - 1}"
            return count, Problem(
                code, expected, "", "deleted", f"entry {missing} is missing (the next one is #{seq}, log_id {log_id})"
            )
        if not _hash_ok(row):
            written = _written_at(chain, row)
            if written is not None:
                return count, Problem(code, seq, log_id, "reordered", f"it was written as #{written}, not #{seq}")
            return count, Problem(code, seq, log_id, "edited", "its content does not match its hash")
        if row["prev_hash"] != prev:
            return count, Problem(
                code, seq, log_id, "broken link", f"it does not follow entry #{seq - 1} (that entry was replaced)"
            )
        prev, expected, last_log_id = row["entry_hash"], expected + 1, log_id
    last = expected - 1
    if last < chain.last_seq:
        missing = f"#{last + 1}" if last + 1 == chain.last_seq else f"#{last + 1}–#{chain.last_seq}"
        return count, Problem(
            code,
            last + 1,
            "",
            "head mismatch",
            f"entry {missing} is missing: the chain's head is #{chain.last_seq} but the log ends at #{last} "
            "(the newest entries were deleted)",
        )
    if prev != chain.last_hash:
        return count, Problem(code, last, last_log_id, "head mismatch", "its hash is not the chain's recorded head")
    return count, None


def _beyond_head(chain: AuditChain) -> Problem | None:
    """An entry past the head. Entries appended while the walk ran are fine: the head is read
    again, and only entries past the current head count."""
    entries = AuditEntry.objects.filter(account_code=chain.account_code)
    if not entries.filter(seq__gt=chain.last_seq).exists():
        return None
    head = AuditChain.objects.filter(pk=chain.pk).values_list("last_seq", flat=True).first() or 0
    stray = entries.filter(seq__gt=head).order_by("seq").values("seq", "log_id").first()
    if stray is None:
        return None
    return Problem(
        chain.account_code, stray["seq"], stray["log_id"], "inserted", f"it lies beyond the chain's head #{head}"
    )


def _check(chain: AuditChain) -> tuple[int, Problem | None]:
    count, problem = _walk(chain)
    problem = problem or _beyond_head(chain)
    if not _anchor_is_legitimate(chain):
        problem = Problem(
            chain.account_code,
            max(chain.anchor_seq - 1, 1),
            "",
            "deleted",
            f"the chain starts at #{chain.anchor_seq} but no PurgeAuditLog entry names that anchor "
            f"(entries before #{chain.anchor_seq} were deleted outside retention)",
        )
    return count, problem


def _state(chain: AuditChain) -> tuple[int, str, int, str]:
    return chain.anchor_seq, chain.anchor_prev_hash, chain.last_seq, chain.last_hash


def verify_chain(chain: AuditChain) -> tuple[int, Problem | None]:
    """Check one account's chain: (entries checked, its first problem or None).

    A problem found while the chain moved (a retention purge committed during the walk) is
    checked again against the chain's new state before it is reported.
    """
    for _ in range(_ATTEMPTS):
        count, problem = _check(chain)
        fresh = AuditChain.objects.filter(pk=chain.pk).first() if problem is not None else None
        if fresh is None or _state(fresh) == _state(chain):
            return count, problem
        chain = fresh
    return count, problem


def _orphans(account_code: str | None) -> list[Problem]:
    """Entries of accounts whose chain head is gone."""
    entries = AuditEntry.objects.exclude(account_code__in=AuditChain.objects.values("account_code"))
    if account_code is not None:
        entries = entries.filter(account_code=account_code)
    problems = []
    for code in entries.order_by("account_code").values_list("account_code", flat=True).distinct():
        first = entries.filter(account_code=code).order_by("seq").values("seq", "log_id").first()
        assert first is not None
        problems.append(Problem(code, first["seq"], first["log_id"], "head mismatch", "the chain's head is missing"))
    return problems


def verify_log(*, account_code: str | None = None) -> Report:
    """Check every account's chain (or one account's)."""
    report = Report()
    chains = AuditChain.objects.order_by("account_code")
    if account_code is not None:
        chains = chains.filter(account_code=account_code)
    for chain in chains.iterator():
        count, problem = verify_chain(chain)
        report.entries += count
        report.accounts += 1
        if problem is not None:
            report.problems.append(problem)
    orphans = _orphans(account_code)
    report.accounts += len(orphans)
    report.problems.extend(orphans)
    return report
