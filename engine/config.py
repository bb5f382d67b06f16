"""Engine settings, validated when built so a bad value fails before anything starts."""

from __future__ import annotations

import os
import re
import ssl
from dataclasses import dataclass, field

from engine.errors import ConfigError
from engine.persistence.url import DEFAULT_DATABASE_URL, DatabaseUrl, parse_database_url

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7233  # Temporal's frontend port, so SDK defaults work unchanged
DEFAULT_ADMIN_PORT = 7234  # the admin API (docs/engine-admin-api.md), opened only with a secret
DEFAULT_GRACE_PERIOD = 10.0
MAX_PORT = 65535
# "sundial": the engine's own HTTP/2 gRPC transport (engine/transport); "grpcio": grpc.aio
TRANSPORTS = ("sundial", "grpcio")
DEFAULT_TLS_NAMESPACE_SUFFIX = "sundial.localhost"
_DNS_SUFFIX = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")


@dataclass(frozen=True)
class EngineConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT  # 0 picks a free port (tests); EngineServer.port tells which
    db_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)
    dev: bool = False
    # How long shutdown lets in-flight RPCs finish before cancelling them.
    grace_period: float = DEFAULT_GRACE_PERIOD
    # runs kept in memory; more are reloaded from the store on demand
    cache_size: int = 10_000
    # a workflow task tells the worker to continue-as-new once history reaches either limit
    # (Temporal's limit.historyCount/historySize.suggestContinueAsNew defaults)
    suggest_continue_as_new_events: int = 4 * 1024
    suggest_continue_as_new_bytes: int = 4 * 1024 * 1024
    transport: str = TRANSPORTS[0]
    # retention: the shortest period a namespace may keep closed runs (Temporal's is one day;
    # tests lower it) and how often the background sweep deletes expired runs
    min_retention: float = 24 * 3600.0
    retention_interval: float = 60.0
    # the admin API: served on its own address when a secret is set (docs/engine-admin-api.md)
    admin_host: str = DEFAULT_HOST
    admin_port: int = DEFAULT_ADMIN_PORT  # 0 picks a free port (tests); EngineServer.admin_port tells which
    admin_secret: str = field(default="", repr=False)
    # API keys' digests are HMAC-SHA256(pepper, token): the control plane's API_KEY_PEPPER. Without
    # it no key is accepted outside dev mode.
    api_key_pepper: str = field(default="", repr=False)
    # how often each engine process reloads tenant access from the store (a revoked key stops
    # working everywhere within this plus a check)
    access_reload_interval: float = 2.0
    # TLS on the tenant port (PEM files: the certificate chain and its private key), and the
    # DNS suffix of namespace endpoints: a client names the namespace it calls in the TLS server
    # name `<namespace id>.<suffix>`, which selects the CAs its client certificate must chain to
    tls_cert: str = ""
    tls_key: str = ""
    tls_namespace_suffix: str = DEFAULT_TLS_NAMESPACE_SUFFIX
    database: DatabaseUrl = field(init=False)

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError("--host must not be empty")
        _check_port_range(self.port)
        if self.cache_size < 1:
            raise ConfigError(f"cache size {self.cache_size} must be at least 1")
        if self.suggest_continue_as_new_events < 1 or self.suggest_continue_as_new_bytes < 1:
            raise ConfigError("continue-as-new suggestion limits must be at least 1")
        if self.transport not in TRANSPORTS:
            raise ConfigError(f"unknown transport {self.transport!r} (expected one of {', '.join(TRANSPORTS)})")
        if self.min_retention < 1 or self.retention_interval <= 0:
            raise ConfigError("minimum retention must be at least 1 second and the sweep interval positive")
        if self.admin_secret:
            if not self.admin_host:
                raise ConfigError("--admin-host must not be empty")
            _check_port_range(self.admin_port)
            if self.admin_port and self.admin_port == self.port and self.admin_host == self.host:
                raise ConfigError(f"the admin port {self.admin_port} must differ from the gRPC port")
        if self.access_reload_interval <= 0:
            raise ConfigError("the access reload interval must be positive")
        if self.grace_period < 0:
            raise ConfigError(f"grace period {self.grace_period} must not be negative")
        self._check_tls()
        object.__setattr__(self, "database", parse_database_url(self.db_url))

    def _check_tls(self) -> None:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("--tls-cert and --tls-key go together: give both PEM files or neither")
        suffix = self.tls_namespace_suffix.strip(".").lower()
        if len(suffix) > 200 or not _DNS_SUFFIX.match(suffix):
            raise ConfigError(f"TLS namespace suffix {self.tls_namespace_suffix!r} is not a DNS name")
        if not self.tls_cert:
            return
        if self.transport == "grpcio":
            raise ConfigError(
                "TLS is served by the engine's own transport only: drop --transport grpcio or the TLS files"
            )
        for path in (self.tls_cert, self.tls_key):
            if not os.path.isfile(path):
                raise ConfigError(f"TLS file {path} does not exist")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(self.tls_cert, self.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"the TLS certificate {self.tls_cert} and key {self.tls_key} do not load as a PEM "
                f"certificate chain and its private key: {exc}"
            ) from None

    @property
    def tls_enabled(self) -> bool:
        return bool(self.tls_cert)

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)

    @property
    def admin_enabled(self) -> bool:
        return bool(self.admin_secret)


def parse_port(value: str) -> int:
    """Parse a port given on the command line or in the environment."""
    try:
        port = int(value.strip())
    except ValueError:
        raise ConfigError(f"invalid port {value!r} (expected a number 0-{MAX_PORT})") from None
    _check_port_range(port)
    return port


def _check_port_range(port: int) -> None:
    if not 0 <= port <= MAX_PORT:
        raise ConfigError(f"port {port} is out of range (0-{MAX_PORT})")


def format_address(host: str, port: int) -> str:
    """`host:port`, with IPv6 literals bracketed as gRPC expects."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"
