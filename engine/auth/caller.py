"""Who is calling: set by the authorizer for the handler it lets through (a context variable,
since the generated servicer signatures have no room for it)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from engine.auth.snapshot import AccessSnapshot, PrincipalAccess


@dataclass(frozen=True, slots=True)
class Caller:
    key_id: str  # "" for a client certificate
    principal: PrincipalAccess
    snapshot: AccessSnapshot  # the snapshot the call was authorized against
    # the control plane's web console (the admin secret as bearer): it checked the user's own
    # namespace permission before calling, so it may act on every provisioned namespace
    control_plane: bool = False

    @property
    def by_certificate(self) -> bool:
        """A verified mTLS client certificate (engine/auth/mtls.py) rather than an API key."""
        return not self.key_id and not self.control_plane

    @property
    def credential(self) -> str:
        if self.control_plane:
            return "the console credential"
        return "the client certificate" if self.by_certificate else "the API key"

    def readable_namespaces(self) -> list[str]:
        """Names of the namespaces this caller may read with its credential, sorted."""
        if self.control_plane:
            return sorted(self.snapshot.namespaces)
        return sorted(
            ns.name
            for ns in self.snapshot.namespaces.values()
            if (ns.api_key_auth or self.by_certificate) and self.principal.permission_on(ns) is not None
        )


# None: dev mode, or a call that was not authorized (the engine's own work)
current_caller: ContextVar[Caller | None] = ContextVar("sundial_caller", default=None)
