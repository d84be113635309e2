"""The Train on MNIST tab: one click to train the seed's CNN, a live loss chart, stop, compare, inspect.

How it stays live without blocking the page:

- Start submits a job to the session's :class:`selu_lab.jobs.Worker` (a daemon
  thread that never calls ``st.*``), kept in a session-scoped
  ``st.cache_resource`` whose ``on_release`` closes it when the session ends.
- A server-wide :func:`selu_lab.jobs.shared_slot` lets one run train at a time
  (``SELU_LAB_MAX_RUNS``); a second session's run shows that it waits.
- The live section is an ``st.fragment(run_every=1 s)`` while anything is queued
  or running: it reads the job's new events into its :class:`history.Run` and
  redraws only itself. When a job ends it asks for one full rerun, which moves
  the run into the session's :class:`history.RunHistory` (:func:`harvest`).
- MNIST is loaded once per server process (global ``st.cache_resource``
  holding a :class:`selu_lab.jobs.Lazy`) by the first run that needs it, and
  shared read-only.

Tests drive it without a browser: click Start through AppTest, wait on the job
found in the tab state (``TabState.jobs``), then rerun the script.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from selu_lab import data as mnist_data
from selu_lab import jobs
from selu_lab import train as trainer
from selu_lab.activations import NAMES, SPECS
from selu_lab.app import links
from selu_lab.app.formatting import format_duration
from selu_lab.app.messages import show_messages
from selu_lab.charts import training as charts
from selu_lab.history import Run, RunHistory, activation_label, reference_frame
from selu_lab.inits import INITS, SHORT_LABELS
from selu_lab.models import DROPOUTS

KIND = "train"
STATE_KEY = "tr_state"
POLL_SECONDS = 1.0
COMPARE = ("selu", "elu", "relu")
SUBSETS = (1_000, 2_000, 5_000, 10_000, 20_000, 60_000)
DEFAULT_SUBSET = 2_000
GALLERY_SIZES = (24, 48, 96)
LIVE_POINTS = 1000  # per-batch points in the live chart, redrawn every second (history views: 2 000)

_SEED = trainer.recipe_config("seed")

ACTIVATION = links.Setting("tr_act", "selu", "choice", options=NAMES,
                           labels=tuple(SPECS[n].label for n in NAMES))
INIT = links.Setting("tr_init", _SEED.init, "choice", options=tuple(INITS),
                     labels=tuple(SHORT_LABELS[n] for n in INITS))
RECIPE = links.Setting("tr_recipe", "seed", "choice", options=tuple(trainer.RECIPES))
SUBSET = links.Setting("tr_subset", DEFAULT_SUBSET, "choice", options=SUBSETS,
                       labels=tuple(f"{n // 1000}k" if n < 60_000 else "all 60k" for n in SUBSETS))
SEED = links.Setting("tr_seed", 0, "int", 0, 999_999)
EPOCHS = links.Setting("tr_epochs", _SEED.epochs, "int", 1, 50)
BATCH = links.Setting("tr_batch", _SEED.batch_size, "choice", options=(16, 32, 64, 128, 256, 512, 1024))
LR = links.Setting("tr_lr", _SEED.lr, "float", 1e-5, 1.0)
OPTIMIZER = links.Setting("tr_opt", _SEED.optimizer, "choice", options=tuple(trainer.OPTIMIZERS),
                          labels=tuple(trainer.OPTIMIZERS.values()))
SCHEDULE = links.Setting("tr_schedule", _SEED.schedule, "choice", options=tuple(trainer.SCHEDULES),
                         labels=tuple({"onecycle": "one-cycle"}.get(s, s) for s in trainer.SCHEDULES))
DROPOUT = links.Setting("tr_dropout", _SEED.dropout, "choice", options=tuple(DROPOUTS),
                        labels=tuple({"alpha": "AlphaDropout", "standard": "Dropout"}.get(d, d)
                                     for d in DROPOUTS))
DROPOUT_RATE = links.Setting("tr_dropout_rate", _SEED.dropout_rate, "float", 0.0, 0.5)
STANDARDIZE = links.Setting("tr_standardize", _SEED.standardize, "bool")

SETTINGS = (ACTIVATION, INIT, RECIPE, SUBSET, SEED, EPOCHS, BATCH, LR, OPTIMIZER, SCHEDULE, DROPOUT,
            DROPOUT_RATE, STANDARDIZE)
METRICS_FIRST = ("run", "status", "test accuracy", "final train loss", "time (s)", "images/s")
# TrainConfig field -> the widget that overrides the recipe's value
RECIPE_FIELDS: dict[str, links.Setting] = {
    "init": INIT, "epochs": EPOCHS, "batch_size": BATCH, "lr": LR, "optimizer": OPTIMIZER,
    "schedule": SCHEDULE, "dropout": DROPOUT, "dropout_rate": DROPOUT_RATE, "standardize": STANDARDIZE,
}
# the runs table shows these settings by their labels (init, optimizer, schedule, dropout)
LABELLED = {name: setting for name, setting in RECIPE_FIELDS.items() if setting.labels}


@dataclass
class TabState:
    """What the tab keeps in ``st.session_state[STATE_KEY]`` (one per browser session)."""

    history: RunHistory = field(default_factory=RunHistory)
    jobs: dict[str, jobs.Job] = field(default_factory=dict)  # submitted, not yet harvested
    runs: dict[str, Run] = field(default_factory=dict)  # the live Run of each of those jobs
    notices: list[tuple[str, str]] = field(default_factory=list)  # (error|warning|info, text)
    live_chart: dict[str, Any] = field(default_factory=dict)  # the last live spec and what it showed


def state() -> TabState:
    """This session's tab state (created on first use)."""
    if STATE_KEY not in st.session_state:
        st.session_state[STATE_KEY] = TabState()
    return st.session_state[STATE_KEY]


