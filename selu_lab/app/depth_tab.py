"""The Depth study tab: the SNN paper's Figure 1 with a click, and why it comes out as it does.

Runs on the Train tab's machinery: Start submits ``depth.run_study`` as a job to
the session's background worker (``train_tab.worker()``, one run slot per
server), MNIST comes from the same process-wide lazy copy (``train_tab.mnist()``),
and an ``st.fragment(run_every=1 s)`` polls the job's events for the progress
bar and the curves of the runs finished so far. Stop keeps the finished runs.
When a study ends, a full rerun moves it into this tab's list of studies and
its runs into the session's run history (the Train tab's table). Everything
shown is computed by ``selu_lab.depth`` and drawn by ``selu_lab.charts.depth``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from selu_lab import depth, jobs
from selu_lab.app import links, train_tab
from selu_lab.app.formatting import format_duration
from selu_lab.app.messages import show_messages
from selu_lab.charts import depth as charts
from selu_lab.history import Run

KIND = "depth"
STATE_KEY = "ds_state"
POLL_SECONDS = 1.0
# re-probe the machine's speed at most every 2 minutes: a probe taken while other processes kept
# the CPU busy can be 10× too slow (OpenMP threads spin), and that estimate should not outlive the load
SPEED_TTL = 2 * 60
SUBSETS = (1_000, 5_000, 10_000, 60_000)
STRATEGY_LABELS = tuple(depth.STRATEGIES[s].label for s in depth.STRATEGY_NAMES)
_DEFAULT = depth.StudyConfig()

ARCH = links.Setting("ds_arch", "mlp", "choice", options=depth.ARCHS,
                     labels=("dense net (paper)", "plain CNN"))
STRATEGIES = links.Setting("ds_strategies", _DEFAULT.strategies, "multi", options=depth.STRATEGY_NAMES,
                           labels=STRATEGY_LABELS)
DEPTHS = links.Setting("ds_depths", _DEFAULT.depths, "multi",
                       options=tuple(range(depth.DEPTH_RANGE[0], depth.DEPTH_RANGE[1] + 1)))
WIDTH = links.Setting("ds_width", depth.DEFAULT_WIDTH["mlp"], "int", 8, 2048)
CHANNELS = links.Setting("ds_channels", depth.DEFAULT_WIDTH["cnn"], "int", 1, 128)
STEPS = links.Setting("ds_steps", _DEFAULT.steps, "int", 10, 5000)
LR = links.Setting("ds_lr", 0.01, "float", 1e-5, 1.0)
SWEEP = links.Setting("ds_sweep", False, "bool")
LR_MIN = links.Setting("ds_lr_min", 0.002, "float", 1e-5, 1.0)
LR_MAX = links.Setting("ds_lr_max", 0.05, "float", 1e-5, 1.0)
LR_N = links.Setting("ds_lr_n", 3, "choice", options=(2, 3, 4, 5))
OPTIMIZER = links.Setting("ds_opt", "sgd", "choice", options=depth.OPTIMIZERS, labels=("SGD (paper)", "Adam"))
BATCH = links.Setting("ds_batch", 128, "choice", options=(32, 64, 128, 256, 512))
SUBSET = links.Setting("ds_subset", 60_000, "choice", options=SUBSETS,
                       labels=tuple(f"{n // 1000}k" if n < 60_000 else "all 60k" for n in SUBSETS))
SEED = links.Setting("ds_seed", 0, "int", 0, 999_999)
ALPHA_DROPOUT = links.Setting("ds_alpha_dropout", 0.0, "float", 0.0, 0.3)
LOG_Y = links.Setting("ds_logy", True, "bool")
HEATMAP = links.Setting("ds_heatmap", "var", "choice", options=tuple(charts.HEATMAP_QUANTITIES),
                       labels=tuple(charts.HEATMAP_QUANTITIES.values()))
VIEW = links.Setting("ds_view", "same", "choice", options=("same", "best"),
                     labels=("every strategy at one rate", "each at its best rate"))

SETTINGS = (ARCH, STRATEGIES, DEPTHS, WIDTH, CHANNELS, STEPS, LR, SWEEP, LR_MIN, LR_MAX, LR_N, OPTIMIZER,
            BATCH, SUBSET, SEED, ALPHA_DROPOUT, LOG_Y, VIEW, HEATMAP)


@dataclass
class Study:
    """A finished or stopped study of this session."""

    id: str
    name: str
    result: depth.StudyResult


@dataclass
class TabState:
    """What the tab keeps in ``st.session_state[STATE_KEY]``."""

    studies: list[Study] = field(default_factory=list)
    job: jobs.Job | None = None  # the study queued or running, until harvested
    live_runs: list[depth.RunResult] = field(default_factory=list)  # its runs finished so far
    n_events: int = 0  # events of the job read so far
    last_event: depth.StudyEvent | None = None
    count: int = 0
    notices: list[tuple[str, str]] = field(default_factory=list)  # (error|warning|info, text)
    live_chart: dict[str, Any] = field(default_factory=dict)  # cached spec of the live chart


def state() -> TabState:
    """This session's tab state (created on first use)."""
    if STATE_KEY not in st.session_state:
        st.session_state[STATE_KEY] = TabState()
    return st.session_state[STATE_KEY]


