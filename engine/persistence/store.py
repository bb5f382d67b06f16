"""The narrow interface the rest of the engine uses to reach its database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from engine.persistence.url import DatabaseUrl

DEFAULT_CLUSTER_NAME = "sundial"


@dataclass(frozen=True)
class ClusterMetadata:
    """Written once, when the database is first migrated; stable across restarts."""

    cluster_id: str
    cluster_name: str
    created_at: datetime


class Store(Protocol):
    """One engine database. Grows one narrow method at a time as the engine needs it."""

    @property
    def url(self) -> DatabaseUrl: ...

    async def open(self) -> None:
        """Connect and apply pending schema migrations; raises `ConfigError` if it cannot."""

    async def close(self) -> None:
        """Release connections and threads. Safe to call twice."""

    async def ping(self) -> None:
        """Raise `StoreError` unless the database answers a trivial query."""

    async def schema_version(self) -> int:
        """The highest migration applied to this database."""

    async def cluster_metadata(self) -> ClusterMetadata: ...
