"""The ``sundial`` command: run the whole product, or one component of it.

``sundial up`` runs every component on one machine under honcho; ``sundial engine`` runs the
engine alone (it never loads Django); ``sundial manage …`` is Django's ``manage.py``.
Configuration problems end the command with one line naming the problem, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cloud.supervisor import ConfigurationError, run_up

USAGE = """\
usage: sundial <command> [options]

commands:
  up        run the engine, the web app, a Celery worker and beat together
  engine    run the engine alone (sundial engine --help)
  web       run the web app (ASGI: HTTP + WebSocket)
  cloudapi  run the Cloud Ops gRPC API (temporal.api.cloud.cloudservice.v1.CloudService)
  worker    run a Celery worker
  beat      run Celery beat
  demo      create the demo account and print how to sign in
  audit     the audit log: verify its hash chain, export, apply retention (sundial audit --help)
  manage    Django's manage.py (e.g. sundial manage migrate)
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(USAGE, end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "engine":
        from engine.cli import main as engine_main

        return engine_main(rest)
    if command == "manage":
        return run_django_command(["sundial manage", *rest])
    if command == "audit":
        return run_django_command(["sundial", "audit", *rest])
    if command == "demo":
        return run_django_command(["sundial manage", "demo_account", *rest])
    if command in {"up", "web", "cloudapi", "worker", "beat"}:
        return _run_component(command, rest)
    print(f"sundial: error: unknown command {command!r}\n\n{USAGE}", end="", file=sys.stderr)
    return 2


def _run_component(command: str, rest: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"sundial {command}")
    if command == "up":
        parser.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
    options = parser.parse_args(rest)
    try:
        if command == "up":
            return run_up(migrate=not options.no_migrate)
        from cloud.supervisor import exec_component

        exec_component(command)
    except ConfigurationError as exc:
        print(f"sundial {command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


def run_django_command(argv: list[str]) -> int:
    """Django's command line, with configuration errors reduced to one line."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloud.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import OperationalError

    try:
        execute_from_command_line(argv)
    except ImproperlyConfigured as exc:
        print(f"sundial: error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"sundial: error: database unavailable: {_first_line(exc)}", file=sys.stderr)
        return 2
    return 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


if __name__ == "__main__":
    sys.exit(main())