# --- resources -------------------------------------------------------------------------------
@st.cache_resource(ttl=SPEED_TTL, max_entries=16, show_spinner="Measuring this machine's speed…")
def machine_speed(arch: str, width: int, batch_size: int) -> depth.Speed:
    """The speed probe of this machine for one architecture, width and batch (all strategies)."""
    return depth.measure_speed(arch, width, batch_size, depth.STRATEGY_NAMES)


def study_job(config: depth.StudyConfig, data: jobs.Lazy, speed: depth.Speed | None) -> jobs.JobFn:
    """The job function of one study: load MNIST (once per process), then run every net."""

    def run(emit: jobs.Emit, stop: Any) -> depth.StudyResult:
        return depth.run_study(config, data.get(), on_event=emit, stop=stop, speed=speed)

    return run


def config_from_values(v: dict[str, Any]) -> depth.StudyConfig:
    """The StudyConfig the controls describe; ValueError names what to fix."""
    if v["sweep"]:
        if not v["lr_min"] < v["lr_max"]:
            raise ValueError(f"the sweep's lowest rate ({v['lr_min']:g}) must be below its highest "
                             f"({v['lr_max']:g})")
        lr: float | tuple[float, ...] = depth.log_spaced_lrs(v["lr_min"], v["lr_max"], int(v["lr_n"]))
    else:
        lr = float(v["lr"])
    subset = int(v["subset"])
    return depth.StudyConfig(
        arch=v["arch"], depths=tuple(v["depths"]), strategies=tuple(v["strategies"]),
        width=int(v["width"] if v["arch"] == "mlp" else v["channels"]), steps=int(v["steps"]), lr=lr,
        optimizer=v["optimizer"], batch_size=int(v["batch_size"]),
        subset=None if subset >= 60_000 else subset, seed=int(v["seed"]),
        alpha_dropout=float(v["alpha_dropout"]) if "selu" in v["strategies"] else 0.0)


def study_title(config: depth.StudyConfig) -> str:
    """'dense · depths 8, 16, 32 · 4 strategies · 150 steps · lr 0.01'."""
    arch = "dense" if config.arch == "mlp" else "CNN"
    lrs = ", ".join(f"{v:g}" for v in config.lrs)
    n = len(config.strategies)
    return (f"{arch} · depths {', '.join(map(str, config.depths))} · {n} strateg{'y' if n == 1 else 'ies'}"
            f" · {config.steps} steps · lr {lrs}")


