"""The audit chain's hash: HMAC-SHA256 over the previous hash and a canonical form of the entry.

The key (``settings.AUDIT_CHAIN_KEY``) is a server secret, so someone who can write the
database but not read the server's configuration cannot forge a consistent chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from django.conf import settings

GENESIS_HASH = "0" * 64

HASHED_FIELDS = (
    "log_id",
    "account_code",
    "seq",
    "emitted_at",
    "operation",
    "status",
    "error",
    "principal_type",
    "principal_id",
    "principal_name",
    "api_key_id",
    "target_type",
    "target_id",
    "details",
    "client_ip",
    "async_operation_id",
)


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return value


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    body = json.dumps(
        {name: _canonical(fields[name]) for name in HASHED_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    message = f"{prev_hash}\n{body}".encode()
    return hmac.new(settings.AUDIT_CHAIN_KEY.encode(), message, hashlib.sha256).hexdigest()
