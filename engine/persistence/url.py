"""Engine database URLs: `sqlite:///relative/path`, `sqlite:////abs/path`, `postgresql://...`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import SplitResult, urlsplit

from engine.errors import ConfigError

Dialect = Literal["sqlite", "postgresql"]

DEFAULT_DATABASE_URL = "sqlite:///var/engine.sqlite3"


def default_database_url() -> str:
    """The engine's SQLite file under SUNDIAL_DATA_DIR (./var when unset), as `sundial up` uses."""
    data_dir = os.environ.get("SUNDIAL_DATA_DIR", "").strip()
    return f"sqlite:///{data_dir.rstrip('/')}/engine.sqlite3" if data_dir else DEFAULT_DATABASE_URL


MEMORY = ":memory:"
_EXPECTED = "(expected sqlite:///path or postgresql://user@host/db)"
_POSTGRES_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed engine database URL.

    `raw` may hold a password, so it is kept out of `repr()`; show `redacted` to people.
    """

    dialect: Dialect
    raw: str = field(repr=False)
    redacted: str
    # SQLite only: a filesystem path (relative to the working directory) or ":memory:".
    path: str = ""

    @property
    def is_memory(self) -> bool:
        return self.dialect == "sqlite" and self.path == MEMORY

    def __str__(self) -> str:
        return self.redacted


def parse_database_url(url: str) -> DatabaseUrl:
    """Parse and validate `url`, raising `ConfigError` with a one-line reason."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep or not scheme:
        raise ConfigError(f"cannot parse --db URL {_shorten(text)!r} {_EXPECTED}")
    scheme = scheme.lower()
    if scheme == "sqlite":
        return _parse_sqlite(text, rest)
    if scheme in _POSTGRES_SCHEMES:
        return _parse_postgres(text)
    raise ConfigError(f"unknown --db scheme {scheme!r} {_EXPECTED}")


def _parse_sqlite(text: str, rest: str) -> DatabaseUrl:
    if rest in (MEMORY, "/" + MEMORY):
        return DatabaseUrl("sqlite", text, "sqlite://:memory:", MEMORY)
    if not rest.startswith("/"):
        raise ConfigError(
            f"sqlite --db URL {text!r} must not name a host (use sqlite:///relative/path or sqlite:////absolute/path)"
        )
    path = rest[1:]
    if not path or path.endswith("/"):
        raise ConfigError(f"sqlite --db URL {text!r} does not name a database file")
    return DatabaseUrl("sqlite", text, text, path)


def _parse_postgres(text: str) -> DatabaseUrl:
    try:
        parts = urlsplit(text)
        _ = parts.port  # urlsplit only validates the port when it is read
    except ValueError as exc:
        raise ConfigError(f"cannot parse postgresql --db URL: {exc}") from None
    database = parts.path.lstrip("/")
    if not database:
        raise ConfigError("postgresql --db URL does not name a database (postgresql://user@host/db)")
    return DatabaseUrl("postgresql", text, _redact(parts))


def _redact(parts: SplitResult) -> str:
    """The URL without its password or query string (which may also carry one)."""
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return f"{parts.scheme}://{netloc}{parts.path}"


def _shorten(text: str, limit: int = 60) -> str:
    """Keep echoed input short and free of anything that looks like credentials."""
    if "@" in text:
        text = "...@" + text.rsplit("@", 1)[1]
    return text if len(text) <= limit else text[: limit - 1] + "..."