def submit(config: depth.StudyConfig, speed: depth.Speed | None) -> jobs.Job:
    """Queue one study in the session's worker (shared with the Train tab)."""
    st_state = state()
    st_state.count += 1
    name = f"Study #{st_state.count}: {study_title(config)}"
    job = train_tab.worker().submit(name, study_job(config, train_tab.mnist(), speed), kind=KIND,
                                    meta=config)
    st_state.job, st_state.live_runs, st_state.n_events, st_state.last_event = job, [], 0, None
    return job


def _read_events(st_state: TabState) -> None:
    job = st_state.job
    if job is None:
        return
    new = job.events(st_state.n_events)
    st_state.n_events += len(new)
    for ev in new:
        if isinstance(ev, depth.StudyEvent):
            st_state.last_event = ev
            if ev.kind == "run_done" and ev.run is not None:
                st_state.live_runs.append(ev.run)


def history_runs(study: Study, first_number: int) -> list[Run]:
    """The study's runs as entries of the session's run history (the Train tab's table)."""
    cfg = study.result.config
    out = []
    for i, r in enumerate(study.result.runs):
        spec = depth.STRATEGIES[r.strategy]
        dropout = cfg.alpha_dropout if r.strategy == "selu" else 0.0
        settings = {
            "activation": spec.activation, "init": spec.init,
            "recipe": f"depth study: {'dense' if cfg.arch == 'mlp' else 'CNN'} depth {r.depth}"
                      + (" + BatchNorm" if spec.batchnorm else ""),
            "epochs": None, "batch_size": cfg.batch_size, "lr": r.lr, "optimizer": cfg.optimizer,
            "schedule": "constant", "dropout": "alpha" if dropout else "none", "dropout_rate": dropout,
            "standardize": True, "subset": cfg.subset or 60_000, "seed": cfg.seed,
        }
        status = "diverged" if r.diverged_at is not None else "finished"
        message = f"diverged at step {r.diverged_at}" if r.diverged_at is not None else ""
        run = Run(f"{study.id}-{i}", f"#{first_number + i} {r.label} · depth {r.depth} · lr {r.lr:g} "
                  f"({study.name.split(':')[0]})", settings, status=status, message=message)
        run.steps = list(range(1, len(r.losses) + 1))
        run.losses = list(r.losses)
        run.total_steps = cfg.steps
        run.batches_per_epoch = cfg.steps
        run.elapsed = r.seconds
        run.images_per_s = r.images / r.seconds if r.seconds > 0 else None
        run.test_accuracy = None if math.isnan(r.test_accuracy) else r.test_accuracy
        if r.diverged_at is None:  # the whole run as one "epoch", so the table shows its final loss
            run.epochs = [{"epoch": 1, "train_loss": r.final_loss, "test_loss": float("nan"),
                           "test_accuracy": r.test_accuracy, "elapsed": r.seconds,
                           "images_per_s": run.images_per_s or 0.0}]
        out.append(run)
    return out


def harvest(st_state: TabState) -> Study | None:
    """Move an ended study into the tab's list and its runs into the session's run history."""
    job = st_state.job
    if job is None or not job.done:
        return None
    _read_events(st_state)
    st_state.job, st_state.live_runs, st_state.n_events, st_state.last_event = None, [], 0, None
    if job.status == "failed":
        st_state.notices.append(("error", f"{job.label} failed: {job.error}"))
        return None
    result = job.result
    if not isinstance(result, depth.StudyResult) or not result.runs:
        if job.status == "stopped":
            st_state.notices.append(("info", f"{job.label.split(':')[0]} was stopped before any run "
                                             "finished; nothing to keep."))
        return None
    study = Study(job.id, job.label, result)
    st_state.studies.append(study)
    history = train_tab.state().history
    for run in history_runs(study, history.next_number()):
        history.add(run)
    for _ in range(len(result.runs) - 1):
        history.next_number()
    if result.stopped:
        st_state.notices.append(("info", f"{study.name.split(':')[0]} stopped: {result.reason}; "
                                         "the finished runs are kept."))
    return study


