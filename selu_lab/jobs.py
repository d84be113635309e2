"""Background jobs for the app: a per-session worker thread, a server-wide run slot.

The Streamlit script must never block on training, and a training thread must
never call ``st.*``. So a tab submits a *job* — a plain function
``fn(emit, stop_event) -> result`` — to its session's :class:`Worker`, which
runs the jobs one after another in a single daemon thread. ``fn`` reports
progress by calling ``emit(event)`` (any object; events are appended to the
job's thread-safe log) and must return soon after ``stop_event`` is set. The
page polls the job (``Job.snapshot()``, ``Job.events(start)``) from an
``st.fragment(run_every=…)`` and never waits on it.

A server-wide :class:`Slot` limits how many jobs run at once across all
sessions (default 1, ``SELU_LAB_MAX_RUNS`` overrides; the CPU is shared on
Community Cloud). A job that must wait for it shows status ``"waiting"`` with
:data:`WAITING_MESSAGE`, and starts when a slot frees up (first come, first
served).

Lifecycle of a job::

    queued ──> [waiting] ──> running ──> finished | stopped | diverged | failed
       └──────────┴──> stopped   (stop() before it ran)

``fn`` returning an object with a ``status`` attribute of ``"finished"``,
``"stopped"`` or ``"diverged"`` (e.g. ``train.TrainResult``) sets the final
status (its ``reason``, if any, becomes the job's message); otherwise the job
is ``"stopped"`` if a stop was requested and ``"finished"`` if not. An
exception in ``fn`` makes the job ``"failed"`` with a one-line message: a
``ValueError``'s message (such as ``data.DataError``'s) verbatim, for anything
else ``"TypeName: message"``; the traceback is kept in ``Job.traceback`` and
logged. The worker thread survives every failure.

While a job runs, the page's script runs (the polling fragment) hold the GIL
for a few milliseconds now and then, and a training thread needs the GIL back
after every torch op: with Python's default 5 ms switch interval it can sit
idle (and its OpenMP team with it) that long each time. A worker therefore
lowers the process's switch interval to :data:`GIL_SWITCH_INTERVAL` when its
first job starts (``Worker(switch_interval=None)`` leaves it alone).

Sessions end with :meth:`Worker.close` (the app registers it as the
``on_release`` of a session-scoped ``st.cache_resource``): it stops the running
job and drops the queue without blocking the caller; the thread exits as soon
as the running ``fn`` honours its stop event.

This module does not import Streamlit.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
import time
import traceback as tb
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = [
    "ACTIVE",
    "GIL_SWITCH_INTERVAL",
    "MAX_RUNS_ENV",
    "STATUSES",
    "TERMINAL",
    "WAITING_MESSAGE",
    "Job",
    "JobSnapshot",
    "Lazy",
    "Slot",
    "Worker",
    "describe_error",
    "max_runs_from_env",
    "shared_slot",
]

_LOG = logging.getLogger(__name__)

STATUSES = ("queued", "waiting", "running", "finished", "stopped", "diverged", "failed")
ACTIVE = ("queued", "waiting", "running")
TERMINAL = ("finished", "stopped", "diverged", "failed")
RESULT_STATUSES = ("finished", "stopped", "diverged")
WAITING_MESSAGE = "waiting for another session's run to finish"
MAX_RUNS_ENV = "SELU_LAB_MAX_RUNS"
GIL_SWITCH_INTERVAL = 0.001  # seconds; Python's default is 0.005

Emit = Callable[[Any], None]
JobFn = Callable[[Emit, threading.Event], Any]
T = TypeVar("T")

_ids = itertools.count(1)


def describe_error(exc: BaseException) -> str:
    """One line for the user: a ValueError's own message (written for users), else 'Type: message'."""
    if isinstance(exc, ValueError) and str(exc):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory: try a smaller batch size or training-set size"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's state for the page (cheap: no event list)."""

    id: str
    label: str
    kind: str
    status: str
    message: str
    error: str | None
    n_events: int
    last_event: Any
    created: float
    started: float | None
    ended: float | None
    queue_position: int | None  # 1 = next to get the slot, while waiting

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class Job:
    """One unit of background work: status, event log, result or error, and a stop switch.

    Created by :meth:`Worker.submit`; every method is thread-safe. ``meta`` is
    free for the caller (e.g. the training config) and never read here.
    """

    def __init__(self, label: str, fn: JobFn, kind: str = "job", meta: Any = None) -> None:
        self.id = f"{kind}-{next(_ids)}"
        self.label = label
        self.kind = kind
        self.meta = meta
        self.fn = fn
        self.stop_event = threading.Event()
        self.result: Any = None
        self.error: str | None = None
        self.traceback: str | None = None
        self.created = time.time()
        self.started: float | None = None
        self.ended: float | None = None
        self._status = "queued"
        self._message = ""
        self._events: list[Any] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._slot: Slot | None = None

    def __repr__(self) -> str:
        return f"Job({self.id!r}, {self.label!r}, status={self.status!r})"

    # --- reading (the page) ---------------------------------------------
    @property
    def status(self) -> str:
        return self._status

    @property
    def message(self) -> str:
        """Why the job waits, stopped or diverged ('' if nothing to say)."""
        return self._message

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def stop_requested(self) -> bool:
        return self.stop_event.is_set()

    @property
    def n_events(self) -> int:
        return len(self._events)

    def events(self, start: int = 0) -> list[Any]:
        """A copy of the events emitted so far, from index ``start`` on (for incremental polling)."""
        with self._lock:
            return self._events[start:]

    def snapshot(self) -> JobSnapshot:
        """Status, message and progress in one consistent read."""
        with self._lock:
            last = self._events[-1] if self._events else None
            n = len(self._events)
            status, message = self._status, self._message
        slot = self._slot
        position = slot.position(self) if slot is not None and status == "waiting" else None
        return JobSnapshot(self.id, self.label, self.kind, status, message, self.error, n, last,
                           self.created, self.started, self.ended, position)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended (tests and the CLI only); True if it has."""
        return self._done.wait(timeout)

    # --- control --------------------------------------------------------
    def stop(self) -> None:
        """Ask the job to stop: a queued or waiting job never runs, a running ``fn`` sees its stop event."""
        self.stop_event.set()

    def emit(self, event: Any) -> None:
        """Append one event to the log (called by ``fn`` in the worker thread)."""
        with self._lock:
            self._events.append(event)

    # --- transitions (the worker) ---------------------------------------
    def _set(self, status: str, message: str | None = None) -> None:
        with self._lock:
            self._status = status
            if message is not None:
                self._message = message
        if status == "running":
            self.started = time.time()

    def _end(self, status: str, message: str = "", result: Any = None, error: str | None = None) -> None:
        self.result = result
        self.error = error
        self.ended = time.time()
        self._set(status, message)
        self._done.set()

    def _end_with_result(self, result: Any) -> None:
        status = getattr(result, "status", None)
        if status not in RESULT_STATUSES:
            status = "stopped" if self.stop_requested else "finished"
        reason = getattr(result, "reason", None)
        message = str(reason) if reason else ("stopped on request" if status == "stopped" else "")
        self._end(status, message, result=result)

    def _fail(self, exc: BaseException) -> None:
        self.traceback = "".join(tb.format_exception(exc))
        _LOG.warning("job %s (%s) failed:\n%s", self.id, self.label, self.traceback)
        message = describe_error(exc)
        self._end("failed", message, error=message)


class Slot:
    """A server-wide limit on concurrently running jobs, first come first served.

    ``limit`` ≥ 1 jobs may hold the slot at once; ``limit=0`` means no limit.
    """

    def __init__(self, limit: int = 1) -> None:
        if limit < 0:
            raise ValueError(f"run limit must be ≥ 0 (0 = no limit), got {limit}")
        self.limit = int(limit)
        self._cond = threading.Condition()
        self._holders: list[Job] = []
        self._queue: deque[Job] = deque()

    def __repr__(self) -> str:
        return f"Slot(limit={self.limit}, running={self.running}, waiting={self.waiting})"

    @property
    def running(self) -> int:
        """How many jobs hold the slot now."""
        with self._cond:
            return len(self._holders)

    @property
    def waiting(self) -> int:
        """How many jobs wait for it."""
        with self._cond:
            return len(self._queue)

    def position(self, job: Job) -> int | None:
        """1-based place of ``job`` in the waiting line, None if it is not waiting."""
        with self._cond:
            for i, queued in enumerate(self._queue):
                if queued is job:
                    return i + 1
        return None

    def _free(self) -> bool:
        return self.limit == 0 or len(self._holders) < self.limit

    def acquire(self, job: Job, on_wait: Callable[[], None] | None = None, poll: float = 0.1) -> bool:
        """Take a place for ``job``, waiting in line if needed; False if the job was stopped meanwhile.

        ``on_wait`` is called once, before waiting, if the slot is not free at once.
        """
        with self._cond:
            if not self._queue and self._free():
                self._holders.append(job)
                job._slot = self
                return True
            self._queue.append(job)
            job._slot = self
        if on_wait is not None:
            on_wait()
        with self._cond:
            try:
                while True:
                    if job.stop_requested:
                        return False
                    if self._queue[0] is job and self._free():
                        self._queue.popleft()
                        self._holders.append(job)
                        return True
                    self._cond.wait(poll)
            finally:
                if job in self._queue:
                    self._queue.remove(job)
                self._cond.notify_all()

    def release(self, job: Job) -> None:
        """Give back ``job``'s place (no-op if it holds none)."""
        with self._cond:
            if job in self._holders:
                self._holders.remove(job)
            self._cond.notify_all()


