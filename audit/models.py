"""The append-only, hash-chained audit log.

Entries belong to an account by its public ``account_code`` (not a foreign key), so the log of
a deleted account outlives it. Each account's entries form one chain: ``seq`` counts up from 1
without gaps and ``entry_hash`` is an HMAC over the previous entry's hash and this entry's
content (``audit.chain``). ``AuditChain`` holds each chain's head (and, after retention has
removed old entries, the anchor the remaining chain starts from), so that editing, deleting or
re-ordering any entry — including the newest — is detected by ``sundial audit verify``.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class AuditStatus(models.TextChoices):
    OK = "OK", "OK"
    ERROR = "ERROR", "Error"


class AuditEntry(models.Model):
    log_id = models.CharField(max_length=32, unique=True)
    account_code = models.CharField(max_length=16)
    seq = models.PositiveBigIntegerField()
    emitted_at = models.DateTimeField()
    operation = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=AuditStatus.choices, default=AuditStatus.OK)
    error = models.CharField(max_length=1000, blank=True)
    principal_type = models.CharField(max_length=32)  # user | service_account | system
    principal_id = models.CharField(max_length=64, blank=True)
    principal_name = models.CharField(max_length=320, blank=True)
    api_key_id = models.CharField(max_length=32, blank=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=320, blank=True)
    details = models.JSONField(default=dict, blank=True)
    client_ip = models.CharField(max_length=256, blank=True)
    async_operation_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account_code", "seq"], name="one_audit_entry_per_seq")]
        indexes = [
            models.Index(fields=["account_code", "emitted_at"], name="audit_by_time"),
            models.Index(fields=["account_code", "operation"], name="audit_by_operation"),
            models.Index(fields=["account_code", "principal_id"], name="audit_by_principal"),
        ]

    def __str__(self) -> str:
        return f"{self.account_code}#{self.seq} {self.operation} by {self.principal_name} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Entries are written once: changing a stored entry is refused (append-only)."""
        if not self._state.adding:
            raise PermissionError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit entries are removed only by retention (audit.retention)")


class AuditChain(models.Model):
    """The head of one account's chain and where the retained part of it starts."""

    account_code = models.CharField(max_length=16, unique=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    anchor_seq = models.PositiveBigIntegerField(default=1)
    anchor_prev_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"audit chain of {self.account_code} at #{self.last_seq}"