# --- controls --------------------------------------------------------------------------------
def _controls() -> dict[str, Any]:
    v: dict[str, Any] = {}
    c = st.columns([1.0, 4.1, 1.6, 0.9])  # the strategies' five chips need the room
    with c[0]:
        v["arch"] = links.radio(ARCH, "Architecture", help=(
            "- **dense net**: *depth* hidden layers of *width* units on standardised pixels, then a "
            "linear 10-way output (the paper's Figure 1 setting)\n"
            "- **plain CNN**: the assignment's two-stage CNN with extra 3×3 convolutions (same padding, no "
            "residual connections) in each stage; *depth* counts the convolutions"))
    with c[1]:
        v["strategies"] = links.multiselect(STRATEGIES, "Strategies", help=(
            "Each keeps one colour in every chart. ReLU + He + BatchNorm is the paper's baseline "
            "(BatchNorm between every hidden layer and its ReLU)."))
    with c[2]:
        v["depths"] = links.multiselect(DEPTHS, "Depths (hidden layers)",
                                        help="The paper trained 8, 16 and 32 layers")
    with c[3]:
        if v["arch"] == "mlp":
            v["width"] = links.number(WIDTH, "Width (units)", step=16,
                                      help="784 = the input size, as in the paper")
            v["channels"] = CHANNELS.default
        else:
            v["channels"] = links.number(CHANNELS, "Channels (first stage)", step=4,
                                         help="The second stage has twice as many; the assignment's has 32")
            v["width"] = WIDTH.default
    t = st.columns([1, 1, 1.3, 1, 1])
    with t[0]:
        v["optimizer"] = links.select(OPTIMIZER, "Optimizer")
    with t[1]:
        v["steps"] = links.number(STEPS, "Steps per run", step=10,
                                  help="The paper trained 2 000 epochs on a GPU; here every run gets the "
                                       "same step budget, mini-batches and seed")
    with t[2]:
        v["sweep"] = links.toggle(SWEEP, "Learning-rate sweep",
                                  help="Run every strategy at a few log-spaced rates: one rate can decide "
                                       "the verdict, so compare each strategy at its own best rate too")
        if v["sweep"]:
            r = st.columns(3)
            with r[0]:
                v["lr_min"] = links.number(LR_MIN, "from", format="%g", step=0.001)
            with r[1]:
                v["lr_max"] = links.number(LR_MAX, "to", format="%g", step=0.01)
            with r[2]:
                v["lr_n"] = links.select(LR_N, "rates")
            v["lr"] = LR.default
        else:
            v["lr"] = links.number(LR, "Learning rate", format="%g", step=0.001)
            v["lr_min"], v["lr_max"], v["lr_n"] = LR_MIN.default, LR_MAX.default, LR_N.default
    with t[3]:
        v["batch_size"] = links.select(BATCH, "Batch size")
    with t[4]:
        v["subset"] = links.select(SUBSET, "Training images")
    with st.expander("More settings", expanded=False):
        e = st.columns(3)
        with e[0]:
            v["seed"] = links.number(SEED, "Random seed", step=1,
                                     help="Weights, data order and dropout masks; the same for every run")
        with e[1]:
            v["alpha_dropout"] = links.slider(ALPHA_DROPOUT, "AlphaDropout rate (SELU only)", step=0.01,
                                              help="After every hidden SELU; keeps mean 0 and variance 1")
    return v


def _start_row(st_state: TabState, config: depth.StudyConfig | None) -> None:
    b = st.columns([1, 4])
    busy = st_state.job is not None
    start = b[0].button("Start study", key="ds_start", type="primary", width="stretch",
                        icon=":material/play_arrow:", disabled=config is None or busy)
    speed = None
    if config is not None:
        speed = machine_speed(config.arch, config.width, config.batch_size)
        seconds = depth.estimate_seconds(config, speed)
        n = len(config.run_keys())
        eta = format_duration(seconds)
        b[1].caption(f"**{n} run{'s' if n != 1 else ''}**, estimated **{eta}** "
                     f"on this machine (from a quick speed probe; other sessions' runs slow it down). "
                     f"Runs train in the background, one study or training run at a time per server.")
    if start and config is not None and not busy:
        try:
            submit(config, speed)
        except RuntimeError as exc:  # the session's worker was closed (disconnect race)
            st_state.notices.append(("error", f"Cannot start: {exc}; reload the page"))
        else:
            st.rerun()  # redraw with Start disabled and the live section up


