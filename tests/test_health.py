"""GET /healthz and the WebSocket probe, on whichever backends this pass runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from cloud.asgi import application
from tests.support.backends import redis_url
from tests.support.net import free_port, http_get, wait_until


@pytest.mark.django_db
def test_healthz_answers_200_when_the_database_answers(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_rejects_writes(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db(transaction=True)
async def test_websocket_probe_round_trips_through_the_channel_layer() -> None:
    communicator = WebsocketCommunicator(application, "/ws/healthz", headers=[(b"origin", b"http://localhost")])
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    message = json.loads(await communicator.receive_from(timeout=5))
    expected_layer = "RedisChannelLayer" if redis_url() else "InMemoryChannelLayer"
    assert message == {"status": "ok", "channel_layer": expected_layer}
    await communicator.disconnect()


async def test_websocket_probe_refuses_foreign_origins() -> None:
    communicator = WebsocketCommunicator(application, "/ws/healthz", headers=[(b"origin", b"http://evil.example")])
    connected, _ = await communicator.connect(timeout=10)
    assert not connected


def test_healthz_answers_503_when_the_database_is_down(subprocess_env: dict[str, str]) -> None:
    """The web app keeps answering, and says the database is unavailable, while it is down."""
    dead_db_port, web_port = free_port(), free_port()
    env = {
        **subprocess_env,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{dead_db_port}/nothing",
        "SUNDIAL_WEB_PORT": str(web_port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloud.cli", "web"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        answers: list[tuple[int, bytes]] = []

        def web_answers() -> bool:
            answer = http_get(f"http://127.0.0.1:{web_port}/healthz")
            answers.extend([answer] if answer else [])
            return answer is not None

        wait_until(web_answers, timeout=30, what="the web app to answer")
        status, body = answers[-1]
        assert status == 503
        payload = json.loads(body)
        assert payload["status"] == "unavailable"
        assert payload["database"].startswith("database error")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