# --- server and session resources ------------------------------------------------
@st.cache_resource(show_spinner=False)
def mnist() -> jobs.Lazy[mnist_data.MnistData]:
    """MNIST, loaded once per server process by the first run that needs it, shared read-only."""
    return jobs.Lazy(lambda: mnist_data.load_mnist())


def _close_worker(worker: jobs.Worker) -> None:
    worker.close()  # returns at once; the thread ends within one batch (+ a final evaluation)


@st.cache_resource(scope="session", on_release=_close_worker, show_spinner=False)
def worker() -> jobs.Worker:
    """This session's worker thread; released (and closed) when the session disconnects."""
    return jobs.Worker(slot=jobs.shared_slot(), name="selu-lab-train")


# --- submitting --------------------------------------------------------------------
def train_job(config: trainer.TrainConfig, data: jobs.Lazy[mnist_data.MnistData]) -> jobs.JobFn:
    """The job function of one training run: load MNIST (once per process), then train."""

    def run(emit: jobs.Emit, stop: Any) -> trainer.TrainResult:
        return trainer.train(config, data.get(), on_event=emit, stop=stop)

    return run


def config_from_values(values: dict[str, Any], activation: str | None = None) -> trainer.TrainConfig:
    """The TrainConfig the controls describe (recipe 'custom' once any recipe value is overridden).

    ``values`` maps ``recipe``, ``activation``, ``subset``, ``seed`` and the fields of
    ``RECIPE_FIELDS`` to the widgets' values; ValueError names a field the trainer refuses.
    """
    recipe = values["recipe"]
    overrides = {name: values[name] for name in RECIPE_FIELDS}
    base = trainer.recipe_config(recipe)
    changed = any(getattr(base, name) != value for name, value in overrides.items())
    subset = int(values["subset"])
    config = trainer.recipe_config(recipe, **overrides, activation=activation or values["activation"],
                                   subset=None if subset >= 60_000 else subset, seed=int(values["seed"]))
    return dataclasses.replace(config, recipe="custom") if changed else config