def _notices(st_state: TabState) -> None:
    show_messages(st_state.notices, key="ds_dismiss")


# --- live ------------------------------------------------------------------------------------
def _stop() -> None:
    job = state().job
    if job is not None:
        job.stop()


def _live() -> None:
    """Progress of the whole study and the curves of the runs finished so far (the polling fragment:
    kept lean, since every poll holds the GIL the training thread needs too)."""
    st_state = state()
    job = st_state.job
    if job is None:
        return
    if job.done:
        st.rerun(scope="app")  # the full rerun moves the study into the results
    _read_events(st_state)
    snap = job.snapshot()
    ev = st_state.last_event
    if snap.status == "waiting":
        place = f" (place {snap.queue_position} in line)" if snap.queue_position else ""
        st.info(f"⏳ **{job.label}** is {jobs.WAITING_MESSAGE}{place}. It starts by itself.")
    elif snap.status == "queued":
        st.info(f"**{job.label}** is queued behind this session's training run; it starts when that ends.")
    elif ev is None or ev.kind == "start":
        st.progress(0.0, text=f"**{job.label}**: preparing (MNIST is loaded once per server)…")
    else:
        what = ""
        if ev.depth is not None and ev.kind == "step":
            what = (f" · depth {ev.depth} · {depth.STRATEGIES[ev.strategy].label} · lr {ev.lr:g} · "
                    f"step {ev.step}/{ev.steps}")
        st.progress(ev.fraction, text=(
            f"**Run {min(ev.run_index + 1, ev.n_runs)} of {ev.n_runs}**{what} · elapsed "
            f"{format_duration(ev.elapsed)} · ETA {format_duration(ev.eta_seconds)}"))
    if job.stop_requested:
        st.caption("Stopping: the run in progress is dropped, the finished ones are kept…")
    if st_state.live_runs:
        st.vega_lite_chart(_live_spec(st_state, job))


def _live_spec(st_state: TabState, job: jobs.Job) -> dict[str, Any]:
    """The finished runs' curves, rebuilt only when another run has finished."""
    key = (job.id, len(st_state.live_runs))
    if st_state.live_chart.get("key") != key:
        partial = depth.StudyResult(job.meta, list(st_state.live_runs))
        st_state.live_chart = {"key": key, "spec": charts.loss_small_multiples(
            depth.curves_frame(partial), depth.divergence_frame(partial), log_y=True,
            title="Finished runs so far", width=180, height=150).to_dict()}
    return st_state.live_chart["spec"]


def _live_section(st_state: TabState) -> None:
    """The live fragment (polling once a second while the study is queued or running) and Stop."""
    if st_state.job is None:
        return
    active = not st_state.job.done
    with st.container(border=True):
        st.fragment(_live, run_every=POLL_SECONDS if active else None)()
        st.button("Stop", key="ds_stop", on_click=_stop, icon=":material/stop:",
                  help="Ends the study within one step; the runs already finished are kept")


