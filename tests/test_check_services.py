"""`make test` names an unreachable PostgreSQL or Redis in one line instead of failing obscurely."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT
from tests.support.net import free_port


def _check(pg: str, redis: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_services.py"), pg, redis],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_each_unreachable_service_is_one_clear_line() -> None:
    pg_port, redis_port = free_port(), free_port()
    result = _check(f"postgres://postgres@127.0.0.1:{pg_port}", f"redis://127.0.0.1:{redis_port}/0")
    assert result.returncode == 1
    pg_line, redis_line = result.stderr.strip().splitlines()
    assert f"PostgreSQL at 127.0.0.1:{pg_port} cannot be reached" in pg_line
    assert f"Redis at redis://127.0.0.1:{redis_port}/0 cannot be reached" in redis_line
    assert "SUNDIAL_TEST_BACKENDS=sqlite" in pg_line
