"""Bad configuration stops start-up with one clear line, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.net import free_port


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloud.cli", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("notaurl", "DATABASE_URL is not a URL"),
        ("mysql://root@localhost/x", "scheme 'mysql' is not supported"),
        ("postgres://u@host:notaport/db", "DATABASE_URL is not a valid database URL"),
    ],
)
def test_up_rejects_an_unparseable_database_url(subprocess_env: dict[str, str], url: str, fragment: str) -> None:
    _assert_one_line_error(_run(["up"], {**subprocess_env, "DATABASE_URL": url}), fragment)


def test_database_url_errors_do_not_echo_the_password(subprocess_env: dict[str, str]) -> None:
    result = _run(["up"], {**subprocess_env, "DATABASE_URL": "postgres://u:hunter2@host:notaport/db"})
    _assert_one_line_error(result, "DATABASE_URL")
    assert "hunter2" not in result.stderr


def test_up_rejects_a_busy_web_port(subprocess_env: dict[str, str], busy_port: int) -> None:
    env = {**subprocess_env, "SUNDIAL_WEB_PORT": str(busy_port), "SUNDIAL_ENGINE_PORT": str(free_port())}
    _assert_one_line_error(_run(["up"], env), f"web port {busy_port} on 127.0.0.1 is already in use")


def test_up_rejects_a_busy_engine_port(subprocess_env: dict[str, str], busy_port: int) -> None:
    env = {**subprocess_env, "SUNDIAL_ENGINE_PORT": str(busy_port), "SUNDIAL_WEB_PORT": str(free_port())}
    _assert_one_line_error(_run(["up"], env), f"engine port {busy_port} on 127.0.0.1 is already in use")


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("SUNDIAL_WEB_PORT", "eighty", "SUNDIAL_WEB_PORT='eighty' is not a whole number"),
        ("SUNDIAL_ENGINE_PORT", "70000", "SUNDIAL_ENGINE_PORT=70000 is out of range"),
        ("SUNDIAL_ENGINE_DEV", "maybe", "SUNDIAL_ENGINE_DEV='maybe' is not a boolean"),
    ],
)
def test_up_rejects_bad_port_and_flag_values(
    subprocess_env: dict[str, str], name: str, value: str, fragment: str
) -> None:
    _assert_one_line_error(_run(["up"], {**subprocess_env, name: value}), fragment)


def test_up_rejects_an_unknown_engine_database_scheme(subprocess_env: dict[str, str]) -> None:
    result = _run(["up"], {**subprocess_env, "ENGINE_DATABASE_URL": "mysql://root@localhost/engine"})
    _assert_one_line_error(result, "ENGINE_DATABASE_URL", "mysql")


def test_engine_command_rejects_an_unknown_db_scheme(subprocess_env: dict[str, str]) -> None:
    result = _run(["engine", "--port", str(free_port()), "--db", "mongodb://localhost/x"], subprocess_env)
    _assert_one_line_error(result, "mongodb")


def test_an_unknown_command_is_named(subprocess_env: dict[str, str]) -> None:
    result = _run(["fly"], subprocess_env)
    assert result.returncode == 2
    assert "unknown command 'fly'" in result.stderr
