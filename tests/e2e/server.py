"""Start `streamlit run streamlit_app.py` on a free port and drive Debian's Chromium with Playwright.

Used by the browser tests and by the benchmarks that need a real server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SELU_LAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright)"
    return None


@contextlib.contextmanager
def streamlit_server(env: dict[str, str] | None = None,
                     timeout: float = 60.0) -> Iterator[tuple[str, subprocess.Popen]]:
    """Yield (base URL, process) of a fresh `streamlit run` server; stop it afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false"]
    # a file, not a pipe: nobody reads the log while the tests run, and a full pipe blocks the server
    log = tempfile.NamedTemporaryFile("w+", prefix="streamlit-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    proc.log_path = log.name  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> float:
    """Poll /_stcore/health until it answers ok; return the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            log = Path(getattr(proc, "log_path", "/dev/null")).read_text()
            raise RuntimeError(f"streamlit exited early:\n{log[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"streamlit did not become healthy within {timeout:.0f} s")


def launch_browser(playwright):
    """Debian's Chromium, headless, with the flags this machine needs."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def wait_app_idle(page, timeout_ms: int = 90_000, quiet_ms: int = 1500) -> None:
    """Wait until the app has rendered and stayed idle for ``quiet_ms``.

    Idle: tabs drawn, no "running" status widget and no skeleton placeholders. The status widget
    appears only some time after a run starts, hence the quiet period.
    """
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_function(
        """(quietMs) => {
            const busy = document.querySelector('[data-testid="stStatusWidget"]')
                || document.querySelector('[data-testid="stSkeleton"]')
                || document.querySelectorAll('[data-testid="stTab"]').length === 0;
            const now = Date.now();
            if (busy) { window.__seluIdleSince = null; return false; }
            window.__seluIdleSince = window.__seluIdleSince || now;
            return now - window.__seluIdleSince >= quietMs;
        }""", arg=quiet_ms, timeout=timeout_ms, polling=200)
