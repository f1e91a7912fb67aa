"""A real headless browser for tests: Debian's chromium, driven by Playwright.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium``, which
``ensure_chromium`` installs with apt-get (as root, the way CI and a fresh clone run) the
first time a test needs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_APT_ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def _apt(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["apt-get", *args], env=_APT_ENV, capture_output=True, text=True, timeout=900
    )


def ensure_chromium() -> Path:
    """``/usr/bin/chromium``, installed from Debian's packages if it is missing."""
    if CHROMIUM.exists():
        return CHROMIUM
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise RuntimeError(
            f"{CHROMIUM} is missing and cannot be installed from here (needs root and "
            "apt-get): run `apt-get install -y chromium` once, then the tests again"
        )
    installed = _apt("install", "-y", "chromium")
    if installed.returncode != 0:  # a fresh machine has no package lists yet
        updated = _apt("update")
        if updated.returncode != 0:
            raise RuntimeError(f"apt-get update failed:\n{updated.stdout}\n{updated.stderr}")
        installed = _apt("install", "-y", "chromium")
    if installed.returncode != 0 or not CHROMIUM.exists():
        raise RuntimeError(
            f"apt-get install chromium failed:\n{installed.stdout[-4000:]}\n{installed.stderr}"
        )
    return CHROMIUM


@contextmanager
def headless_chromium() -> Iterator[BrowserContext]:
    """A Playwright ``Browser`` on Debian's chromium with a fresh profile, closed after."""
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    with (
        tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,  # a fresh --user-data-dir
            executable_path=str(executable),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()