def run_title(config: trainer.TrainConfig) -> str:
    """'SELU · seed · 2k×5' — activation, recipe, training images × epochs."""
    images = "60k" if config.subset is None else f"{config.subset / 1000:g}k"
    return f"{activation_label(config.activation)} · {config.recipe} · {images}×{config.epochs}"


def submit(config: trainer.TrainConfig) -> jobs.Job:
    """Queue one training run in this session's worker and track it in the tab state."""
    st_state = state()
    name = f"#{st_state.history.next_number()} {run_title(config)}"
    job = worker().submit(name, train_job(config, mnist()), kind=KIND, meta=config)
    st_state.jobs[job.id] = job
    st_state.runs[job.id] = Run(job.id, name, dataclasses.asdict(config), status="queued")
    return job


def harvest(st_state: TabState, session_worker: jobs.Worker | None = None) -> list[str]:
    """Read new events of the tracked jobs; move ended jobs into the history. Returns new run ids.

    A finished, stopped or diverged run keeps everything it produced; a failure (e.g. MNIST
    missing) or a divergence adds a notice; earlier runs are never touched.
    """
    added = []
    for job_id, job in list(st_state.jobs.items()):
        run = st_state.runs[job_id]
        done = job.done  # read before the events, so none is missed
        run.ingest(job.events(run.n_events))
        if not done:
            run.status = job.status
            continue
        run.finish(job.status, job.message, job.result)
        del st_state.jobs[job_id], st_state.runs[job_id]
        if session_worker is not None:
            session_worker.forget(job_id)
        if job.status == "failed":
            st_state.notices.append(("error", f"{run.name} failed: {job.error}"))
            continue
        if job.result is None:  # cancelled before it started: nothing to keep
            continue
        st_state.history.add(run)
        added.append(run.id)
        if job.status == "diverged":
            st_state.notices.append(("warning", f"{run.name}: {job.message}"))
    return added


# --- controls ------------------------------------------------------------------------
def _apply_recipe(recipe: str, only_missing_from_url: bool = False) -> None:
    """Set the override widgets to the recipe's values (on first load: only those the URL lacks)."""
    for setting, value in _recipe_values(recipe):
        if only_missing_from_url and setting.accepts(st.query_params.get_all(setting.key)):
            continue
        st.session_state[setting.key] = value


def _recipe_values(recipe: str) -> list[tuple[links.Setting, Any]]:
    """Each override widget with the named recipe's value for it."""
    config = trainer.recipe_config(recipe)
    return [(setting, getattr(config, name)) for name, setting in RECIPE_FIELDS.items()]


def _on_recipe_change() -> None:
    _apply_recipe(st.session_state[RECIPE.key])


def link_defaults() -> dict[str, Any]:
    """What replaces a bad link value of a recipe setting: the linked recipe's value, not the seed's."""
    recipe = st.query_params.get(RECIPE.key, RECIPE.default)
    if recipe not in trainer.RECIPES:
        return {}
    return {setting.key: value for setting, value in _recipe_values(recipe)}


def _first_load() -> None:
    """A link may name the fast recipe without listing its values: fill them in before the widgets."""
    if st.session_state.get("tr_loaded"):
        return
    st.session_state["tr_loaded"] = True
    recipe = st.query_params.get(RECIPE.key, RECIPE.default)
    if recipe in trainer.RECIPES and recipe != "seed":
        _apply_recipe(recipe, only_missing_from_url=True)