def max_runs_from_env(default: int = 1) -> int:
    """The server's run limit from ``SELU_LAB_MAX_RUNS`` (an integer ≥ 0, 0 = no limit)."""
    raw = os.environ.get(MAX_RUNS_ENV, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{MAX_RUNS_ENV} must be an integer ≥ 0 (0 = no limit), got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{MAX_RUNS_ENV} must be an integer ≥ 0 (0 = no limit), got {raw!r}")
    return value


_shared_slot: Slot | None = None
_shared_lock = threading.Lock()


def shared_slot() -> Slot:
    """The one server-wide slot every tab's workers share (limit read from the env on first use)."""
    global _shared_slot
    with _shared_lock:
        if _shared_slot is None:
            _shared_slot = Slot(max_runs_from_env())
        return _shared_slot


class Worker:
    """Runs one session's jobs one after another in a single daemon thread.

    ``slot`` is the server-wide limit to respect (default :func:`shared_slot`);
    pass ``Slot(0)`` for none. The thread starts on the first ``submit``.
    ``switch_interval``: the GIL switch interval the process gets when a job starts
    (only ever lowered; None: leave it).
    """

    def __init__(self, slot: Slot | None = None, name: str = "selu-lab-worker",
                 switch_interval: float | None = GIL_SWITCH_INTERVAL) -> None:
        self.slot = slot if slot is not None else shared_slot()
        self.name = name
        self.switch_interval = switch_interval
        self._cond = threading.Condition()
        self._queue: deque[Job] = deque()
        self._jobs: list[Job] = []
        self._current: Job | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"Worker({self.name!r}, jobs={len(self._jobs)}, alive={self.alive}, closed={self._closed})"

    # --- submitting and reading -------------------------------------------
    def submit(self, label: str, fn: JobFn, kind: str = "job", meta: Any = None) -> Job:
        """Queue ``fn(emit, stop_event)`` to run after the jobs already queued; returns its Job."""
        job = Job(label, fn, kind=kind, meta=meta)
        with self._cond:
            if self._closed:
                raise RuntimeError("this worker is closed (its session ended)")
            self._jobs.append(job)
            self._queue.append(job)
            self._ensure_thread()
            self._cond.notify_all()
        return job

    def jobs(self, kind: str | None = None) -> list[Job]:
        """Every job submitted and not forgotten, oldest first (optionally of one kind)."""
        with self._cond:
            return [j for j in self._jobs if kind is None or j.kind == kind]

    def active(self, kind: str | None = None) -> list[Job]:
        """Jobs queued, waiting or running, oldest first."""
        return [j for j in self.jobs(kind) if not j.done]

    def get(self, job_id: str) -> Job | None:
        """The job with this id, if the worker still knows it."""
        return next((j for j in self.jobs() if j.id == job_id), None)

    @property
    def current(self) -> Job | None:
        """The job the thread is on (waiting for the slot or running), if any."""
        return self._current

    @property
    def alive(self) -> bool:
        """Whether the worker thread is running."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def closed(self) -> bool:
        return self._closed

    def forget(self, job_id: str) -> None:
        """Drop a finished job from the worker's list (frees its event log once the caller lets go)."""
        with self._cond:
            self._jobs = [j for j in self._jobs if not (j.id == job_id and j.done)]

    # --- stopping ---------------------------------------------------------
    def stop(self, job_id: str | None = None) -> None:
        """Stop one job (default: the current one); a queued job is dropped at once."""
        job = self.get(job_id) if job_id is not None else self._current
        if job is None:
            return
        job.stop()
        with self._cond:
            if job in self._queue:
                self._queue.remove(job)
                job._end("stopped", "stopped before it started")

    def stop_all(self) -> None:
        """Stop the current job and drop every queued one."""
        with self._cond:
            queued = list(self._queue)
            self._queue.clear()
        for job in queued:
            job.stop()
            job._end("stopped", "stopped before it started")
        current = self._current
        if current is not None:
            current.stop()

    def close(self, timeout: float = 0.0) -> bool:
        """End the session's work: stop everything and let the thread exit.

        Returns at once by default (safe as a Streamlit ``on_release``, which runs
        on the server's event loop); with ``timeout`` > 0 waits that long for the
        thread. Returns whether the thread has ended.
        """
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.stop_all()
        with self._cond:
            self._cond.notify_all()
        thread = self._thread
        if thread is None:
            return True
        if timeout > 0:
            thread.join(timeout)
        return not thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end (after close); True if it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.alive

    # --- the thread -------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def _next(self) -> Job | None:
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if not self._queue:
                return None
            self._current = self._queue.popleft()
            return self._current

    def _loop(self) -> None:
        while True:
            job = self._next()
            if job is None:
                return
            try:
                self._run(job)
            except BaseException as exc:  # never let the thread die silently
                if not job.done:
                    job._fail(exc)
                if not isinstance(exc, Exception):
                    raise
            finally:
                self._current = None

    def _run(self, job: Job) -> None:
        if job.stop_requested:
            job._end("stopped", "stopped before it started")
            return
        acquired = self.slot.acquire(job, on_wait=lambda: job._set("waiting", WAITING_MESSAGE))
        if not acquired:
            job._end("stopped", "stopped while waiting for another session's run")
            return
        try:
            job._set("running", "")
            if self.switch_interval is not None and sys.getswitchinterval() > self.switch_interval:
                sys.setswitchinterval(self.switch_interval)
            result = job.fn(job.emit, job.stop_event)
        except Exception as exc:
            job._fail(exc)
            return
        finally:
            self.slot.release(job)
        job._end_with_result(result)


class Lazy(Generic[T]):
    """A value built once, on first ``get()``, and shared read-only between threads.

    Used for the MNIST tensors: loading happens in the first job that needs
    them (not in the script run), concurrent callers wait for the same load,
    and a failed load is not cached, so the next job tries again.
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._value: T | None = None
        self._loaded = False

    @property
    def loaded(self) -> bool:
        return self._loaded

    def get(self) -> T:
        """The value, building it first if needed (exceptions propagate; nothing is cached then)."""
        if self._loaded:
            return self._value  # type: ignore[return-value]
        with self._lock:
            if not self._loaded:
                self._value = self._factory()
                self._loaded = True
        return self._value  # type: ignore[return-value]
