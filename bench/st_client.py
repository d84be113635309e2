"""A Streamlit client without a browser: speaks the app's websocket protocol, renders nothing.

Why: on this 2-core machine a real Chromium drawing the live chart once a second takes the CPU
the server trains on (or, reniced, falls so far behind that it stops asking for the fragment's
reruns, and the server never pays for them). On a deployment the browser runs on the user's
machine. This client asks for exactly what Streamlit's frontend asks for (the script run with the
page's query string, a button click, and the reruns a ``st.fragment(run_every=…)`` registers,
on its interval) and decodes what the server sends back, so the server does all of its own work
for a watched page: script and fragment runs, serialisation, sending.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect


@dataclass
class PageView:
    """What the page currently shows, as far as the benchmark cares."""

    widgets: dict[str, str] = field(default_factory=dict)  # widget key → widget id
    progress: list[str] = field(default_factory=list)  # progress-bar texts of the last run
    metrics: dict[str, str] = field(default_factory=dict)  # metric label → value
    running: bool = False
    auto_reruns: dict[str, float] = field(default_factory=dict)  # fragment id → interval (s)
    fragment_runs: int = 0  # fragment reruns the server finished
    messages: int = 0
    bytes: int = 0


class StreamlitClient:
    """One browser-less session of a running Streamlit app."""

    def __init__(self, url: str, query: str) -> None:
        ws_url = url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.query = query
        self.view = PageView()
        self._ws: ClientConnection = connect(ws_url, subprotocols=["streamlit"], max_size=None,
                                             open_timeout=30)
        self._next_poll: dict[str, float] = {}

    def close(self) -> None:
        self._ws.close()

    # ----------------------------------------------------------------------------- sending

    def rerun(self, trigger: str | None = None, fragment_id: str = "") -> None:
        """Ask for a script run; ``trigger``: the key of a button to click (e.g. ``tr_start``)."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_script_hash = ""
        if fragment_id:
            state.fragment_id = fragment_id
            state.is_auto_rerun = True
        if trigger is not None:
            widget = state.widget_states.widgets.add()
            widget.id = self.view.widgets[trigger]
            widget.trigger_value = True
        self._ws.send(msg.SerializeToString())
        self.view.running = True

    # ----------------------------------------------------------------------------- receiving

    def _handle(self, raw: bytes) -> None:
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        self.view.messages += 1
        self.view.bytes += len(raw)
        kind = msg.WhichOneof("type")
        if kind == "new_session" and not msg.metadata.run.fragment_ids:
            # a full script run starts (not a fragment's): the frontend drops the fragments'
            # timers and the old page
            self.view.auto_reruns.clear()
            self.view.widgets.clear()
            self.view.progress.clear()
            self.view.metrics.clear()
        elif kind == "auto_rerun":
            self.view.auto_reruns[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for fragment_id in msg.stop_auto_rerun.fragment_ids:
                self.view.auto_reruns.pop(fragment_id, None)
        elif kind == "script_finished":
            self.view.running = False
            if msg.script_finished == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                self.view.fragment_runs += 1
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            which = element.WhichOneof("type")
            inner = getattr(element, which)
            if "id" in inner.DESCRIPTOR.fields_by_name and inner.id:
                self.view.widgets[inner.id.rsplit("-", 1)[-1]] = inner.id
            if which == "progress":
                self.view.progress.append(element.progress.text)
            elif which == "metric":
                self.view.metrics[element.metric.label] = element.metric.body

    def pump(self, seconds: float) -> None:
        """Receive for ``seconds``, sending each registered fragment's rerun on its interval (as the
        frontend does, and only between script runs)."""
        deadline = time.monotonic() + seconds
        while True:
            now = time.monotonic()
            for fragment_id, interval in self.view.auto_reruns.items():
                due = self._next_poll.setdefault(fragment_id, now + interval)
                if now >= due and not self.view.running:
                    self._next_poll[fragment_id] = now + interval
                    self.rerun(fragment_id=fragment_id)
            for stale in set(self._next_poll) - set(self.view.auto_reruns):
                del self._next_poll[stale]
            wait = min([deadline - now, 0.1, *(due - now for due in self._next_poll.values())])
            try:
                self._handle(self._ws.recv(timeout=max(wait, 0.001)))
            except TimeoutError:
                pass
            except ConnectionClosed:
                return
            if time.monotonic() >= deadline:
                return

    def run_until_idle(self, timeout_s: float = 60.0) -> None:
        """Pump until the current script run has finished."""
        deadline = time.monotonic() + timeout_s
        while self.view.running:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the script run did not finish within {timeout_s:.0f} s")
            self.pump(0.1)

    def watch(self, until: str, timeout_s: float) -> Iterator[PageView]:
        """Pump, yielding the view after every second, until a widget with key ``until`` shows."""
        deadline = time.monotonic() + timeout_s
        while until not in self.view.widgets:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{until} did not appear within {timeout_s:.0f} s")
            self.pump(1.0)
            yield self.view
