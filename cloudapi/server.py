"""The Cloud Ops API process: a grpcio server on a thread pool, stopped gracefully by SIGTERM.

Handlers use Django's ORM synchronously, so the server is grpcio's threaded one (not
``grpc.aio``); each worker thread holds its own database connection, closed after each call
unless ``DATABASE_CONN_MAX_AGE`` keeps it. Requests may be gzip-compressed (the Temporal
SDK's default); grpcio decompresses them.

The SDK's client calls ``WorkflowService/GetSystemInfo`` when it connects; that service is
not served here, and grpcio's UNIMPLEMENTED "Method not found!" is an answer the SDK accepts.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import FrameType

import grpc

logger = logging.getLogger("sundial.cloudapi")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7243
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


class BindError(Exception):
    """The server could not listen on the address it was given."""


@dataclass(frozen=True)
class ServerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT  # 0: any free port (tests)
    max_workers: int = 8
    grace_seconds: float = 10.0


class CloudApiServer:
    """Start and stop the ``CloudService`` servicer. Django must be set up first."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.port = 0
        self._server: grpc.Server | None = None

    def start(self) -> int:
        """Listen and serve on background threads; returns the bound port."""
        from temporalio.api.cloud.cloudservice.v1.service_pb2_grpc import add_CloudServiceServicer_to_server

        from cloudapi.service import CloudService

        server = grpc.server(
            ThreadPoolExecutor(max_workers=self.config.max_workers, thread_name_prefix="cloudapi"),
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        add_CloudServiceServicer_to_server(CloudService(), server)  # type: ignore[abstract]
        address = f"{self.config.host}:{self.config.port}"
        try:
            self.port = server.add_insecure_port(address)
        except RuntimeError as exc:
            raise BindError(f"cannot listen on {address}: {exc}") from None
        if self.port == 0:
            raise BindError(f"cannot listen on {address}")
        server.start()
        self._server = server
        logger.info("Cloud Ops API listening on %s:%s", self.config.host, self.port)
        return self.port

    def stop(self, grace: float | None = None) -> None:
        """Refuse new calls, let calls in flight finish for up to ``grace`` seconds, then stop."""
        if self._server is None:
            return
        self._server.stop(self.config.grace_seconds if grace is None else grace).wait()
        self._server = None


def serve_forever(config: ServerConfig) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully."""
    server = CloudApiServer(config)
    server.start()
    received: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # Only a list append: a handler that took a lock (threading.Event.set) could deadlock
        # with the main thread interrupted while holding that very lock inside Event.wait.
        received.append(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    while not received:
        time.sleep(0.2)
    logger.info("Cloud Ops API stopping")
    server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sundial cloudapi", description="Serve the Cloud Ops gRPC API.")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--workers", type=int, default=ServerConfig.max_workers)
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloud.settings")
    import django

    django.setup()
    try:
        serve_forever(ServerConfig(host=options.host, port=options.port, max_workers=options.workers))
    except BindError as exc:
        parser.exit(2, f"sundial cloudapi: error: {exc}\n")
    return 0
