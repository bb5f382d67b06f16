"""`sundial up` runs every component, answers on both ports, and stops without orphans."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from tests.support.backends import process_databases
from tests.support.net import free_port, http_get, wait_until
from tests.support.procs import descendants, is_running

pytestmark = pytest.mark.slow


async def _engine_system_info(port: int) -> tuple[str, bool]:
    client = await Client.connect(f"127.0.0.1:{port}", namespace="default")
    info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
    return info.server_version, info.capabilities.sdk_metadata


def test_up_serves_web_and_engine_then_stops_every_process(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    web_port, engine_port, cloud_api_port = free_port(), free_port(), free_port()
    with process_databases(tmp_path / "var") as databases:
        env = {
            **subprocess_env,
            **databases,
            "SUNDIAL_WEB_PORT": str(web_port),
            "SUNDIAL_ENGINE_PORT": str(engine_port),
            "SUNDIAL_CLOUD_API_PORT": str(cloud_api_port),
        }
        log = tmp_path / "up.log"
        with log.open("wb") as out:
            up = subprocess.Popen(
                [sys.executable, "-m", "cloud.cli", "up"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        family: set[int] = set()
        try:
            wait_until(
                lambda: (http_get(f"http://127.0.0.1:{web_port}/healthz") or (0, b""))[0] == 200,
                timeout=90,
                what=f"/healthz on port {web_port}",
                context=log.read_text,
            )
            status, body = http_get(f"http://127.0.0.1:{web_port}/healthz") or (0, b"")
            assert (status, json.loads(body)["status"]) == (200, "ok")

            version, sdk_metadata = asyncio.run(_engine_system_info(engine_port))
            assert version
            assert sdk_metadata is True

            wait_until(
                lambda: " ready." in log.read_text() and "beat: Starting" in log.read_text(),
                timeout=60,
                what="the Celery worker and beat to start",
                context=log.read_text,
            )
            family = descendants(up.pid)
            assert len(family) >= 4, f"expected engine, web, worker and beat under sundial up, got {family}"

            up.send_signal(signal.SIGTERM)
            assert up.wait(timeout=60) == 0
            left = {pid for pid in family if is_running(pid)}
            assert not left, f"processes outlived sundial up: {left}"
        finally:
            if up.poll() is None:
                up.kill()
            for pid in family:
                if is_running(pid):
                    os.kill(pid, signal.SIGKILL)
        output = log.read_text()
    assert f"127.0.0.1:{engine_port}" in output
    assert f"http://127.0.0.1:{web_port}/" in output
    assert f"127.0.0.1:{cloud_api_port}  (Cloud Ops API)" in output
