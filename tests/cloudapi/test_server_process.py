"""``sundial cloudapi`` serves the API as its own process and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr
from temporalio.service import RPCError, RPCStatusCode

from cloud.supervisor import UpConfig, component_commands
from tests.cloudapi.support import connect
from tests.support.backends import process_databases
from tests.support.net import free_port, wait_until


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_the_cloudapi_command_serves_and_stops_on_sigterm(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    with process_databases(tmp_path / "var") as databases:
        env = {**subprocess_env, **databases, "SUNDIAL_CLOUD_API_PORT": str(port)}
        migrate = subprocess.run(
            [sys.executable, "-m", "cloud.cli", "manage", "migrate", "-v", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stderr
        log = tmp_path / "cloudapi.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "cloud.cli", "cloudapi"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_until(lambda: _port_open(port), timeout=60, what=f"port {port}", context=log.read_text)
            loop = asyncio.new_event_loop()
            try:
                cloud = connect(loop, f"127.0.0.1:{port}", "sdl_0123456789abcdef_nosuchsecret")
                with pytest.raises(RPCError) as refused:
                    cloud("get_account", rr.GetAccountRequest())
            finally:
                loop.close()
            assert refused.value.status == RPCStatusCode.UNAUTHENTICATED
            assert refused.value.message == "invalid API key"  # the key was looked up in the database

            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=30) == 0
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    assert f"Cloud Ops API listening on 127.0.0.1:{port}" in log.read_text()


def test_the_cloudapi_command_names_a_busy_port(subprocess_env: dict[str, str]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "cloud.cli", "cloudapi"],
            env={**subprocess_env, "SUNDIAL_CLOUD_API_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert result.stderr.strip() == f"sundial cloudapi: error: Cloud Ops API port {port} on 127.0.0.1 is already in use"


def test_sundial_up_runs_the_cloud_api_on_its_configured_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUNDIAL_CLOUD_API_HOST", "0.0.0.0")
    monkeypatch.setenv("SUNDIAL_CLOUD_API_PORT", "7300")
    config = UpConfig.from_env(Path("/tmp/unused"))
    assert (config.cloud_api_host, config.cloud_api_port) == ("0.0.0.0", 7300)
    assert component_commands(config)["cloudapi"].endswith("-m cloud.cli cloudapi")
