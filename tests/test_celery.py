"""A real Celery worker runs control-plane tasks over this pass's broker (filesystem or Redis)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from cloud.tasks import check_database
from tests.support.backends import process_databases, redis_url

pytestmark = pytest.mark.slow


def test_the_configured_broker_is_the_one_this_pass_expects() -> None:
    if redis_url():
        assert redis_url() == settings.CELERY_BROKER_URL
    else:
        assert settings.CELERY_BROKER_URL.startswith("filesystem://")
        folders = [Path(str(path)) for key, path in settings.CELERY_BROKER_TRANSPORT_OPTIONS.items() if "folder" in key]
        assert {"data_folder_in", "data_folder_out", "processed_folder", "control_folder"} <= set(
            settings.CELERY_BROKER_TRANSPORT_OPTIONS
        )
        # every broker file lives in the data dir, never in the working directory
        assert all(folder.is_dir() and folder.is_relative_to(settings.DATA_DIR) for folder in folders)


def test_a_worker_runs_a_task_and_returns_its_result(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    queue = f"test-{uuid.uuid4().hex[:10]}"  # private queue: concurrent runs never steal each other's tasks
    with process_databases(tmp_path / "worker-var") as databases:
        # The worker shares this process's data dir, where the filesystem broker and results live.
        env = {**subprocess_env, **databases, "SUNDIAL_DATA_DIR": str(settings.DATA_DIR)}
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "cloud",
                "worker",
                "-P",
                "solo",
                "-Q",
                queue,
                "-l",
                "WARNING",
                "-n",
                f"{queue}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            result = check_database.apply_async(queue=queue)
            assert result.get(timeout=60) == "ok"
        finally:
            worker.terminate()
            output = worker.communicate(timeout=30)[0].decode()
    assert "Traceback" not in output, output
