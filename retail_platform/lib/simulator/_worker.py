"""Worker processes for long simulations.

Each worker is a fresh interpreter running ``main()`` below: it reads
length-prefixed pickled requests on stdin and answers on stdout, in order. Unlike
``multiprocessing``'s spawn/forkserver it never re-imports the caller's ``__main__``
(so scripts need no ``if __name__ == "__main__"`` guard), and unlike fork it does not
copy a possibly multi-threaded parent. The worker registers bare parent packages so
that importing the simulator does not import ``retail_platform/__init__.py`` (which
loads dagster, ~2 s per worker); the simulator itself never needs dagster.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any, BinaryIO

_HEADER = 8


def _send(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(_HEADER, "little"))
    stream.write(data)
    stream.flush()


def _recv(stream: BinaryIO) -> Any:
    header = stream.read(_HEADER)
    if len(header) < _HEADER:
        raise EOFError
    size = int.from_bytes(header, "little")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


class WorkerPool:
    """``n`` worker processes; requests to one worker are answered in order."""

    def __init__(self, n: int) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        package = Path(__file__).resolve().parents[2]  # .../retail_platform
        parents = [("retail_platform", str(package)), ("retail_platform.lib", str(package / "lib"))]
        bootstrap = (
            "import sys, types\n"
            f"for name, path in {parents!r}:\n"
            "    module = types.ModuleType(name)\n"
            "    module.__path__ = [path]\n"
            "    sys.modules[name] = module\n"
            f"from {__name__} import main\n"
            "main()\n"
        )
        self._procs = [
            subprocess.Popen(
                [sys.executable, "-c", bootstrap],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
            for _ in range(n)
        ]
        for proc in self._procs:  # bigger pipes (Linux): fewer wake-ups for ~15 MB answers
            for stream in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError, AttributeError, ImportError):
                    import fcntl

                    fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)

    def __len__(self) -> int:
        return len(self._procs)

    def submit(self, worker: int, func: str, *args: Any) -> None:
        """Ask ``worker`` to run ``retail_platform.lib.simulator.<func>(*args)``."""
        _send(self._procs[worker].stdin, (func, args))

    def result(self, worker: int) -> Any:
        proc = self._procs[worker]
        try:
            status, value = _recv(proc.stdout)
        except EOFError:
            raise RuntimeError(
                f"simulator worker {proc.pid} died (exit code {proc.poll()})"
            ) from None
        if status != "ok":
            raise RuntimeError(f"simulator worker failed:\n{value}")
        return value

    def close(self) -> None:
        for proc in self._procs:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        for proc in self._procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:  # do not wait for workers busy on work nobody will read
            for proc in self._procs:
                proc.kill()
        self.close()


def main() -> None:
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints must not corrupt the answer stream
    import retail_platform.lib.simulator as simulator

    while True:
        try:
            func, args = _recv(requests)
        except EOFError:
            break
        try:
            answer = ("ok", getattr(simulator, func)(*args))
        except BaseException:
            answer = ("error", traceback.format_exc())
        _send(answers, answer)
    answers.close()
