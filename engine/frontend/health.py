"""The standard gRPC health service (grpc.health.v1), as load balancers and probes expect it."""

from __future__ import annotations

from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from engine.frontend.safe_handlers import Registrar

OVERALL = ""  # the empty name is the whole server's health


class Health:
    """Reports NOT_SERVING until `serving()`, and NOT_SERVING for good after `shutting_down()`."""

    def __init__(self, services: tuple[str, ...]) -> None:
        self._names = (OVERALL, *services)
        self._servicer = HealthServicer()

    def register(self, server: Registrar) -> None:
        health_pb2_grpc.add_HealthServicer_to_server(self._servicer, server)

    async def starting(self) -> None:
        await self._set_all(health_pb2.HealthCheckResponse.NOT_SERVING)

    async def serving(self) -> None:
        await self._set_all(health_pb2.HealthCheckResponse.SERVING)

    async def shutting_down(self) -> None:
        await self._servicer.enter_graceful_shutdown()

    async def _set_all(self, status: health_pb2.HealthCheckResponse.ServingStatus) -> None:
        for name in self._names:
            await self._servicer.set(name, status)
