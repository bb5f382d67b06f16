"""The engine process: store + gRPC server, with a clean start-up and a graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal

import grpc

from engine.auth.access import AccessControl
from engine.auth.admin_service import AdminService
from engine.auth.authorizer import Authorizer
from engine.auth.mtls import TenantTls
from engine.auth.provisioning import Provisioner
from engine.batch.operations import BatchOperations
from engine.config import EngineConfig, format_address
from engine.frontend.health import Health
from engine.frontend.namespace_reaper import NamespaceReaper
from engine.frontend.namespaces import DEV_NAMESPACE, NamespaceRegistry
from engine.frontend.operator_service import OperatorService, add_operator_service
from engine.frontend.safe_handlers import Wrapper
from engine.frontend.workflow_service import SERVICE_NAME, WorkflowService, add_workflow_service
from engine.history.history_service import HistoryService
from engine.history.retention import RetentionSweeper
from engine.matching.task_queues import Matching
from engine.persistence import Store, open_store
from engine.ports import ensure_port_free, port_error
from engine.schedules.api import ScheduleApi
from engine.schedules.scheduler import Scheduler
from engine.transport.server import GrpcServer
from engine.visibility.listing import Visibility
from engine.visibility.registry import SearchAttributeRegistry

log = logging.getLogger("engine")

# grpc.aio enables SO_REUSEPORT by default, which lets a second server share a busy port.
_SERVER_OPTIONS = [("grpc.so_reuseport", 0)]


class EngineServer:
    """One engine process. Single use: start it once, stop it once."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.port = config.port  # the bound port once started (differs when config.port is 0)
        self.admin_port = config.admin_port  # likewise for the admin API, when it is served
        self._store: Store | None = None
        self._server: grpc.aio.Server | GrpcServer | None = None
        self._admin_server: grpc.aio.Server | GrpcServer | None = None
        self.access: AccessControl | None = None  # tenant access (outside dev mode, or with the admin API)
        self.reaper: NamespaceReaper | None = None
        self._health = Health((SERVICE_NAME,))
        self._history: HistoryService | None = None
        self._retention: RetentionSweeper | None = None
        self._scheduler: Scheduler | None = None
        self._batches: BatchOperations | None = None

    @property
    def address(self) -> str:
        return format_address(self.config.host, self.port)

    @property
    def admin_address(self) -> str:
        return format_address(self.config.admin_host, self.admin_port)

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the engine is not started")
        return self._store

    async def start(self) -> None:
        """Open the store (migrating it), then bind and start serving. Raises `ConfigError`."""
        config = self.config
        ensure_port_free(config.host, config.port)
        if config.admin_enabled:
            ensure_port_free(config.admin_host, config.admin_port)
        store = await open_store(config.database)
        try:
            history = HistoryService(
                store,
                Matching(),
                cache_size=config.cache_size,
                suggest_continue_as_new=(config.suggest_continue_as_new_events, config.suggest_continue_as_new_bytes),
            )
            namespaces = NamespaceRegistry(store, min_retention=config.min_retention)
            if config.dev:
                await namespaces.ensure(DEV_NAMESPACE)
            search_attributes = SearchAttributeRegistry(store)
            await search_attributes.load()
            history.search_attribute_types = search_attributes.types
            await history.start()
            self._history = history
            self._retention = RetentionSweeper(store, history.entries, interval=config.retention_interval)
            self._retention.start()
            self._scheduler = Scheduler(store, history)
            await self._scheduler.start()
            cluster = await store.cluster_metadata()
            visibility = Visibility(store, search_attributes)
            schedules = ScheduleApi(self._scheduler, search_attributes.types)
            self._batches = BatchOperations(store, history, visibility)
            await self._batches.start()
            self.reaper = NamespaceReaper(store, history, self._scheduler, self._batches, search_attributes)
            await self.reaper.resume()
            service = WorkflowService(  # type: ignore[abstract]
                history, namespaces, visibility, schedules, self._batches, cluster_id=cluster.cluster_id
            )
            operator = OperatorService(namespaces, search_attributes)  # type: ignore[abstract]
            wrap: Wrapper | None = None
            if not config.dev or config.admin_enabled:
                self.access = AccessControl(store, interval=config.access_reload_interval)
                self.access.listeners.append(namespaces.invalidate)
                await self.access.reload()
                self.access.start()
            if not config.dev:
                assert self.access is not None
                if not config.api_key_pepper:
                    log.warning(
                        "no API-key pepper is set (--api-key-pepper / API_KEY_PEPPER): every API key is refused"
                    )
                wrap = Authorizer(self.access, config.api_key_pepper, config.admin_secret).wrap
            if config.admin_enabled:
                assert self.access is not None
                provisioner = Provisioner(store, namespaces, search_attributes, self.access, self.reaper)
                self._admin_server = await self._bind_admin(AdminService(provisioner, config.admin_secret))
            tls = None
            if config.tls_enabled:
                tls = TenantTls(config.tls_cert, config.tls_key, self.access, config.tls_namespace_suffix)
            server = await self._bind(service, operator, wrap, tls)
            await server.start()
            if self._admin_server is not None:
                await self._admin_server.start()
        except BaseException:
            await self._stop_admin(None)
            if self.access is not None:
                await self.access.stop()
                self.access = None
            if self.reaper is not None:
                await self.reaper.stop()
                self.reaper = None
            if self._batches is not None:
                await self._batches.stop()
                self._batches = None
            if self._scheduler is not None:
                await self._scheduler.stop()
                self._scheduler = None
            if self._retention is not None:
                await self._retention.stop()
                self._retention = None
            if self._history is not None:
                await self._history.stop()
                self._history = None
            await store.close()
            raise
        self._store, self._server = store, server
        await self._health.serving()
        mode = ", dev mode" if config.dev else ""
        mode += ", TLS" if config.tls_enabled else ""
        log.info("engine listening on %s (store: %s%s)", self.address, config.database, mode)
        if self._admin_server is not None:
            log.info("engine admin API listening on %s", self.admin_address)

    async def stop(self, grace: float | None = None) -> None:
        """Report NOT_SERVING, let in-flight RPCs finish for `grace` seconds, close the store."""
        server, self._server = self._server, None
        store, self._store = self._store, None
        await self._stop_admin(1.0)
        if server is not None:
            await self._health.shutting_down()
            await server.stop(self.config.grace_period if grace is None else grace)
        access, self.access = self.access, None
        if access is not None:
            await access.stop()
        reaper, self.reaper = self.reaper, None
        if reaper is not None:
            await reaper.stop()
        batches, self._batches = self._batches, None
        if batches is not None:
            await batches.stop()
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            await scheduler.stop()
        retention, self._retention = self._retention, None
        if retention is not None:
            await retention.stop()
        history, self._history = self._history, None
        if history is not None:
            await history.stop()
        if store is not None:
            await store.close()
            stats = getattr(store, "stats", None)
            if stats is not None and stats.transactions:
                log.info(
                    "store wrote %d transitions in %d transactions (largest batch %d, %d conflicts)",
                    stats.commits,
                    stats.transactions,
                    stats.largest_batch,
                    stats.conflicts,
                )

    async def serve_forever(self) -> None:
        """Serve until SIGTERM or SIGINT, then shut down gracefully."""
        stop_requested = asyncio.Event()
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT)

        def request_stop(sig: signal.Signals) -> None:
            log.info("engine stopping (%s)", sig.name)
            stop_requested.set()

        for sig in signals:
            loop.add_signal_handler(sig, request_stop, sig)
        try:
            await self.start()
            await stop_requested.wait()
        finally:
            await self.stop()
            for sig in signals:
                loop.remove_signal_handler(sig)

    async def _bind(
        self, service: WorkflowService, operator: OperatorService, wrap: Wrapper | None, tls: TenantTls | None
    ) -> grpc.aio.Server | GrpcServer:
        server = GrpcServer(tls.context) if tls is not None else self._new_server()
        add_workflow_service(server, service, wrap=wrap)
        add_operator_service(server, operator, wrap=wrap)
        self._health.register(server)
        await self._health.starting()
        self.port = await _listen(server, self.config.host, self.config.port)
        return server

    async def _bind_admin(self, admin: AdminService) -> grpc.aio.Server | GrpcServer:
        server = self._new_server()
        admin.register(server)
        self.admin_port = await _listen(server, self.config.admin_host, self.config.admin_port)
        return server

    async def _stop_admin(self, grace: float | None) -> None:
        server, self._admin_server = self._admin_server, None
        if server is not None:
            await server.stop(grace)

    def _new_server(self) -> grpc.aio.Server | GrpcServer:
        if self.config.transport == "grpcio":
            return grpc.aio.server(options=_SERVER_OPTIONS)
        return GrpcServer()


async def _listen(server: grpc.aio.Server | GrpcServer, host: str, port: int) -> int:
    """Bind `host:port` (0: any free port); the bound port. Raises `ConfigError`."""
    error: OSError | None = None
    try:
        bound = server.add_insecure_port(format_address(host, port))
    except OSError as exc:  # the engine's own transport says why
        bound, error = 0, exc
    except RuntimeError:  # grpc raises when nothing could be bound
        bound = 0
    if bound == 0:
        await server.stop(None)
        raise port_error(host, port, error)
    return bound
