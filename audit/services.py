"""Writing the audit log. ``record`` must run inside the transaction of the change it records."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH, entry_hash
from audit.models import AuditChain, AuditEntry, AuditStatus

if TYPE_CHECKING:
    from accounts.principal import Principal

REDACTED = "[redacted]"
# Keys whose values never reach the log, at any depth (matched case-insensitively as substrings).
_SECRET_MARKERS = ("password", "secret", "token", "api_key_value", "authorization", "private_key", "otp", "code")

# The async_operation_id of the Cloud Ops / REST request being served, set by accounts.operations.
current_operation_id: ContextVar[str] = ContextVar("current_operation_id", default="")


def redact(value: Any) -> Any:
    """A JSON-safe copy of ``value`` with the values of secret-looking keys replaced."""
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if any(m in str(k).lower() for m in _SECRET_MARKERS) else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    return json.loads(json.dumps(value, default=str))


def _chain_for_update(account_code: str) -> AuditChain:
    chain = AuditChain.objects.select_for_update().filter(account_code=account_code).first()
    if chain is None:
        AuditChain.objects.get_or_create(
            account_code=account_code, defaults={"last_hash": GENESIS_HASH, "anchor_prev_hash": GENESIS_HASH}
        )
        chain = AuditChain.objects.select_for_update().get(account_code=account_code)
    return chain


def record(
    *,
    account_code: str,
    operation: str,
    principal: Principal | None = None,
    target_type: str = "",
    target_id: str = "",
    details: Mapping[str, Any] | None = None,
    status: AuditStatus = AuditStatus.OK,
    error: str = "",
    principal_type: str = "",
    principal_id: str = "",
    principal_name: str = "",
    client_ip: str = "",
) -> AuditEntry:
    """Append one entry to ``account_code``'s chain. Call inside the change's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the transaction of the change it records")
    clean = redact(dict(details or {}))
    if principal is not None:
        principal_type = principal.kind
        principal_id = principal.public_id
        principal_name = principal.name
        client_ip = client_ip or principal.client_ip
        if principal.api_version:
            clean["api_version"] = principal.api_version
    chain = _chain_for_update(account_code)
    fields: dict[str, Any] = {
        "log_id": uuid.uuid4().hex,
        "account_code": account_code,
        "seq": chain.last_seq + 1,
        "emitted_at": timezone.now(),
        "operation": operation,
        "status": str(status),
        "error": error[:1000],
        "principal_type": principal_type or "system",
        "principal_id": principal_id,
        "principal_name": principal_name,
        "api_key_id": principal.api_key.key_id if principal is not None and principal.api_key is not None else "",
        "target_type": target_type,
        "target_id": target_id,
        "details": clean,
        "client_ip": client_ip,
        "async_operation_id": current_operation_id.get(),
    }
    digest = entry_hash(chain.last_hash, fields)
    entry = AuditEntry.objects.create(prev_hash=chain.last_hash, entry_hash=digest, **fields)
    chain.last_seq = entry.seq
    chain.last_hash = digest
    chain.save(update_fields=["last_seq", "last_hash"])
    return entry


@contextmanager
def audited(
    principal: Principal,
    operation: str,
    *,
    target_type: str = "",
    target_id: str = "",
    details: Mapping[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Run a change in a transaction that also records it; a refused change is recorded too.

    The body may fill the yielded dict (target id, extra details) before it ends. When the body
    raises a ``ServiceError`` the change is rolled back and an ERROR entry is written on its own.
    """
    from accounts.errors import NotFound, ServiceError

    extra: dict[str, Any] = {"target_id": target_id, "details": dict(details or {})}
    try:
        with transaction.atomic():
            yield extra
            record(
                account_code=principal.account.account_id,
                operation=operation,
                principal=principal,
                target_type=target_type,
                target_id=str(extra["target_id"]),
                details=extra["details"],
            )
    except ServiceError as exc:
        if not isinstance(exc, NotFound):  # another tenant's ids are not this tenant's business
            with transaction.atomic():
                record(
                    account_code=principal.account.account_id,
                    operation=operation,
                    principal=principal,
                    target_type=target_type,
                    target_id=str(extra["target_id"]),
                    details=extra["details"],
                    status=AuditStatus.ERROR,
                    error=str(exc),
                )
        raise
