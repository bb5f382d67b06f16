"""`sundial engine` outside dev mode, configured as an operator does: the admin API's secret and
the API-key pepper from the environment."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from engine.admin_client import EngineAdminClient, EngineAdminError
from tests.engine.auth_support import ADMIN_SECRET, PEPPER, Account, namespace_spec
from tests.engine.conftest import pick_free_port
from tests.engine.test_engine_cli import Run, assert_one_line_error, read_until


def test_an_unparseable_admin_port(run_engine: Run) -> None:
    result = run_engine("--admin-port", "seventy")
    assert_one_line_error(result, "invalid port 'seventy' (expected a number 0-65535)")


def test_the_admin_port_must_differ_from_the_grpc_port(run_engine: Run) -> None:
    result = run_engine("--port", "7300", "--admin-port", "7300", "--admin-secret", "s")
    assert_one_line_error(result, "the admin port 7300 must differ from the gRPC port")


async def test_an_engine_configured_from_the_environment_enforces_api_keys(
    engine_db_url: str, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    port, admin_port = pick_free_port(), pick_free_port()
    env = {
        **engine_env,
        "SUNDIAL_ENGINE_ADMIN_PORT": str(admin_port),
        "SUNDIAL_ENGINE_ADMIN_SECRET": ADMIN_SECRET,
        "API_KEY_PEPPER": PEPPER,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "--port", str(port), "--db", engine_db_url],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # the admin API starts before this line is logged (the next line, which names it, may sit
        # in the pipe's read buffer where the selector cannot see it)
        line = read_until(proc, "engine listening on", timeout=30)
        assert f"127.0.0.1:{port}" in line
        assert "dev mode" not in line
        with EngineAdminClient(f"127.0.0.1:{admin_port}", ADMIN_SECRET) as admin:
            admin.put_namespace(namespace_spec("payments", "ab12c"))
            account = Account("ab12c")
            key = account.key_for(account.principal("deployer", grants={"payments": "write"}))
            admin.sync_account_access(account.document())
        with EngineAdminClient(f"127.0.0.1:{admin_port}", "guess") as intruder:
            with pytest.raises(EngineAdminError) as caught:
                intruder.delete_namespace("payments.ab12c")
            assert caught.value.code == grpc.StatusCode.UNAUTHENTICATED

        client = await Client.connect(f"127.0.0.1:{port}", namespace="payments.ab12c", api_key=key.token, tls=False)
        described = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace="payments.ab12c")
        )
        assert described.namespace_info.name == "payments.ab12c"
        with pytest.raises(RuntimeError, match="code: Unauthenticated"):
            await Client.connect(f"127.0.0.1:{port}", namespace="payments.ab12c")

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
