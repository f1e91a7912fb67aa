"""A real HTTP server on 127.0.0.1 standing in for a Slack incoming webhook: it records every
JSON body POSTed to it and answers with a chosen status."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookReceiver:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[dict] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.paths.append(self.path)
                    receiver.received.append(json.loads(body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        # A path like Slack's, standing for the secret part of a real webhook URL.
        self.url = f"http://127.0.0.1:{self.port}/services/T000/B000/not-a-real-secret"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def texts(self) -> list[str]:
        with self._lock:
            return [body.get("text", "") for body in self.received]

    def wait_for(self, needle: str, timeout: float) -> str | None:
        """The first received text containing ``needle``, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            for text in self.texts():
                if needle in text:
                    return text
            if time.monotonic() > deadline:
                return None
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop listening (again: nothing happens)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._server.server_close()