def _controls() -> dict[str, Any]:
    """The setting widgets; returns their values by TrainConfig field name."""
    v: dict[str, Any] = {}
    c = st.columns([1.1, 1.1, 1, 1, 0.8])
    with c[0]:
        v["activation"] = links.select(ACTIVATION, "Activation", help="The CNN's activation after each "
                                       "conv and the first fully-connected layer")
    with c[1]:
        v["init"] = links.select(INIT, "Weight init",
                                 help="\n".join(f"- **{SHORT_LABELS[k]}**: {d}" for k, d in INITS.items()))
    with c[2]:
        v["recipe"] = links.radio(
            RECIPE, "Recipe", horizontal=True, on_change=_on_recipe_change,
            help="\n".join(f"- **{k}**: {trainer.RECIPE_DESCRIPTIONS[k]}" for k in trainer.RECIPES)
            + "\n\nChoosing a recipe resets the settings below to its values.")
    with c[3]:
        v["subset"] = links.select(SUBSET, "Training images", help="The first N of the 60 000 training "
                                   "images: a quick demo needs few. The test accuracy is always measured "
                                   "on all 10 000 test images.")
    with c[4]:
        v["seed"] = links.number(SEED, "Random seed", step=1, help="Weights, shuffling and dropout masks")
    with st.expander("Recipe settings (override any)", expanded=False):
        e = st.columns(5)
        with e[0]:
            v["epochs"] = links.number(EPOCHS, "Epochs", step=1)
            v["standardize"] = links.toggle(STANDARDIZE, "Standardise inputs",
                                            help="(x − 0.1307) / 0.3081 on [0, 1] pixels")
        with e[1]:
            v["batch_size"] = links.select(BATCH, "Batch size")
        with e[2]:
            v["lr"] = links.number(LR, "Learning rate", step=1e-4, format="%g",
                                   help="Peak learning rate for the one-cycle schedule")
        with e[3]:
            v["optimizer"] = links.select(OPTIMIZER, "Optimizer")
            v["schedule"] = links.select(SCHEDULE, "Schedule")
        with e[4]:
            v["dropout"] = links.select(DROPOUT, "Dropout (before the last layer)")
            v["dropout_rate"] = links.slider(DROPOUT_RATE, "Dropout rate", step=0.05)
    return v


def _overrides_note(values: dict[str, Any]) -> None:
    """Say which settings differ from the chosen recipe (such runs are labelled 'custom')."""
    base = trainer.recipe_config(values["recipe"])
    changed = [f"{name.replace('_', ' ')} {links.format_value(setting, values[name])}"
               for name, setting in RECIPE_FIELDS.items() if getattr(base, name) != values[name]]
    if changed:
        st.caption(f"Overrides of the {values['recipe']} recipe: {', '.join(changed)}; "
                   "runs with these settings are labelled *custom*.")


def _buttons(st_state: TabState, values: dict[str, Any]) -> None:
    b = st.columns([1, 1.4, 3])
    start = b[0].button("Start", key="tr_start", type="primary", width="stretch",
                        icon=":material/play_arrow:")
    compare = b[1].button("Compare SELU / ELU / ReLU", key="tr_compare", width="stretch",
                          icon=":material/compare_arrows:",
                          help="Queue the same settings with each of the three activations; "
                               "they run one after another")
    b[2].caption(_background_note(jobs.shared_slot().limit))
    if not (start or compare):
        return
    try:
        configs = ([config_from_values(values)] if start
                   else [config_from_values(values, activation=name) for name in COMPARE])
        for config in configs:
            submit(config)
    except ValueError as exc:  # a setting the trainer refuses (the message names it)
        st_state.notices.append(("error", f"Cannot start: {exc}"))
    except RuntimeError as exc:  # the session's worker was closed (disconnect race)
        st_state.notices.append(("error", f"Cannot start: {exc}; reload the page"))


def _background_note(limit: int) -> str:
    """What the Start row says about background runs and this server's limit (0: none)."""
    if not limit:
        at_once = "Any number of runs train at once on this server"
    else:
        at_once = "One run trains at a time on this server" if limit == 1 else \
            f"{limit} runs train at once on this server"
    return (f"Runs train in the background: switch tabs or change other settings freely. "
            f"{at_once}; later ones wait in line and start by themselves.")


def _notices(st_state: TabState) -> None:
    show_messages(st_state.notices, key="tr_dismiss")


