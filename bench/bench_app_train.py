"""Training throughput inside the running app vs the headless trainer (goal ≥ 0.95×), and the
server's peak RSS during a full-data run.

1. Throughput: the same settings (seed recipe, SELU, ``--subset`` training images, ``--epochs``) run
   alternately ``--rounds`` times headless (``train.train`` in a fresh Python process) and in the
   app: ``streamlit run`` on a free port, Start clicked on the page, the page left open so the live
   fragment polls every second as it would for a user. Compared: the runs' training images/s
   (evaluation excluded), as the app reports it in the run's details. The page is by default a
   browser-less client (``st_client.py``) that sends what Streamlit's frontend sends (the click,
   a fragment rerun every second) and decodes the replies: a Chromium drawing the live chart on
   this 2-core machine would take the CPU the server trains on, and reniced it falls behind and
   stops polling (a user's browser runs on their own machine). ``--client chromium`` uses Chromium.
2. Memory: a fresh server, one full-data run (all 60 000 images, 3 epochs) started from the page, stopped
   after ``--full-seconds`` (the stop triggers the final test-set evaluation, the memory peak);
   reports the server's RSS before, its peak (VmHWM) and the time the run took to stop.
3. Session end: the page of a running full-data run is closed; reports how long until the server
   process is idle again (its CPU use below 10 % of one core), i.e. the worker has stopped.

Prints ratios measured in this one run; the CPU here is shared, so compare numbers from one run.
Needs the real MNIST (``$SELU_LAB_DATA_DIR`` or ./data); ``--client chromium`` needs /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from bench.st_client import StreamlitClient
from tests.e2e.server import ROOT, launch_browser, streamlit_server, wait_app_idle

RENICE = True
HEADLESS = """
import json, sys
from selu_lab import data, train
mnist = data.load_mnist(download=False)
config = train.recipe_config("seed", activation="selu", subset={subset}, epochs={epochs})
result = train.train(config, mnist)
print(json.dumps({{"images_per_s": result.images_per_s, "elapsed": result.elapsed, "status": result.status}}))
"""


def proc_status(pid: int, field: str) -> float:
    """A /proc/<pid>/status field in MB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of a process."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def machine_busy(seconds: float = 2.0) -> float:
    """Fraction of this machine's CPUs busy (all users, other developers' work included)."""
    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)
    b0, t0 = sample()
    time.sleep(seconds)
    b1, t1 = sample()
    return (b1 - b0) / max(1, t1 - t0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def renice_browser(niceness: int = 19) -> int:
    """Lower the priority of our Chromium processes (the browser is the user's, not the server's:
    on a deployment it runs on another machine); returns how many were reniced.

    Playwright starts Chromium in a session of its own, and with the kernel's autogroup scheduling
    a session gets an equal CPU share whatever its processes' nice values: so the autogroup's nice
    value is lowered too (``/proc/PID/autogroup``).
    """
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        names[int(entry.name)] = stat[stat.index("(") + 1:stat.rindex(")")]
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    me, count = os.getpid(), 0
    for pid, name in names.items():
        p = pid
        while p not in (0, 1, me) and p in parents:
            p = parents[p]
        if p == me and "chrom" in name.lower():
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, pid, niceness)
                Path(f"/proc/{pid}/autogroup").write_text(str(niceness))
                count += 1
    return count


def headless(subset: int, epochs: int) -> tuple[float, float]:
    """(images/s, cores used) of one run in a fresh Python process."""
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    code = HEADLESS.format(subset=subset, epochs=epochs)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    r1, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic() - t0
    cores = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / wall
    return float(json.loads(out.strip().splitlines()[-1])["images_per_s"]), cores


PAGE_STATE = """() => ({
    stop: document.querySelectorAll('.st-key-tr_stop').length,
    inspect: document.querySelectorAll('.st-key-tr_inspect').length,
    progress: Array.from(document.querySelectorAll('[data-testid="stProgress"]'))
        .map(e => (e.closest('[data-testid="stElementContainer"]') || e).innerText).join('|'),
})"""


def wait_visible(page, key: str, timeout_s: float, poll_s: float = 1.0) -> set[str]:
    """Wait until the element of widget ``key`` is on the page, asking once per ``poll_s`` (Playwright's
    own waits poll on every animation frame, which would load the shared CPU); returns the distinct
    progress-bar texts seen meanwhile (evidence that the live view kept updating)."""
    deadline = time.monotonic() + timeout_s
    seen: set[str] = set()
    while True:
        state = page.evaluate(PAGE_STATE)
        if state["progress"]:
            seen.add(state["progress"])
        if state[key]:
            return seen
        if RENICE:
            renice_browser()  # Chromium may have started new processes
        if time.monotonic() > deadline:
            raise TimeoutError(f"{key} did not appear within {timeout_s:.0f} s")
        time.sleep(poll_s)


