"""A local webhook receiver: a real HTTP server on a free port that records every delivery and
answers 500 to the first ``failures`` of them (to exercise retries), 204 after that."""

from __future__ import annotations

import http.server
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Delivery:
    at: float  # time.time() when it arrived
    headers: dict[str, str]
    body: bytes
    answered: int


class WebhookReceiver(http.server.ThreadingHTTPServer):
    def __init__(self, failures: int = 0):
        self.failures = failures
        self.deliveries: list[Delivery] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if len(receiver.deliveries) < receiver.failures else 204
                receiver.deliveries.append(Delivery(time.time(), dict(self.headers), body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