# --- the live section ------------------------------------------------------------------
def _stop_current() -> None:
    st_state = state()
    for job in st_state.jobs.values():
        if job.status in ("running", "waiting"):
            job.stop()


def _cancel_queued() -> None:
    st_state = state()
    w = worker()
    for job in st_state.jobs.values():
        if job.status == "queued":
            w.stop(job.id)


def _live() -> None:
    """Progress and live chart of this session's current run (the polling fragment: keep it lean,
    every poll holds the GIL that the training thread needs too)."""
    st_state = state()
    if not st_state.jobs:
        return
    if any(job.done for job in st_state.jobs.values()):
        st.rerun(scope="app")  # a run ended: the full rerun moves it into the history
    current = None
    for job_id, job in st_state.jobs.items():
        run = st_state.runs[job_id]
        run.ingest(job.events(run.n_events))
        run.status = job.status
        if run.status in ("running", "waiting") and current is None:
            current = (job, run)
    if current is not None:
        _current_run(*current)
    else:
        busy = worker().current
        if busy is not None and busy.id not in st_state.jobs:
            st.info(f"Queued behind **{busy.label}** (started in another tab of this session); "
                    "it starts when that one ends.")
        else:
            st.info("Starting…")
    _run_buttons(st_state, starting=current is None)


def _run_buttons(st_state: TabState, starting: bool) -> None:
    """Stop, and this session's queue: inside the polling fragment, so that they follow the runs.

    ``starting``: no run of this session trains yet, so the first queued one is the one starting."""
    queued = [st_state.runs[job_id].name for job_id, job in st_state.jobs.items() if job.status == "queued"]
    if starting:
        queued = queued[1:]
    cols = st.columns([1, 1, 4])
    cols[0].button("Stop", key="tr_stop", on_click=_stop_current, width="stretch", icon=":material/stop:",
                   help="Ends the run within one batch and keeps what it produced, marked stopped")
    if queued:
        cols[1].button("Cancel queue", key="tr_cancel", on_click=_cancel_queued, width="stretch")
        cols[2].caption("Queued next: " + ", ".join(queued))


def _live_spec(run: Run) -> dict:
    """The live chart's spec, rebuilt only when the run reported something new since the last poll."""
    cache = state().live_chart
    if cache.get("key") != (run.id, run.n_events):
        cache["key"] = (run.id, run.n_events)
        cache["spec"] = charts.live_chart(run.loss_frame(LIVE_POINTS, labels=False),
                                          run.epoch_frame(labels=False), run.activation,
                                          int(run.settings.get("epochs") or 0))
    return cache["spec"]


def _current_run(job: jobs.Job, run: Run) -> None:
    snap = job.snapshot()
    if snap.status == "waiting":
        place = f" (place {snap.queue_position} in line)" if snap.queue_position else ""
        st.info(f"⏳ **{run.name}** is {jobs.WAITING_MESSAGE}{place}. It starts by itself; "
                "one run trains at a time on this server.")
        return
    p = run.progress()
    if p["step"] == 0:
        st.progress(0.0, text=f"**{run.name}**: preparing (MNIST is loaded once per server)…")
    else:
        st.progress(p["fraction"], text=(
            f"**{run.name}** · epoch {p['epoch']:.0f}/{p['epochs']} · batch {p['batch']:.0f}/"
            f"{p['batches_per_epoch']:.0f} · {p['images_per_s']:,.0f} images/s · "
            f"elapsed {format_duration(p['elapsed'])} · ETA {format_duration(p['eta'])}"))
    if job.stop_requested:
        st.caption("Stopping after this batch (a last evaluation on the test set follows)…")
    if p["step"] == 0:
        return  # no point yet: an empty chart would show a lone "0.000000" tick
    cached = _live_spec(run)
    st.vega_lite_chart(cached, width="stretch")


