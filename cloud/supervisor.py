"""``sundial up``: every component on one machine under one honcho supervisor.

Before anything starts, the configuration is checked (settings load, the engine database URL
parses, every port is free, migrations apply) so that a mistake is reported as one line. Each
component runs in its own process group; SIGINT or SIGTERM stops them all, and honcho kills
what has not stopped within a few seconds, so no process outlives ``sundial up``.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

STOP_SIGNAL_CODES = {130, 143}  # honcho's return codes after SIGINT / SIGTERM


class ConfigurationError(Exception):
    """A problem with the configuration, reported to the user as one line."""


@dataclass(frozen=True)
class UpConfig:
    engine_host: str
    engine_port: int
    engine_db_url: str
    engine_dev: bool
    engine_admin_host: str
    engine_admin_port: int
    web_host: str
    web_port: int
    cloud_api_host: str
    cloud_api_port: int
    worker_concurrency: int

    @classmethod
    def from_env(cls, data_dir: Path) -> UpConfig:
        return cls(
            engine_host=os.environ.get("SUNDIAL_ENGINE_HOST", "127.0.0.1"),
            engine_port=_env_port("SUNDIAL_ENGINE_PORT", 7233),
            engine_db_url=os.environ.get("ENGINE_DATABASE_URL") or f"sqlite:///{data_dir / 'engine.sqlite3'}",
            engine_dev=_env_bool("SUNDIAL_ENGINE_DEV", True),
            engine_admin_host=os.environ.get("SUNDIAL_ENGINE_ADMIN_HOST", "127.0.0.1"),
            engine_admin_port=_env_port("SUNDIAL_ENGINE_ADMIN_PORT", 7234),
            web_host=os.environ.get("SUNDIAL_WEB_HOST", "127.0.0.1"),
            web_port=_env_port("SUNDIAL_WEB_PORT", 8000),
            cloud_api_host=os.environ.get("SUNDIAL_CLOUD_API_HOST", "127.0.0.1"),
            cloud_api_port=_env_port("SUNDIAL_CLOUD_API_PORT", 7243),
            worker_concurrency=_env_int("SUNDIAL_WORKER_CONCURRENCY", 2, minimum=1),
        )


def _env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"{minimum}–{maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigurationError(f"{name}={value} is out of range ({bounds})")
    return value


def _env_port(name: str, default: int) -> int:
    return _env_int(name, default, minimum=1, maximum=65535)


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean (use true or false)")


def ensure_port_free(host: str, port: int, what: str) -> None:
    """Fail with one line, naming the component, if something already listens on host:port."""
    from engine.errors import ConfigError
    from engine.ports import ensure_port_free as check_port

    try:
        check_port(host, port)
    except ConfigError as exc:
        raise ConfigurationError(f"{what} {exc}") from None


def setup_django() -> None:
    """Load settings and apps; configuration mistakes become ConfigurationError."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloud.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        raise ConfigurationError(str(exc)) from None


def apply_migrations() -> None:
    from django.core.management import call_command
    from django.db import DatabaseError

    try:
        call_command("migrate", interactive=False, verbosity=0)
    except DatabaseError as exc:
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        raise ConfigurationError(f"cannot migrate the control-plane database: {first}") from None


def _check_engine_db(url: str) -> None:
    from engine.errors import ConfigError
    from engine.persistence.url import parse_database_url

    try:
        parse_database_url(url)
    except ConfigError as exc:
        raise ConfigurationError(f"ENGINE_DATABASE_URL: {exc}") from None


def component_commands(config: UpConfig) -> dict[str, str]:
    """The shell command of every component, each ``exec``'d so signals reach it directly.

    The engine's secrets (admin API secret, API-key pepper) travel in the environment, never in
    the command line that ``ps`` shows (see ``engine_environment``).
    """
    python = shlex.quote(sys.executable)
    engine = [
        "-m",
        "engine",
        "--host",
        config.engine_host,
        "--port",
        str(config.engine_port),
        "--db",
        config.engine_db_url,
        "--admin-host",
        config.engine_admin_host,
        "--admin-port",
        str(config.engine_admin_port),
    ]
    if config.engine_dev:
        engine.append("--dev")
    return {
        "engine": f"exec {python} {shlex.join(engine)}",
        "web": f"exec {python} -m cloud.cli web",
        "cloudapi": f"exec {python} -m cloud.cli cloudapi",
        "worker": f"exec {python} -m cloud.cli worker",
        "beat": f"exec {python} -m cloud.cli beat",
    }