# --- results ---------------------------------------------------------------------------------
@st.cache_data(max_entries=64, show_spinner=False)
def _spec(kind: str, study_id: str, view: str, lr: float, log_y: bool, run_index: int,
          _result: depth.StudyResult) -> dict[str, Any]:
    """A chart of one study as a Vega-Lite dict, cached per study and view (the study never changes)."""
    result = _result
    if kind == "curves":
        shown = depth.best_lr_view(result) if view == "best" else depth.same_lr_view(result, lr)
        best = view == "best" and len(result.config.lrs) > 1
        title = ("Training loss, each strategy at its best rate" if best
                 else f"Training loss at learning rate {lr:g}")
        chart = charts.loss_small_multiples(depth.curves_frame(shown), depth.divergence_frame(shown),
                                            log_y=log_y, title=title)
    elif kind == "sweep":
        chart = charts.lr_sweep_chart(depth.summary_table(result))
    elif kind == "by_depth":
        shown = depth.best_lr_view(result) if view == "best" else depth.same_lr_view(result, lr)
        chart = charts.final_loss_by_depth(depth.summary_table(shown))
    elif kind == "heatmap":
        run = result.runs[run_index]
        name = charts.HEATMAP_QUANTITIES[view]
        chart = charts.layer_heatmap(depth.layer_stats_frame(run), view, title=(
            f"{name.capitalize()} per layer: {run.label}, depth {run.depth}, lr {run.lr:g}"))
    elif kind == "profile":
        run = result.runs[run_index]
        chart = charts.layer_profile_chart(depth.layer_stats_frame(run),
                                           color=depth.STRATEGIES[run.strategy].color)
    else:
        raise ValueError(f"unknown chart {kind!r}")
    return chart.to_dict()


def _run_label(r: depth.RunResult) -> str:
    status = r.status if r.diverged_at is None else f"diverged at step {r.diverged_at}"
    return f"depth {r.depth} · {r.label} · lr {r.lr:g} · {status}"


def _results(st_state: TabState, new: Study | None) -> None:
    if not st_state.studies:
        st.caption("Results appear here: training loss per depth (the paper's Figure 1), a table of final "
                   "loss, test accuracy and time, a reading of what the runs show, and per-layer statistics "
                   "that show why.")
        return
    ids = [s.id for s in st_state.studies]
    if new is not None or st.session_state.get("ds_study") not in ids:
        st.session_state["ds_study"] = ids[-1]
    names = {s.id: s.name for s in st_state.studies}
    study_id = st.selectbox("Study", ids, key="ds_study", format_func=names.get)
    study = next(s for s in st_state.studies if s.id == study_id)
    result = study.result
    lrs = result.config.lrs

    c = st.columns([1.6, 1.2, 1])
    with c[0]:
        view = "same"
        if len(lrs) > 1:
            view = links.radio(VIEW, "View", horizontal=True,
                               help="Every strategy at one shared rate, or each at the rate that gave it "
                                    "the lowest final loss")
    lr = lrs[0]
    with c[1]:
        if view == "same" and len(lrs) > 1:
            lr = st.select_slider("Shared learning rate", lrs, key="ds_view_lr",
                                  format_func=lambda v: f"{v:g}")
    with c[2]:
        log_y = links.toggle(LOG_Y, "Log-scaled loss")

    st.vega_lite_chart(_spec("curves", study.id, view, lr, log_y, -1, result))
    st.markdown("**What the runs show.** " + depth.reading(result))
    cc = st.columns([1, 1.4])
    with cc[0]:
        st.vega_lite_chart(_spec("by_depth", study.id, view, lr, False, -1, result), width="stretch")
    if len(lrs) > 1:
        with cc[1]:
            st.vega_lite_chart(_spec("sweep", study.id, "", 0.0, False, -1, result))
    table = depth.summary_table(result)
    st.dataframe(table.drop(columns=["arch", "strategy"]), hide_index=True, width="stretch", column_config={
        "label": st.column_config.TextColumn("strategy"),
        "lr": st.column_config.NumberColumn(format="%g"),
        "initial_loss": st.column_config.NumberColumn("initial loss", format="%.4f"),
        "final_loss": st.column_config.NumberColumn("final train loss", format="%.4f"),
        "test_accuracy": st.column_config.NumberColumn("test accuracy", format="percent"),
        "seconds": st.column_config.NumberColumn("time (s)", format="%.1f"),
        "images_per_s": st.column_config.NumberColumn("images/s", format="%.0f"),
    })
    st.caption(f"Final train loss: mean of the last {depth.FINAL_WINDOW:.0%} of the steps' mini-batch "
               "losses. "
               f"Stalled: still above {depth.STALL_RATIO:.0%} of the first loss; unstable: above it. "
               "All runs of the study saw the same mini-batches in the same order, from the same seed. "
               "Its runs are also in the Train tab's run history.")
    d = st.columns([1, 1, 3])
    d[0].download_button("Curves (CSV)", data=lambda: depth.curves_frame(result).to_csv(index=False),
                         file_name=f"selu_lab_depth_{study.id}_curves.csv", mime="text/csv",
                         on_click="ignore", key=f"ds_dl_curves_{study.id}", icon=":material/download:")
    d[1].download_button("All studies (CSV)", data=lambda: _all_curves(st_state).to_csv(index=False),
                         file_name="selu_lab_depth_all_curves.csv", mime="text/csv", on_click="ignore",
                         key="ds_dl_all", icon=":material/download:",
                         help="Every curve of every study of this session, with a study column")
    _why(study, new)