def start_run(page, url: str, query: str) -> None:
    page.goto(f"{url}/?tab=Train+on+MNIST&{query}")
    wait_app_idle(page)
    if RENICE:
        renice_browser()
    for attempt in range(3):  # a click that lands during a script run can be lost: try again
        page.locator(".st-key-tr_start button").first.click()
        try:
            wait_visible(page, "stop", 20)
            return
        except TimeoutError:
            shot = ROOT / "artifacts" / f"bench_app_train_start_{attempt}.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
            print(f"(Start did not take; screenshot {shot}; retrying)", flush=True)
    raise TimeoutError("the run did not start after three clicks on Start")


def wait_for_result(page, timeout_s: float) -> tuple[float, int]:
    """Wait until the run is in the history; return the images/s shown in its details and how many
    distinct progress states the live view showed meanwhile."""
    seen = wait_visible(page, "inspect", timeout_s)
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Images/s").first
    text = metric.inner_text(timeout=120_000)
    match = re.search(r"Images/s\s*([\d,.]+)", text)
    if not match:
        raise RuntimeError(f"no images/s in {text!r}")
    return float(match.group(1).replace(",", "")), len(seen)


class ClientPage:
    """The Train tab as ``st_client.StreamlitClient`` sees it (no browser: see the module's docstring)."""

    def __init__(self, url: str, query: str) -> None:
        self.client = StreamlitClient(url, f"tab=Train+on+MNIST&{query}")
        self.client.rerun()
        self.client.run_until_idle()
        self.seen: set[str] = set()
        self.t_start = time.monotonic()

    def click(self, key: str) -> None:
        self.client.rerun(trigger=key)
        if key == "tr_start":
            self.t_start = time.monotonic()

    def wait(self, seconds: float) -> None:
        self.client.pump(seconds)
        self.seen.update(self.client.view.progress)

    def result(self, timeout_s: float) -> float:
        """Wait until the run is in the history; the images/s shown in its details."""
        for view in self.client.watch("tr_inspect", timeout_s):
            self.seen.update(view.progress)
        self.polls = self.client.view.fragment_runs / (time.monotonic() - self.t_start)
        self.client.pump(1.0)  # the history's details
        return float(self.client.view.metrics["Images/s"].replace(",", ""))

    def close(self) -> None:
        self.client.close()


class BrowserPage:
    """The Train tab in a Chromium page (reniced: see ``renice_browser``)."""

    def __init__(self, browser, url: str, query: str) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1800})
        self.page = self.context.new_page()
        self.url, self.query = url, query
        self.seen: set[str] = set()
        self.polls = float("nan")

    def click(self, key: str) -> None:
        if key == "tr_start":
            start_run(self.page, self.url, self.query)
        else:
            self.page.locator(f".st-key-{key} button").first.click(timeout=120_000)

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)

    def result(self, timeout_s: float) -> float:
        ips, updates = wait_for_result(self.page, timeout_s)
        self.seen.update(str(i) for i in range(updates))
        return ips

    def close(self) -> None:
        self.context.close()


def open_page(browser, url: str, query: str) -> ClientPage | BrowserPage:
    """A protocol-client page (``browser`` None) or a Chromium page, on the Train tab."""
    return ClientPage(url, query) if browser is None else BrowserPage(browser, url, query)


def app_run(browser, url: str, pid: int, subset: int, epochs: int,
            timeout_s: float) -> tuple[float, float, float, int, float]:
    """One run started from a page; returns (images/s, server cores used by the training threads,
    server cores used by everything else: script runs, the polling fragment, websocket; distinct
    live progress states seen; fragment polls the server answered per second)."""
    before, t0 = thread_cpu(pid), time.monotonic()
    page = open_page(browser, url, f"tr_subset={subset // 1000}k&tr_epochs={epochs}&tr_act=SELU")
    try:
        page.click("tr_start")
        ips = page.result(timeout_s)
        # before the session ends: its worker thread (and its CPU time) goes with it
        after, wall = thread_cpu(pid), time.monotonic() - t0
    finally:
        page.close()
    used = sorted((after[t] - before.get(t, 0.0) for t in after), reverse=True)
    n_train = os.cpu_count() or 1  # the trainer uses one thread per core
    return ips, sum(used[:n_train]) / wall, sum(used[n_train:]) / wall, len(page.seen), page.polls