def engine_environment(config: UpConfig) -> dict[str, str]:
    """What the control plane and the engine must agree on, from the control plane's settings:
    the admin API's address and secret, and the pepper of API-key digests."""
    from django.conf import settings

    return {
        "SUNDIAL_ENGINE_ADMIN_SECRET": settings.SUNDIAL_ENGINE_ADMIN_SECRET,
        "API_KEY_PEPPER": settings.API_KEY_PEPPER,
        "SUNDIAL_ENGINE_ADMIN_ADDRESS": os.environ.get("SUNDIAL_ENGINE_ADMIN_ADDRESS")
        or f"{config.engine_admin_host}:{config.engine_admin_port}",
    }


def run_up(*, migrate: bool = True) -> int:
    setup_django()
    from django.conf import settings

    config = UpConfig.from_env(Path(settings.DATA_DIR))
    _check_engine_db(config.engine_db_url)
    ensure_port_free(config.engine_host, config.engine_port, "engine")
    ensure_port_free(config.web_host, config.web_port, "web")
    ensure_port_free(config.cloud_api_host, config.cloud_api_port, "Cloud Ops API")
    ensure_port_free(config.engine_admin_host, config.engine_admin_port, "engine admin")
    if migrate:
        apply_migrations()

    from honcho.manager import Manager

    print(f"sundial: engine  gRPC  {config.engine_host}:{config.engine_port}  (store {_redact(config.engine_db_url)})")
    print(f"sundial: engine  admin {config.engine_admin_host}:{config.engine_admin_port}  (control plane only)")
    print(f"sundial: web     http://{config.web_host}:{config.web_port}/  (HTTP + WebSocket)")
    print(f"sundial: cloudapi gRPC  {config.cloud_api_host}:{config.cloud_api_port}  (Cloud Ops API)")
    print(f"sundial: worker  Celery, broker {_redact(settings.CELERY_BROKER_URL)}")
    print("sundial: beat    Celery beat, schedule in the control-plane database")
    sys.stdout.flush()

    env = dict(os.environ)
    env.update(
        PYTHONUNBUFFERED="1",
        SUNDIAL_WEB_HOST=config.web_host,
        SUNDIAL_WEB_PORT=str(config.web_port),
        SUNDIAL_CLOUD_API_HOST=config.cloud_api_host,
        SUNDIAL_CLOUD_API_PORT=str(config.cloud_api_port),
        SUNDIAL_ENGINE_ADDRESS=env.get("SUNDIAL_ENGINE_ADDRESS") or f"{config.engine_host}:{config.engine_port}",
        **engine_environment(config),
    )
    manager = Manager()
    for name, command in component_commands(config).items():
        manager.add_process(name, command, env=env)
    manager.loop()
    code = manager.returncode or 0
    return 0 if code in STOP_SIGNAL_CODES else code


def exec_component(name: str) -> NoReturn:
    """Replace this process with one component (used by ``sundial up`` and by hand)."""
    setup_django()
    from django.conf import settings

    if name == "web":
        host = os.environ.get("SUNDIAL_WEB_HOST", "127.0.0.1")
        port = _env_port("SUNDIAL_WEB_PORT", 8000)
        ensure_port_free(host, port, "web")
        argv = ["-m", "daphne", "-b", host, "-p", str(port), "--proxy-headers", "cloud.asgi:application"]
    elif name == "cloudapi":
        host = os.environ.get("SUNDIAL_CLOUD_API_HOST", "127.0.0.1")
        port = _env_port("SUNDIAL_CLOUD_API_PORT", 7243)
        ensure_port_free(host, port, "Cloud Ops API")
        argv = ["-m", "cloudapi", "--host", host, "--port", str(port)]
    elif name == "worker":
        concurrency = _env_int("SUNDIAL_WORKER_CONCURRENCY", 2, minimum=1)
        argv = ["-m", "celery", "-A", "cloud", "worker", "-l", "INFO", "-c", str(concurrency), "-n", "sundial@%h"]
    elif name == "beat":
        schedule = str(Path(settings.DATA_DIR) / "celerybeat-schedule")
        argv = ["-m", "celery", "-A", "cloud", "beat", "-l", "INFO", "--pidfile=", "-s", schedule]
    else:
        raise ConfigurationError(f"unknown component {name!r}")
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, *argv])  # noqa: S606  (fixed argv, no shell)


def _redact(url: str) -> str:
    """Hide the password part of a URL before printing it."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}{':***' if ':' in creds else ''}@{host}"