def _live_section(st_state: TabState) -> None:
    """The live fragment (polling once a second while a run is queued or running), Stop and the queue."""
    if not st_state.jobs:
        return
    active = any(not job.done for job in st_state.jobs.values())
    with st.container(border=True):
        st.fragment(_live, run_every=POLL_SECONDS if active else None)()


# --- history and results -------------------------------------------------------------------
def _delete_selected() -> None:
    st_state = state()
    ids = list(st.session_state.get("tr_show", []))
    st_state.history.remove(ids)
    st.session_state["tr_show"] = []


def _history(st_state: TabState, new_ids: list[str]) -> None:
    history = st_state.history
    st.markdown("#### Runs of this session")
    if not len(history):
        st.caption("Finished and stopped runs appear here: overlay them, compare their settings and "
                   "metrics, inspect one, download its weights. Each browser session sees only its own runs.")
        return
    shown = [i for i in st.session_state.get("tr_show", []) if i in history]
    st.session_state["tr_show"] = shown + [i for i in new_ids if i not in shown]
    names = {r.id: r.name for r in history}
    selected = st.multiselect("Runs to compare", history.ids, key="tr_show", format_func=names.get,
                              persist_state="session", placeholder="Pick runs to overlay")
    if selected:
        runs = history.select(selected)
        reference = (reference_frame(trainer.ASSIGNMENT_EPOCH_LOSSES)
                     if any(r.settings.get("recipe") == "seed" for r in runs) else None)
        loss_spec, acc_spec = charts.overlay_charts(history.loss_frame(selected),
                                                    history.epoch_frame(selected), reference)
        st.vega_lite_chart(loss_spec, width="stretch")
        st.vega_lite_chart(acc_spec, width="stretch")
        if reference is not None:
            st.caption("◆ The assignment's reported epoch losses (seed recipe, SELU, all 60 000 images), "
                       "shown beside seed-recipe runs; runs on fewer images are not expected to match them.")
        table = history.table(selected)
        for name, setting in LABELLED.items():
            table[name] = [setting.label_of(v) if v in setting.options else v for v in table[name]]
        table = table[[*METRICS_FIRST, *(c for c in table.columns if c not in METRICS_FIRST)]]
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "lr": st.column_config.NumberColumn(format="%g"),
            "final train loss": st.column_config.NumberColumn(format="%.4f"),
            "test accuracy": st.column_config.NumberColumn(format="percent"),
            "time (s)": st.column_config.NumberColumn(format="%.1f"),
            "images/s": st.column_config.NumberColumn(format="%.0f"),
        })
        with st.popover(f"Delete the {len(selected)} selected run(s)", icon=":material/delete:"):
            st.write("Delete " + ", ".join(names[i] for i in selected) + "? This cannot be undone.")
            st.button("Delete", key="tr_delete", on_click=_delete_selected, type="primary")
    _details(st_state, new_ids)


def _details(st_state: TabState, new_ids: list[str]) -> None:
    history = st_state.history
    ids = history.ids
    current = st.session_state.get("tr_inspect")
    if new_ids:
        st.session_state["tr_inspect"] = new_ids[-1]
    elif current not in ids:
        st.session_state["tr_inspect"] = ids[-1]
    names = {r.id: r.name for r in history}
    st.markdown("#### Inspect a run")
    run_id = st.selectbox("Run", ids, key="tr_inspect", format_func=names.get, persist_state="session")
    run = history.get(run_id)
    if run is None:
        return
    status = run.status + (f": {run.message}" if run.message else "")
    st.caption(f"Status: {status}")
    m = st.columns(4)
    m[0].metric("Test accuracy", "–" if run.test_accuracy is None else f"{run.test_accuracy:.2%}")
    loss = run.final_train_loss
    m[1].metric("Final train loss", "–" if loss is None else f"{loss:.4f}")
    m[2].metric("Time", format_duration(run.elapsed))
    m[3].metric("Images/s", "–" if run.images_per_s is None else f"{run.images_per_s:,.0f}")
    c = st.columns(2)
    if run.confusion is not None:
        with c[0]:
            st.vega_lite_chart(charts.confusion_chart(run.confusion_frame()))
    if run.per_class_accuracy is not None:
        with c[1]:
            st.vega_lite_chart(charts.per_class_chart(run.per_class_frame()), width="stretch")
    _gallery(run)
    _downloads(run)


