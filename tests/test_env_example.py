""".env.example lists every variable Sundial reads, and its values are a working configuration."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

READERS = re.compile(r"""(?:env\.\w+|os\.environ\.get|_env_\w+|environ\.get)\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def _example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def _variables_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for folder in ("cloud", "engine"):
        for path in (ROOT / folder).rglob("*.py"):
            names.update(READERS.findall(path.read_text()))
    return names - {"DJANGO_SETTINGS_MODULE"}


def test_every_variable_the_code_reads_is_documented() -> None:
    read = _variables_read_by_the_code()
    assert {"DATABASE_URL", "SUNDIAL_WEB_PORT", "SUNDIAL_ENGINE_PORT", "REDIS_URL"} <= read  # the scan works
    assert read - set(_example()) == set()


def test_the_example_values_are_a_working_configuration(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in subprocess_env.items() if k not in _variables_read_by_the_code()}
    env.update(_example())
    result = subprocess.run(
        [sys.executable, "-m", "cloud.cli", "manage", "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "secret_key").exists()