def throughput(browser, subset: int, epochs: int, rounds: int, timeout_s: float) -> None:
    head, app, other = [], [], []
    with streamlit_server() as (url, proc):
        for i in range(rounds):
            # alternate the order so that a drift in the machine's load hits both sides alike
            if i % 2:
                ips, train_cores, other_cores, updates, polls = app_run(browser, url, proc.pid, subset,
                                                                        epochs, timeout_s)
                h, h_cores = headless(subset, epochs)
            else:
                h, h_cores = headless(subset, epochs)
                ips, train_cores, other_cores, updates, polls = app_run(browser, url, proc.pid, subset,
                                                                        epochs, timeout_s)
            head.append(h)
            app.append(ips)
            other.append(other_cores)
            print(f"round {i + 1}: headless {h:,.0f} images/s on {h_cores:.2f} cores, app {ips:,.0f} "
                  f"images/s ({ips / h:.3f}×) on {train_cores:.2f} cores (+ {other_cores:.3f} for everything "
                  f"else in the server; {updates} live progress states seen, {polls:.2f} polls/s)",
                  flush=True)
        print(f"server RSS after {rounds} run(s) of {subset} images × {epochs}: "
              f"{proc_status(proc.pid, 'VmRSS'):.0f} MB, peak {proc_status(proc.pid, 'VmHWM'):.0f} MB")
    h, a = statistics.median(head), statistics.median(app)
    ratios = [x / y for x, y in zip(app, head, strict=True)]
    print(f"throughput ({subset} images × {epochs} epoch(s), median of {rounds}): "
          f"headless {h:,.0f} images/s, "
          f"app {a:,.0f} images/s → ratio {a / h:.3f}× (median of per-round ratios "
          f"{statistics.median(ratios):.3f}×; goal ≥ 0.95×)")
    print(f"server work besides training while a run is watched: {statistics.median(other):.3f} cores "
          f"(≈ {statistics.median(other) / (os.cpu_count() or 1):.1%} of the machine)")


def full_data_memory(browser, run_seconds: float) -> None:
    with streamlit_server() as (url, proc):
        page = open_page(browser, url, "tr_subset=all+60k&tr_epochs=3")
        try:
            before = proc_status(proc.pid, "VmRSS")
            page.click("tr_start")
            page.wait(run_seconds)
            running = proc_status(proc.pid, "VmRSS")
            t0 = time.monotonic()
            page.click("tr_stop")
            ips = page.result(300)
            stopped = time.monotonic() - t0
            peak = proc_status(proc.pid, "VmHWM")
        finally:
            page.close()
        print(f"full-data run (60 000 images, stopped after {run_seconds:.0f} s at {ips:,.0f} images/s): "
              f"server RSS {before:.0f} MB before, {running:.0f} MB while training, peak {peak:.0f} MB; "
              f"Stop → run in the history (incl. the final 10 000-image evaluation) in {stopped:.1f} s")


def session_end(browser, warmup_s: float) -> None:
    with streamlit_server() as (url, proc):
        page = open_page(browser, url, "tr_subset=all+60k&tr_epochs=3")
        page.click("tr_start")
        page.wait(warmup_s)
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        page.wait(2)
        busy = (cpu_seconds(proc.pid) - c0) / (time.monotonic() - t0)
        page.close()  # the tab is closed: the websocket goes, the session is released
        closed = time.monotonic()
        idle_after = None
        while time.monotonic() - closed < 30:
            c0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(0.5)
            if (cpu_seconds(proc.pid) - c0) / (time.monotonic() - t0) < 0.10:
                idle_after = time.monotonic() - closed
                break
        if idle_after is None:
            print(f"session end: server still busy 30 s after the page closed (was {busy:.2f} cores) ✗")
        else:
            print(f"session end: server used {busy:.2f} cores while training; idle "
                  f"{idle_after:.1f} s after the page was closed (worker stopped)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=20000, help="training images of the throughput runs")
    parser.add_argument("--epochs", type=int, default=3,
                        help="epochs of the throughput runs (long enough for many live polls)")
    parser.add_argument("--rounds", type=int, default=6, help="headless/app pairs, alternating")
    parser.add_argument("--full-seconds", type=float, default=20.0, help="how long the full-data run trains")
    parser.add_argument("--skip", choices=["throughput", "memory", "session"], action="append", default=[])
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="MINUTES",
                        help="first wait up to this long for the shared machine to be < 25 %% busy")
    parser.add_argument("--client", choices=["protocol", "chromium"], default="protocol",
                        help="the page: a browser-less protocol client that polls like Streamlit's "
                             "frontend (default), or Chromium drawing the page on this machine")
    parser.add_argument("--no-renice", action="store_true",
                        help="leave Chromium at normal priority (it then competes with the server here)")
    args = parser.parse_args()
    global RENICE
    RENICE = not args.no_renice
    if args.subset not in (1000, 2000, 5000, 10000, 20000):
        parser.error("--subset must be one of the app's choices: 1000, 2000, 5000, 10000, 20000")
    deadline = time.monotonic() + 60 * args.wait_quiet
    busy = machine_busy()
    while busy >= 0.25 and time.monotonic() < deadline:
        time.sleep(15)
        busy = machine_busy()
    print(f"machine busy before the benchmark (other developers' work included): {busy:.0%}")
    with contextlib.ExitStack() as stack:
        browser = None
        if args.client == "chromium":
            browser = launch_browser(stack.enter_context(sync_playwright()))
            stack.callback(browser.close)
        if "throughput" not in args.skip:
            throughput(browser, args.subset, args.epochs, args.rounds, timeout_s=600)
        if "memory" not in args.skip:
            full_data_memory(browser, args.full_seconds)
        if "session" not in args.skip:
            session_end(browser, warmup_s=8)
    print(f"machine busy after the benchmark: {machine_busy():.0%}")


if __name__ == "__main__":
    main()
