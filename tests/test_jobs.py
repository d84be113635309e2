"""The background job runner: order, events, stop, failures, the server-wide slot, cleanup."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from selu_lab import jobs
from selu_lab.jobs import Job, Lazy, Slot, Worker
from tests.util import wait_for


def counting(n: int, delay: float = 0.0):
    """A fake job: emits 0..n-1, returns n, honours stop between steps."""

    def fn(emit, stop):
        for i in range(n):
            if stop.is_set():
                return i
            emit(i)
            time.sleep(delay)
        return n

    return fn


def until_stopped(started: threading.Event | None = None, step: float = 0.01):
    """A fake job that runs (emitting ticks) until its stop event is set."""

    def fn(emit, stop):
        if started is not None:
            started.set()
        i = 0
        while not stop.is_set():
            emit(i)
            i += 1
            stop.wait(step)
        return i

    return fn



@pytest.fixture
def worker():
    w = Worker(slot=Slot(0), name="test-worker")
    yield w
    w.close(timeout=5)


def test_job_runs_and_keeps_its_events_and_result(worker):
    job = worker.submit("count", counting(5), kind="test", meta={"n": 5})
    assert job.wait(5)
    assert job.status == "finished"
    assert job.result == 5
    assert job.events() == [0, 1, 2, 3, 4]
    assert job.events(3) == [3, 4]
    snap = job.snapshot()
    assert snap.done and snap.n_events == 5 and snap.last_event == 4
    assert job.kind == "test" and job.meta == {"n": 5} and job.id.startswith("test-")
    assert job.started is not None and job.ended >= job.started


def test_jobs_run_one_after_another_in_one_thread(worker):
    seen: list[tuple[str, str, float, float]] = []

    def record(name):
        def fn(emit, stop):
            t0 = time.monotonic()
            time.sleep(0.05)
            seen.append((name, threading.current_thread().name, t0, time.monotonic()))
        return fn

    submitted = [worker.submit(f"j{i}", record(f"j{i}")) for i in range(3)]
    assert submitted[-1].wait(5)
    assert [s[0] for s in seen] == ["j0", "j1", "j2"]
    assert {s[1] for s in seen} == {"test-worker"}
    assert seen[0][3] <= seen[1][2] and seen[1][3] <= seen[2][2]  # no overlap
    assert [j.status for j in worker.jobs()] == ["finished"] * 3


def test_stop_keeps_what_the_job_returned(worker):
    started = threading.Event()
    job = worker.submit("long", until_stopped(started))
    assert started.wait(5)
    assert wait_for(lambda: job.n_events >= 3)
    worker.stop()
    assert job.wait(2)
    assert job.status == "stopped"
    assert job.result == job.n_events >= 3  # the partial result is kept


def test_stop_of_a_queued_job_drops_it_at_once(worker):
    first = worker.submit("long", until_stopped())
    second = worker.submit("queued", counting(3))
    worker.stop(second.id)
    assert second.done and second.status == "stopped" and second.result is None
    assert not first.done
    first.stop()
    assert first.wait(2) and first.status == "stopped"


def test_result_status_and_reason_are_taken_from_the_result(worker):
    @dataclass
    class Result:
        status: str
        reason: str

    job = worker.submit("nan", lambda emit, stop: Result("diverged", "loss became NaN at step 7"))
    assert job.wait(5)
    assert job.status == "diverged"
    assert job.message == "loss became NaN at step 7"


def test_exceptions_become_failed_jobs_and_the_thread_survives(worker):
    class DataError(ValueError):
        pass

    def missing(emit, stop):
        raise DataError("MNIST not found in /nowhere; download it with: python -m selu_lab data")

    def broken(emit, stop):
        emit("half")
        raise RuntimeError("boom\nsecond line")

    a = worker.submit("missing", missing)
    b = worker.submit("broken", broken)
    c = worker.submit("fine", counting(2))
    assert c.wait(5)
    assert a.status == "failed"
    assert a.error == "MNIST not found in /nowhere; download it with: python -m selu_lab data"
    assert b.status == "failed" and b.error == "RuntimeError: boom"
    assert "Traceback" in b.traceback and b.events() == ["half"]
    assert c.status == "finished"
    assert worker.alive


def test_close_stops_everything_within_seconds_and_the_thread_ends():
    worker = Worker(slot=Slot(1))
    started = threading.Event()
    running = worker.submit("long", until_stopped(started))
    queued = worker.submit("queued", counting(10))
    assert started.wait(5)
    t0 = time.monotonic()
    assert worker.close() in (True, False)  # returns at once (safe on the event loop)
    assert time.monotonic() - t0 < 0.5
    assert worker.join(3)
    assert time.monotonic() - t0 < 3
    assert running.status == "stopped" and queued.status == "stopped"
    assert worker.slot.running == 0
    assert not any(t.name == "selu-lab-worker" and t.is_alive() for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="closed"):
        worker.submit("late", counting(1))


def test_slot_makes_a_second_session_wait_then_run():
    slot = Slot(1)
    a, b = Worker(slot=slot, name="session-a"), Worker(slot=slot, name="session-b")
    try:
        started = threading.Event()
        job_a = a.submit("a", until_stopped(started))
        assert started.wait(5)
        job_b = b.submit("b", counting(3))
        assert wait_for(lambda: job_b.status == "waiting")
        snap = job_b.snapshot()
        assert snap.message == jobs.WAITING_MESSAGE and snap.queue_position == 1
        assert slot.running == 1 and slot.waiting == 1
        time.sleep(0.2)
        assert job_b.status == "waiting" and job_b.n_events == 0  # really waits
        job_a.stop()
        assert job_b.wait(5)
        assert job_a.status == "stopped" and job_b.status == "finished" and job_b.result == 3
        assert slot.running == 0 and slot.waiting == 0
    finally:
        a.close(timeout=3)
        b.close(timeout=3)


def test_a_waiting_job_can_be_stopped_and_the_line_is_first_come_first_served():
    slot = Slot(1)
    workers = [Worker(slot=slot, name=f"w{i}") for i in range(3)]
    try:
        started = threading.Event()
        holder = workers[0].submit("holder", until_stopped(started))
        assert started.wait(5)
        second = workers[1].submit("second", counting(1))
        assert wait_for(lambda: second.status == "waiting")
        third = workers[2].submit("third", counting(1))
        assert wait_for(lambda: third.status == "waiting")
        assert third.snapshot().queue_position == 2
        workers[1].stop()  # stops the waiting job
        assert second.wait(2) and second.status == "stopped"
        assert wait_for(lambda: third.snapshot().queue_position == 1)
        holder.stop()
        assert third.wait(5) and third.status == "finished"
    finally:
        for w in workers:
            w.close(timeout=3)


def test_slot_limit_two_runs_two_at_once():
    slot = Slot(2)
    workers = [Worker(slot=slot, name=f"w{i}") for i in range(3)]
    try:
        events = [threading.Event() for _ in range(3)]
        js = [w.submit(f"j{i}", until_stopped(e))
              for i, (w, e) in enumerate(zip(workers, events, strict=True))]
        # any two may win the slots; the third waits until one of them stops
        assert wait_for(lambda: sum(e.is_set() for e in events) == 2)
        (waiting,) = [i for i, e in enumerate(events) if not e.is_set()]
        assert wait_for(lambda: js[waiting].status == "waiting")
        assert slot.running == 2
        js[(waiting + 1) % 3].stop()
        assert events[waiting].wait(5)
    finally:
        for w in workers:
            w.close(timeout=3)


def test_max_runs_from_env(monkeypatch):
    monkeypatch.delenv(jobs.MAX_RUNS_ENV, raising=False)
    assert jobs.max_runs_from_env() == 1
    monkeypatch.setenv(jobs.MAX_RUNS_ENV, "3")
    assert jobs.max_runs_from_env() == 3
    monkeypatch.setenv(jobs.MAX_RUNS_ENV, "many")
    with pytest.raises(ValueError, match=jobs.MAX_RUNS_ENV):
        jobs.max_runs_from_env()
    monkeypatch.delenv(jobs.MAX_RUNS_ENV)
    assert isinstance(jobs.shared_slot(), Slot) and jobs.shared_slot() is jobs.shared_slot()


def test_a_running_job_lowers_the_gil_switch_interval(monkeypatch):
    monkeypatch.setattr(jobs.sys, "getswitchinterval", lambda: 0.005)
    calls = []
    monkeypatch.setattr(jobs.sys, "setswitchinterval", calls.append)
    w = Worker(slot=Slot(0))
    try:
        assert w.submit("x", counting(1)).wait(5)
    finally:
        w.close(timeout=5)
    assert calls == [jobs.GIL_SWITCH_INTERVAL]
    untouched = Worker(slot=Slot(0), switch_interval=None)
    try:
        assert untouched.submit("y", counting(1)).wait(5)
    finally:
        untouched.close(timeout=5)
    assert calls == [jobs.GIL_SWITCH_INTERVAL]


def test_describe_error():
    assert jobs.describe_error(ValueError("batch size must be ≥ 1")) == "batch size must be ≥ 1"
    assert jobs.describe_error(KeyError("x")) == "KeyError: 'x'"
    assert "out of memory" in jobs.describe_error(MemoryError())


def test_lazy_builds_once_across_threads_and_does_not_cache_failures():
    calls = []

    def build():
        calls.append(1)
        time.sleep(0.05)
        if len(calls) == 1:
            raise OSError("disk hiccup")
        return object()

    lazy = Lazy(build)
    with pytest.raises(OSError):
        lazy.get()
    assert not lazy.loaded
    results = []
    threads = [threading.Thread(target=lambda: results.append(lazy.get())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 2 and len({id(r) for r in results}) == 1 and lazy.loaded


def test_job_repr_and_unknown_stop_are_harmless(worker):
    worker.stop("nope")
    worker.stop()
    job = Job("x", counting(1))
    assert "queued" in repr(job)