def _gallery(run: Run) -> None:
    mis = run.misclassified
    if mis is None:
        return
    holder = mnist()
    st.markdown(f"**Misclassified test digits**: {len(mis)} of 10 000"
                + (", most confident mistakes first" if "confidence" in mis else ""))
    if not len(mis) or not holder.loaded:
        return
    n = st.segmented_control("Show", GALLERY_SIZES, default=GALLERY_SIZES[0], key="tr_gallery_n",
                             persist_state="session") or GALLERY_SIZES[0]
    order = mis.sort_values("confidence", ascending=False) if "confidence" in mis else mis
    shown = order.head(int(n))
    images = holder.get().test_images[list(shown["index"])].numpy()
    st.image(list(images), width=56,
             caption=[f"pred {p} / true {t}" for p, t in zip(shown["pred"], shown["label"], strict=True)])


def _downloads(run: Run) -> None:
    result = run.result
    number = run.name.split(" ", 1)[0].lstrip("#")
    stem = f"selu_lab_run{number if number.isdigit() else run.id}_{run.activation}"
    files = [("Weights (.pt)", "save_weights", "weights.pt", "application/octet-stream"),
             ("Metrics (CSV)", "metrics_csv", "metrics.csv", "text/csv"),
             ("Batch losses (CSV)", "batch_losses_csv", "batch_losses.csv", "text/csv")]
    makers = [(label, getattr(result, attr, None), suffix, mime) for label, attr, suffix, mime in files]
    makers = [m for m in makers if callable(m[1])]
    if not makers:
        return
    d = st.columns([1] * len(makers) + [2])
    for col, (label, make, suffix, mime) in zip(d, makers, strict=False):
        # the bytes are made only when clicked (a callable), never on every rerun
        col.download_button(label, data=make, file_name=f"{stem}_{suffix}", mime=mime, on_click="ignore",
                            key=f"tr_dl_{suffix}_{run.id}", icon=":material/download:")
    d[-1].caption(f"Load the weights in Python with `from selu_lab.train import TrainConfig, load_weights`, "
                  f"then `load_weights(\"{stem}_weights.pt\", {_model_config(run.settings)})`; "
                  "the metrics CSV has one row per completed epoch.")


def _model_config(settings: dict[str, Any]) -> str:
    """The ``TrainConfig(...)`` that rebuilds this run's CNN: the fields the network depends on."""
    default = trainer.TrainConfig()
    fields = ("activation", "alpha", "scale", "dropout", "dropout_rate", "standardize")
    args = ", ".join(f"{f}={settings[f]!r}" for f in fields
                     if f in settings and settings[f] != getattr(default, f))
    return f"TrainConfig({args})"


# --- the tab ---------------------------------------------------------------------------------
def render() -> None:
    """Draw the tab."""
    st.subheader("Train the assignment's CNN on MNIST")
    st.caption("The *seed* is the assignment's original script: its CNN (conv 32 → conv 64 → fc 128 → fc 10) "
               "is trained here with your choice of activation, init and recipe, and its settings are the "
               "*seed* recipe. The loss chart updates live; runs keep going while you use the other tabs.")
    st_state = state()
    try:
        session_worker = worker()
    except ValueError as exc:  # e.g. a bad SELU_LAB_MAX_RUNS
        st.error(str(exc))
        return
    new_ids = harvest(st_state, session_worker)
    _first_load()
    values = _controls()
    _overrides_note(values)
    _buttons(st_state, values)
    _notices(st_state)
    _live_section(st_state)
    _history(st_state, new_ids)