def _all_curves(st_state: TabState) -> pd.DataFrame:
    frames = [depth.curves_frame(s.result).assign(study=s.name) for s in st_state.studies]
    return pd.concat(frames, ignore_index=True)


def _why(study: Study, new: Study | None) -> None:
    result = study.result
    st.markdown("#### Why: activations and gradients layer by layer")
    runs = result.runs
    options = list(range(len(runs)))
    key = f"ds_inspect_{study.id}"
    if key not in st.session_state or new is not None:
        deepest = max(r.depth for r in runs)
        snn = [i for i, r in enumerate(runs) if r.depth == deepest and r.strategy == "selu"]
        st.session_state[key] = snn[0] if snn else len(runs) - 1
    c = st.columns([3, 1])
    i = c[0].selectbox("Run", options, key=key, format_func=lambda k: _run_label(runs[k]))
    with c[1]:
        quantity = links.select(HEATMAP, "Heatmap of")
    run = runs[i]
    st.caption(f"Statistics of each hidden layer on the training mini-batch, at initialisation (step 0) and "
               f"{_every(result.config.every)}; the gradient norm is that of each layer's weights. "
               "Self-normalisation holds where the variance heatmap stays white (variance 1) while the "
               "weights move; red means growing, blue vanishing activations.")
    heat = _spec("heatmap", study.id, quantity, 0.0, False, i, result)
    # Streamlit sizes a stretched chart by its own default height: give it the spec's plus axes and title
    st.vega_lite_chart(heat, width="stretch", height=int(heat.get("height", 200)) + 110)
    st.vega_lite_chart(_spec("profile", study.id, "", 0.0, False, i, result))
    if run.diverged_at is not None:
        st.caption(f"This run diverged at step {run.diverged_at}: its last statistics are from step "
                   f"{run.checkpoints[-1].step if run.checkpoints else 0}.")


# --- the tab ----------------------------------------------------------------------------------
def render() -> None:
    """Draw the tab."""
    st.subheader("Depth study: do SELU networks stay trainable as they get deeper?")
    st.caption("The SNN paper's Figure 1 on a CPU budget: plain deep nets trained on MNIST with the same "
               "steps, data order and seed, self-normalising (SELU + LeCun) against ReLU with BatchNorm and "
               "others. The paper used SGD at 1e-5 for 2 000 epochs on a GPU; here a few hundred steps.")
    st_state = state()
    try:
        train_tab.worker()
    except ValueError as exc:  # e.g. a bad SELU_LAB_MAX_RUNS
        st.error(str(exc))
        return
    new = harvest(st_state)
    values = _controls()
    config = None
    try:
        config = config_from_values(values)
    except ValueError as exc:
        st.error(f"Cannot start: {exc}")
    _start_row(st_state, config)
    _notices(st_state)
    _live_section(st_state)
    _results(st_state, new)


def _every(steps: int) -> str:
    return "after every step" if steps == 1 else f"every {steps} steps"
