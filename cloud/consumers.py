"""WebSocket health probe: proves the socket path and the channel layer work end to end."""

from __future__ import annotations

import json
import uuid
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer


class HealthConsumer(AsyncWebsocketConsumer):
    """On connect, joins a private group and sends itself a message through the channel layer.

    The client sees ``{"status": "ok", "channel_layer": "<backend>"}`` only when the message made
    the round trip through the configured layer (in-memory or Redis).
    """

    group: str

    async def connect(self) -> None:
        await self.accept()
        assert self.channel_layer is not None
        self.group = f"healthz.{uuid.uuid4().hex}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_send(self.group, {"type": "health.echo"})

    async def health_echo(self, event: dict[str, Any]) -> None:
        backend = type(self.channel_layer).__name__
        await self.send(text_data=json.dumps({"status": "ok", "channel_layer": backend}))

    async def disconnect(self, code: int) -> None:
        if self.channel_layer is not None and getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)
