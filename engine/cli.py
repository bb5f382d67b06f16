"""`sundial engine [--dev] [--host H] [--port P] [--db URL] [--admin-host H] [--admin-port P]
[--admin-secret S] [--api-key-pepper P] [--tls-cert PEM --tls-key PEM] [--tls-namespace-suffix S]`.

The top-level `sundial` command delegates its `engine` subcommand here.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
from collections.abc import Coroutine
from typing import Any

from engine.config import (
    DEFAULT_ADMIN_PORT,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_TLS_NAMESPACE_SUFFIX,
    TRANSPORTS,
    EngineConfig,
    parse_port,
)
from engine.errors import ConfigError
from engine.persistence.url import default_database_url
from engine.server import EngineServer

PROG = "sundial engine"
EXIT_CONFIG_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run the Sundial engine: Temporal's gRPC API backed by SQLite or PostgreSQL.",
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        help="run as a local development server (no authentication)",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("SUNDIAL_ENGINE_HOST", DEFAULT_HOST),
        help="address to listen on (env SUNDIAL_ENGINE_HOST; default %(default)s)",
    )
    parser.add_argument(
        "--port",
        default=os.environ.get("SUNDIAL_ENGINE_PORT", str(DEFAULT_PORT)),
        help="gRPC port (env SUNDIAL_ENGINE_PORT; default %(default)s)",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        default=os.environ.get("ENGINE_DATABASE_URL") or default_database_url(),
        help="sqlite:///relative/path, sqlite:////absolute/path or postgresql://user@host/db "
        "(env ENGINE_DATABASE_URL; default engine.sqlite3 in $SUNDIAL_DATA_DIR, else ./var)",
    )
    parser.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default=os.environ.get("SUNDIAL_ENGINE_TRANSPORT", TRANSPORTS[0]),
        help="gRPC server: the engine's own HTTP/2 transport, or grpcio's grpc.aio "
        "(env SUNDIAL_ENGINE_TRANSPORT; default %(default)s)",
    )
    parser.add_argument(
        "--admin-host",
        default=os.environ.get("SUNDIAL_ENGINE_ADMIN_HOST", DEFAULT_HOST),
        help="address of the admin API (env SUNDIAL_ENGINE_ADMIN_HOST; default %(default)s)",
    )
    parser.add_argument(
        "--admin-port",
        default=os.environ.get("SUNDIAL_ENGINE_ADMIN_PORT", str(DEFAULT_ADMIN_PORT)),
        help="admin API port (env SUNDIAL_ENGINE_ADMIN_PORT; default %(default)s)",
    )
    parser.add_argument(
        "--admin-secret",
        default=os.environ.get("SUNDIAL_ENGINE_ADMIN_SECRET", ""),
        help="the control plane's bearer secret for the admin API, which is served only when it is set "
        "(env SUNDIAL_ENGINE_ADMIN_SECRET, preferred: a flag shows in the process list)",
    )
    parser.add_argument(
        "--api-key-pepper",
        default=os.environ.get("API_KEY_PEPPER", ""),
        help="the control plane's API_KEY_PEPPER, which API-key digests are computed with; without it "
        "no key is accepted outside --dev (env API_KEY_PEPPER, preferred)",
    )
    parser.add_argument(
        "--tls-cert",
        metavar="PEM",
        default=os.environ.get("SUNDIAL_ENGINE_TLS_CERT", ""),
        help="serve TLS on the gRPC port with this PEM certificate chain (env SUNDIAL_ENGINE_TLS_CERT); "
        "needs --tls-key",
    )
    parser.add_argument(
        "--tls-key",
        metavar="PEM",
        default=os.environ.get("SUNDIAL_ENGINE_TLS_KEY", ""),
        help="the PEM private key of --tls-cert (env SUNDIAL_ENGINE_TLS_KEY)",
    )
    parser.add_argument(
        "--tls-namespace-suffix",
        metavar="SUFFIX",
        default=os.environ.get("SUNDIAL_ENGINE_TLS_NAMESPACE_SUFFIX", DEFAULT_TLS_NAMESPACE_SUFFIX),
        help="namespace endpoints are <namespace id>.SUFFIX: the TLS server name a client with a "
        "certificate sends (env SUNDIAL_ENGINE_TLS_NAMESPACE_SUFFIX; default %(default)s)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the engine until SIGTERM/SIGINT; return the process exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or argparse's own usage error (already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_CONFIG_ERROR
    try:
        config = EngineConfig(
            host=args.host,
            port=parse_port(args.port),
            db_url=args.db,
            dev=args.dev,
            transport=args.transport,
            admin_host=args.admin_host,
            admin_port=parse_port(args.admin_port),
            admin_secret=args.admin_secret,
            api_key_pepper=args.api_key_pepper,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            tls_namespace_suffix=args.tls_namespace_suffix,
        )
        _configure_logging()
        tune_garbage_collector()
        run_event_loop(EngineServer(config).serve_forever())
    except ConfigError as exc:
        message = " ".join(str(exc).split())  # guarantee one line
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except KeyboardInterrupt:  # only before the signal handlers are installed
        return 130
    return 0


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where it is installed (less CPU per RPC), else on asyncio's own loop.
    SUNDIAL_ENGINE_LOOP=asyncio forces the standard loop."""
    if os.environ.get("SUNDIAL_ENGINE_LOOP", "").lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            uvloop.run(main)
            return
    asyncio.run(main)


GC_GENERATION0_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Collect the youngest generation every 50k allocations instead of 700.

    Each RPC allocates hundreds of short-lived container objects (coroutines, futures, frames,
    tuples); almost all die by reference counting, so frequent generation-0 passes find little
    and cost several percent of engine CPU under load. Objects alive after start-up (modules,
    protobuf descriptors) are frozen out of every later collection.
    """
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_GENERATION0_THRESHOLD, older, oldest)


def _configure_logging() -> None:
    """Plain one-line logs on stderr, unless the embedding program configured logging."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
