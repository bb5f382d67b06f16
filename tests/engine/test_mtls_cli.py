"""`sundial engine` serving TLS as an operator configures it: the PEM files and the endpoint
suffix from the environment, the process on its production event loop (uvloop)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from engine.admin_client import EngineAdminClient
from tests.engine.auth_support import ADMIN_SECRET, PEPPER, namespace_spec
from tests.engine.conftest import pick_free_port
from tests.engine.mtls_support import server_tls, tls_config
from tests.engine.test_engine_cli import Run, assert_one_line_error, read_until
from tests.support.certs import make_ca, make_leaf


def test_a_tls_certificate_without_its_key(run_engine: Run, tmp_path: Path) -> None:
    files = server_tls(tmp_path)
    result = run_engine("--tls-cert", str(files.cert_file))
    assert_one_line_error(result, "--tls-cert and --tls-key go together: give both PEM files or neither")


def test_a_missing_tls_file(run_engine: Run, tmp_path: Path) -> None:
    files = server_tls(tmp_path)
    result = run_engine("--tls-cert", str(files.cert_file), "--tls-key", str(tmp_path / "nope.key"))
    assert_one_line_error(result, f"TLS file {tmp_path / 'nope.key'} does not exist")


def test_tls_on_the_grpcio_transport(run_engine: Run, tmp_path: Path) -> None:
    files = server_tls(tmp_path)
    result = run_engine("--tls-cert", str(files.cert_file), "--tls-key", str(files.key_file), "--transport", "grpcio")
    assert_one_line_error(
        result, "TLS is served by the engine's own transport only: drop --transport grpcio or the TLS files"
    )


def test_a_bad_namespace_suffix(run_engine: Run) -> None:
    result = run_engine("--tls-namespace-suffix", "not a name")
    assert_one_line_error(result, "TLS namespace suffix 'not a name' is not a DNS name")


async def test_an_engine_configured_from_the_environment_serves_mtls(
    engine_db_url: str, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    files = server_tls(tmp_path, suffix="tenants.example")
    ca = make_ca("Payments Root CA")
    port, admin_port = pick_free_port(), pick_free_port()
    env = {
        **engine_env,
        "SUNDIAL_ENGINE_ADMIN_PORT": str(admin_port),
        "SUNDIAL_ENGINE_ADMIN_SECRET": ADMIN_SECRET,
        "API_KEY_PEPPER": PEPPER,
        "SUNDIAL_ENGINE_TLS_CERT": str(files.cert_file),
        "SUNDIAL_ENGINE_TLS_KEY": str(files.key_file),
        "SUNDIAL_ENGINE_TLS_NAMESPACE_SUFFIX": "tenants.example",
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
        line = read_until(proc, "engine listening on", timeout=30)
        assert "TLS" in line
        with EngineAdminClient(f"127.0.0.1:{admin_port}", ADMIN_SECRET) as admin:
            admin.put_namespace(namespace_spec("payments", "ab12c", mtls={"ca_bundle_pem": ca.pem, "filters": []}))
        tls = tls_config(files, "payments.ab12c.tenants.example", make_leaf(ca))
        client = await Client.connect(f"127.0.0.1:{port}", namespace="payments.ab12c", tls=tls)
        described = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace="payments.ab12c")
        )
        assert described.namespace_info.name == "payments.ab12c"
        stranger = tls_config(files, "payments.ab12c.tenants.example", make_leaf(make_ca("Other CA")))
        with pytest.raises(RuntimeError, match=r"tonic::transport::Error\(Transport"):  # a failed handshake
            await Client.connect(f"127.0.0.1:{port}", namespace="payments.ab12c", tls=stranger)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
