"""Identifiers: run ids are UUIDv7, as the SDKs expect (sdk-python asserts the version)."""

from __future__ import annotations

import os
import time
import uuid


def new_run_id() -> str:
    """A UUIDv7: 48 bits of Unix milliseconds, version 7, variant 10, random rest."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64  # 12 random bits
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))
