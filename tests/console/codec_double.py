"""A codec server for the browser tests, speaking the protocol Temporal's UI uses
(``POST <endpoint>/decode`` with ``{"payloads": [...]}`` in Temporal's JSON form, CORS with the
``X-Namespace`` header), and the SDK-side codec it undoes: each payload is serialized and its
bytes reversed, under the encoding ``binary/sundial-reversed`` the console cannot read itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.json_format import MessageToDict, ParseDict
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

ENCODING = b"binary/sundial-reversed"


class ReversingCodec(PayloadCodec):
    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [Payload(metadata={"encoding": ENCODING}, data=p.SerializeToString()[::-1]) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [unreverse(p) for p in payloads]


def unreverse(payload: Payload) -> Payload:
    if payload.metadata.get("encoding") != ENCODING:
        return payload
    inner = Payload()
    inner.ParseFromString(payload.data[::-1])
    return inner


@dataclass
class CodecDouble:
    url: str
    namespaces: list[str] = field(default_factory=list)  # the X-Namespace of each decode call


@contextmanager
def codec_double() -> Iterator[CodecDouble]:
    double = CodecDouble(url="")

    class Handler(BaseHTTPRequestHandler):
        def _cors(self) -> None:
            self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
            self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "Content-Type, X-Namespace")

        def do_OPTIONS(self) -> None:
            self.send_response(204)
            self._cors()
            self.end_headers()

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/decode":
                self.send_response(404)
                self._cors()
                self.end_headers()
                return
            double.namespaces.append(self.headers.get("X-Namespace", ""))
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            payloads = ParseDict(body, Payloads())
            decoded = Payloads(payloads=[unreverse(p) for p in payloads.payloads])
            answer = json.dumps(MessageToDict(decoded)).encode()
            self.send_response(200)
            self._cors()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    double.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield double
    finally:
        server.shutdown()
        server.server_close()
