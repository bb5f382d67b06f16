"""`sundial engine` / `python -m engine` as an operator runs it."""

from __future__ import annotations

import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.cli import main

Run = Callable[..., subprocess.CompletedProcess[str]]


def assert_one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"sundial engine: error: {expected}"]


def test_unknown_db_scheme(run_engine: Run) -> None:
    result = run_engine("--db", "mysql://root@localhost/sundial")
    assert_one_line_error(
        result,
        "unknown --db scheme 'mysql' (expected sqlite:///path or postgresql://user@host/db)",
    )


def test_unparseable_db_url(run_engine: Run) -> None:
    result = run_engine("--db", "engine.sqlite3")
    assert_one_line_error(
        result,
        "cannot parse --db URL 'engine.sqlite3' (expected sqlite:///path or postgresql://user@host/db)",
    )


def test_unparseable_port(run_engine: Run) -> None:
    result = run_engine("--port", "seventy")
    assert_one_line_error(result, "invalid port 'seventy' (expected a number 0-65535)")


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_port_already_in_use(run_engine: Run, busy_port: int, tmp_path: Path) -> None:
    result = run_engine("--port", str(busy_port), "--db", f"sqlite:///{tmp_path}/e.sqlite3")
    assert_one_line_error(result, f"port {busy_port} on 127.0.0.1 is already in use")


def test_unreachable_postgres(run_engine: Run, free_port: int) -> None:
    url = f"postgresql://postgres:hunter2@127.0.0.1:{free_port}/sundial"
    result = run_engine("--port", "0", "--db", url)
    assert_one_line_error(
        result,
        f"cannot connect to engine database postgresql://postgres@127.0.0.1:{free_port}/sundial: connection refused",
    )
    assert "hunter2" not in result.stderr


def test_main_returns_2_for_the_top_level_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", "mysql://root@localhost/sundial"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def read_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """Read the engine's stderr until a line contains `marker`."""
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if marker in line:
                return line
    raise AssertionError(f"engine never logged {marker!r}; stderr so far: {''.join(seen)}")


def test_sigterm_stops_the_engine_promptly(
    engine_db_url: str, free_port: int, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "--dev", "--port", str(free_port), "--db", engine_db_url],
        cwd=tmp_path,
        env=engine_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = read_until(proc, "engine listening on", timeout=30)
        assert f"127.0.0.1:{free_port}" in line
        assert "dev mode" in line

        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_the_engine_never_imports_the_control_plane(engine_env: dict[str, str]) -> None:
    check = (
        "import sys, engine.cli, engine.server\n"
        "leaked = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'django', 'cloud', 'accounts', 'namespaces', 'billing', 'audit', 'console'})\n"
        "print(','.join(leaked))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], env=engine_env, capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip() == ""
