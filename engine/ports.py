"""Refuse a busy port before gRPC binds it.

grpc.aio binds with SO_REUSEPORT unless told otherwise, so a second engine on a busy port would
start "successfully" and share connections with the first. The server disables that option, and
this pre-check turns a busy port into a clean error instead of gRPC core's log lines on stderr.
"""

from __future__ import annotations

import errno
import socket

from engine.errors import ConfigError


def ensure_port_free(host: str, port: int) -> None:
    """Raise `ConfigError` if something already listens on `host:port` (port 0 is always free)."""
    if port == 0:
        return
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot resolve --host {host!r}: {exc.strerror}") from None
    for family, kind, proto, _, sockaddr in addresses:
        with socket.socket(family, kind, proto) as sock:
            # Same options as gRPC: SO_REUSEADDR ignores TIME_WAIT leftovers, not listeners.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(sockaddr)
            except OSError as exc:
                raise port_error(host, port, exc) from None


def port_error(host: str, port: int, exc: OSError | None = None) -> ConfigError:
    if exc is None or exc.errno == errno.EADDRINUSE:
        return ConfigError(f"port {port} on {host} is already in use")
    if exc.errno == errno.EADDRNOTAVAIL:
        return ConfigError(f"cannot listen on {host}: no such local address")
    if exc.errno == errno.EACCES:
        return ConfigError(f"permission denied to listen on port {port} on {host}")
    return ConfigError(f"cannot listen on port {port} on {host}: {exc.strerror}")
