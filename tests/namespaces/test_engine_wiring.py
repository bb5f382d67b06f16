"""`sundial up` gives the engine what the control plane provisions it with: the admin API's
address and secret and the API-key pepper, the secrets through the environment only."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from cloud.supervisor import UpConfig, component_commands, engine_environment


def _config(**overrides: object) -> UpConfig:
    values: dict[str, object] = {
        "engine_host": "127.0.0.1",
        "engine_port": 7233,
        "engine_db_url": "sqlite:///engine.sqlite3",
        "engine_dev": False,
        "engine_admin_host": "127.0.0.1",
        "engine_admin_port": 17234,
        "web_host": "127.0.0.1",
        "web_port": 8000,
        "cloud_api_host": "127.0.0.1",
        "cloud_api_port": 7243,
        "worker_concurrency": 1,
    }
    values.update(overrides)
    return UpConfig(**values)  # type: ignore[arg-type]


def test_the_engine_is_started_with_its_admin_port_and_no_secret_on_the_command_line() -> None:
    command = component_commands(_config())["engine"]
    assert "--admin-host 127.0.0.1 --admin-port 17234" in command
    assert settings.SUNDIAL_ENGINE_ADMIN_SECRET not in command
    assert settings.API_KEY_PEPPER not in command


def test_the_engine_and_the_control_plane_share_secret_pepper_and_address(monkeypatch) -> None:
    monkeypatch.delenv("SUNDIAL_ENGINE_ADMIN_ADDRESS", raising=False)
    assert engine_environment(_config()) == {
        "SUNDIAL_ENGINE_ADMIN_SECRET": settings.SUNDIAL_ENGINE_ADMIN_SECRET,
        "API_KEY_PEPPER": settings.API_KEY_PEPPER,
        "SUNDIAL_ENGINE_ADMIN_ADDRESS": "127.0.0.1:17234",
    }
    monkeypatch.setenv("SUNDIAL_ENGINE_ADMIN_ADDRESS", "engine.internal:9000")
    assert engine_environment(_config())["SUNDIAL_ENGINE_ADMIN_ADDRESS"] == "engine.internal:9000"


def _secret_of_a_fresh_process(env: dict[str, str]) -> str:
    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.SUNDIAL_ENGINE_ADMIN_SECRET)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "cloud.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_the_embedded_admin_secret_is_generated_once_and_private(subprocess_env: dict[str, str]) -> None:
    env = {k: v for k, v in subprocess_env.items() if k != "SUNDIAL_ENGINE_ADMIN_SECRET"}
    first = _secret_of_a_fresh_process(env)
    assert len(first) >= 32
    assert _secret_of_a_fresh_process(env) == first  # the web app, the worker and the engine agree
    path = Path(env["SUNDIAL_DATA_DIR"]) / "engine_admin_secret"
    assert path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _secret_of_a_fresh_process({**env, "SUNDIAL_ENGINE_ADMIN_SECRET": "given"}) == "given"


def test_retries_back_off_to_five_minutes() -> None:
    from namespaces.tasks import provision, retry_delay, sync_account_access

    assert [retry_delay(n) for n in (0, 1, 2, 3, 8, 9, 100)] == [1, 2, 4, 8, 256, 300, 300]
    for task in (provision, sync_account_access):
        assert (task.acks_late, task.reject_on_worker_lost, task.max_retries) == (True, True, None)
