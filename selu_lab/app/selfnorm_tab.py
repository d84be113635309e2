"""The Self-normalisation tab: when does SELU keep a deep stack at mean 0, variance 1, and why?

Three parts, every number from ``selu_lab.selfnorm`` / ``selu_lab.theory``, every chart from
``selu_lab.charts.selfnorm``:

1. Deep dense stacks: several configurations (a table: add, remove, rename rows) side by side,
   per-layer mean, variance, saturation and gradient norm, with the analytic prediction overlaid.
   Results are kept per configuration in a process-wide store (a progress bar cannot be driven
   from inside ``st.cache_data``, whose replay forbids updating elements created outside it);
   anything estimated above ``CONFIRM_SECONDS`` waits for a click.
2. The paper's mean/variance map in the (μ, ν) plane, its fixed point and spectral norm.
3. SELU parameters for any fixed point, with AlphaDropout's constants, verified by a stack.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Any

import pandas as pd
import streamlit as st

from selu_lab import selfnorm, theory
from selu_lab.activations import NAMES, SPECS, get_activation
from selu_lab.app import links
from selu_lab.app.formatting import format_duration
from selu_lab.charts import selfnorm as charts
from selu_lab.inits import INITS, SHORT_LABELS

CONFIRM_SECONDS = 3.0
STORE_ENTRIES = 256
TABLE_KEY = "sn_table"  # the configurations' base table (the editor's starting point)
EDITOR_KEY = "sn_table_editor"
CONFIRMED_KEY = "sn_confirmed"
COLUMNS = ["name", "activation", "alpha", "scale", "init", "dropout", "rate"]
DEFAULT_TABLE_TEXT = ";".join(
    f"{name}|{c.activation}|||{c.init}|none|0" for name, c in selfnorm.default_configs().items())
WEIGHT_LABELS = {"random": "random weights (LeCun init, as the stack)",
                 "normalized": "normalised weights (ω = 0, τ = 1)",
                 "paper_code": "z ~ N(mean, var) (the authors' notebook)"}

DEPTH = links.Setting("sn_depth", 64, "int", *selfnorm.DEPTH_RANGE)
WIDTH = links.Setting("sn_width", 256, "int", *selfnorm.WIDTH_RANGE)
BATCH = links.Setting("sn_batch", 1024, "int", *selfnorm.BATCH_RANGE)
IN_MEAN = links.Setting("sn_in_mean", 0.0, "float", -10.0, 10.0)
IN_STD = links.Setting("sn_in_std", 1.0, "float", 0.0, 10.0)
SEED = links.Setting("sn_seed", 0, "int", 0, 999_999)
GRAD = links.Setting("sn_grad", True, "bool")
ANALYTIC = links.Setting("sn_analytic", True, "bool")
LOG_VAR = links.Setting("sn_logvar", True, "bool")
HIST = links.Setting("sn_hist", (), "multi", options=tuple(range(1, selfnorm.DEPTH_RANGE[1] + 1)))
CONFIGS = links.Setting("sn_configs", DEFAULT_TABLE_TEXT, "text")
PLANE_KEY = "sn_plane_cfg"  # which configuration's map: options change with the table, so not in the URL
OMEGA = links.Setting("sn_omega", 0.1, "float", -1.0, 1.0)
TAU = links.Setting("sn_tau", 1.1, "float", 0.1, 3.0)
TARGET_MEAN = links.Setting("sn_target_mean", 0.0, "float", -2.0, 2.0)
TARGET_VAR = links.Setting("sn_target_var", 1.0, "float", 0.05, 10.0)
SOLVE_RATE = links.Setting("sn_solve_rate", 0.0, "float", 0.0, 0.3)
WEIGHTS = links.Setting("sn_weights", "random", "choice", options=theory.WEIGHTS,
                        labels=tuple(WEIGHT_LABELS[w] for w in theory.WEIGHTS))

SETTINGS = (DEPTH, WIDTH, BATCH, IN_MEAN, IN_STD, SEED, GRAD, ANALYTIC, LOG_VAR, HIST, CONFIGS, OMEGA,
            TAU, TARGET_MEAN, TARGET_VAR, SOLVE_RATE, WEIGHTS)


# --- results store ---------------------------------------------------------------------------
class ResultStore:
    """Stack results by configuration, shared by every session (LRU, thread-safe)."""

    def __init__(self, max_entries: int = STORE_ENTRIES) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[selfnorm.StackConfig, selfnorm.StackResult] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, config: selfnorm.StackConfig) -> selfnorm.StackResult | None:
        with self._lock:
            hit = self._items.get(config)
            if hit is not None:
                self._items.move_to_end(config)
            return hit

    def put(self, config: selfnorm.StackConfig, result: selfnorm.StackResult) -> None:
        with self._lock:
            self._items[config] = result
            self._items.move_to_end(config)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)


@st.cache_resource(show_spinner=False)
def store() -> ResultStore:
    """The process-wide result store."""
    return ResultStore()


@st.cache_data(max_entries=64, show_spinner=False)
def _analytic(config: selfnorm.StackConfig) -> pd.DataFrame:
    return selfnorm.analytic_curve(config)


@st.cache_data(max_entries=32, show_spinner=False)
def _plane(activation: str, alpha: float | None, scale: float | None, omega: float, tau: float,
           mu0: float, nu0: float, depth: int) -> tuple[pd.DataFrame, tuple[float, float, float] | None,
                                                        pd.DataFrame]:
    return theory.plane_view(get_activation(activation, alpha, scale), omega, tau, mu0, nu0, depth)


@st.cache_data(max_entries=64, show_spinner=False)
def _solve(mean: float, var: float, weights: str, rate: float) -> tuple[theory.SeluParameters, float, float]:
    return theory.selu_parameters_with_dropout(mean, var, rate, weights=weights)


# --- the configurations table ----------------------------------------------------------------
def table_from_text(text: str) -> pd.DataFrame:
    """Rows 'name|activation|alpha|scale|init|dropout|rate' separated by ';' (the URL form)."""
    rows = []
    for item in filter(None, (t.strip() for t in text.split(";"))):
        parts = item.split("|")
        if len(parts) != len(COLUMNS):
            raise ValueError(f"configuration {item!r} needs {len(COLUMNS)} fields separated by |")
        name, act, alpha, scale, init, dropout, rate = (p.strip() for p in parts)
        rows.append({"name": name, "activation": act, "alpha": float(alpha) if alpha else None,
                     "scale": float(scale) if scale else None, "init": init, "dropout": dropout or "none",
                     "rate": float(rate) if rate else 0.0})
    return pd.DataFrame(rows, columns=COLUMNS).astype({"alpha": float, "scale": float, "rate": float})


def table_to_text(table: pd.DataFrame) -> str:
    """The inverse of ``table_from_text``."""
    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        return f"{v:g}" if isinstance(v, float) else str(v).replace("|", "/").replace(";", ",")

    return ";".join("|".join(cell(row[c]) for c in COLUMNS) for _, row in table.iterrows())


def configs_from_table(table: pd.DataFrame, shared: dict[str, Any]) -> tuple[dict[str, selfnorm.StackConfig],
                                                                             list[str]]:
    """Validated StackConfigs by (unique) name, and one message per row that cannot be used."""
    configs: dict[str, selfnorm.StackConfig] = {}
    errors = []
    for i, row in table.reset_index(drop=True).iterrows():
        def num(v: Any) -> float | None:
            return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

        try:
            act = row["activation"]
            if not isinstance(act, str) or not act:
                raise ValueError("choose an activation")
            has_alpha = SPECS.get(act) is not None and SPECS[act].default_alpha is not None
            has_scale = SPECS.get(act) is not None and SPECS[act].default_scale is not None
            cfg = selfnorm.StackConfig(
                activation=act, alpha=num(row["alpha"]) if has_alpha else None,
                scale=num(row["scale"]) if has_scale else None, init=row["init"] or "lecun",
                dropout=row["dropout"] or "none", dropout_rate=num(row["rate"]) or 0.0, **shared).validate()
        except (ValueError, TypeError) as exc:
            errors.append(f"row {i + 1} ({row['name'] or 'unnamed'}): {exc}")
            continue
        name = str(row["name"]).strip() if isinstance(row["name"], str) and row["name"].strip() else cfg.label
        base, k = name, 2
        while name in configs:
            name, k = f"{base} ({k})", k + 1
        configs[name] = cfg
    return configs, errors


def _initial_table() -> pd.DataFrame:
    if TABLE_KEY not in st.session_state:
        raw = st.query_params.get(CONFIGS.key)
        try:
            table = table_from_text(raw) if raw else table_from_text(DEFAULT_TABLE_TEXT)
        except ValueError as exc:
            st.session_state.setdefault(links.NOTICE_KEY, []).append(
                f"`{CONFIGS.key}`: {exc}; using the default configurations")
            table = table_from_text(DEFAULT_TABLE_TEXT)
        st.session_state[TABLE_KEY] = table
    return st.session_state[TABLE_KEY]


def _set_table(table: pd.DataFrame) -> None:
    st.session_state[TABLE_KEY] = table.reset_index(drop=True)
    st.session_state.pop(EDITOR_KEY, None)


def _mirror_table(table: pd.DataFrame) -> None:
    text = table_to_text(table)
    if text == DEFAULT_TABLE_TEXT:
        if CONFIGS.key in st.query_params:
            del st.query_params[CONFIGS.key]
    elif st.query_params.get(CONFIGS.key) != text:
        st.query_params[CONFIGS.key] = text


DROPOUT_LABELS = {"none": "none", "alpha": "AlphaDropout", "standard": "Dropout"}


def _table_editor() -> pd.DataFrame:
    base = _initial_table()
    edited = st.data_editor(
        base, key=EDITOR_KEY, num_rows="dynamic", hide_index=True, width="stretch",
        column_config={
            "name": st.column_config.TextColumn("name", help="Rename freely; empty = automatic"),
            "activation": st.column_config.SelectboxColumn("activation", options=list(NAMES), required=True,
                                                           format_func=lambda n: SPECS[n].label),
            "alpha": st.column_config.NumberColumn(
                "α", format="%.4f", help="ELU/CELU/SELU α or Leaky ReLU slope; empty = default"),
            "scale": st.column_config.NumberColumn("λ", format="%.4f", help="SELU's λ; empty = default"),
            "init": st.column_config.SelectboxColumn(
                "init", options=list(INITS), required=True, format_func=lambda n: SHORT_LABELS[n],
                help="; ".join(f"{SHORT_LABELS[k]}: {v}" for k, v in INITS.items())),
            "dropout": st.column_config.SelectboxColumn("dropout", options=list(selfnorm.DROPOUTS),
                                                        required=True, format_func=DROPOUT_LABELS.get),
            "rate": st.column_config.NumberColumn("rate", min_value=0.0, max_value=0.3, step=0.01,
                                                  format="%.2f"),
        })
    _mirror_table(edited)
    return edited


def _reset_table() -> None:
    _set_table(table_from_text(DEFAULT_TABLE_TEXT))


# --- running ----------------------------------------------------------------------------------
def _confirm(pending: list[selfnorm.StackConfig]) -> None:
    st.session_state[CONFIRMED_KEY] = set(st.session_state.get(CONFIRMED_KEY, set())) | set(pending)


def run_configs(configs: dict[str, selfnorm.StackConfig], *, key: str,
                confirm_seconds: float | None = None) -> dict[str, selfnorm.StackResult]:
    """Results for every configuration: stored ones at once, cheap ones now with a progress bar,
    expensive ones (estimated above ``confirm_seconds``, default ``CONFIRM_SECONDS``, together) after
    the user confirms."""
    confirm_seconds = CONFIRM_SECONDS if confirm_seconds is None else confirm_seconds
    shop = store()
    results: dict[str, selfnorm.StackResult] = {}
    pending: dict[str, selfnorm.StackConfig] = {}
    for name, cfg in configs.items():
        hit = shop.get(cfg)
        if hit is not None:
            results[name] = hit
        else:
            pending[name] = cfg
    if not pending:
        return results
    costs = {name: selfnorm.estimate_cost(cfg) for name, cfg in pending.items()}
    flops = sum(c[0] for c in costs.values())
    seconds = sum(c[1] for c in costs.values())
    confirmed = st.session_state.get(CONFIRMED_KEY, set())
    if seconds > confirm_seconds and not set(pending.values()) <= confirmed:
        mem = max(sum(selfnorm.memory_estimate(c).values()) for c in pending.values())
        with st.container(border=True):
            st.warning(f"**{len(pending)} configuration{'s' if len(pending) > 1 else ''} to compute: "
                       f"{flops / 1e12:.3g} TFLOP, estimated {format_duration(seconds)}** on this machine "
                       f"(from its matmul speed; other users slow it down), up to {mem / 2**20:.0f} MB. "
                       "Nothing runs until you click.")
            st.button(f"Run ({format_duration(seconds)})", key=f"{key}_run", type="primary",
                      icon=":material/play_arrow:", on_click=_confirm, args=(list(pending.values()),))
        return results
    bar = st.progress(0.0, text="Computing…")
    threads = selfnorm.best_threads()
    done_flops = 0.0
    for name, cfg in pending.items():
        share = costs[name][0] / flops if flops > 0 else 1.0 / len(pending)

        def progress(fraction: float, text: str, name: str = name, start: float = done_flops,
                     share: float = share) -> None:
            bar.progress(min(1.0, start / flops + fraction * share) if flops > 0 else fraction,
                         text=f"**{name}**: {text}")

        result = selfnorm.simulate(cfg, progress=progress, threads=threads)
        shop.put(cfg, result)
        results[name] = result
        done_flops += costs[name][0]
    bar.empty()
    return {name: results[name] for name in configs if name in results}


# --- sections ---------------------------------------------------------------------------------
def _shared_controls() -> dict[str, Any]:
    c = st.columns(6)
    with c[0]:
        depth = links.number(DEPTH, "Depth (layers)", step=8)
    with c[1]:
        width = links.number(WIDTH, "Width (units)", step=64)
    with c[2]:
        batch = links.number(BATCH, "Batch (rows)", step=256)
    with c[3]:
        mean = links.number(IN_MEAN, "Input mean μ_in", step=0.5, format="%g")
    with c[4]:
        std = links.number(IN_STD, "Input std σ_in", step=0.5, format="%g")
    with c[5]:
        seed = links.number(SEED, "Seed", step=1, help="Weights, inputs and dropout masks")
    d = st.columns([1.4, 1.4, 1.4, 1.8])  # room for the toggles' labels down to ~900 px
    with d[0]:
        grad = links.toggle(GRAD, "Gradient pass", help=(
            f"One backward pass of a random readout on {selfnorm.AUTO_GRAD_BATCH} rows (fewer if they would "
            "not fit in memory): ‖∂L/∂W_l‖ per layer"))
    with d[1]:
        analytic = links.toggle(ANALYTIC, "Analytic overlay", help=(
            "Iterate the paper's map from the input moments (dashed), with τ = width·Var(w) of the init and "
            "ω = 0; random weights carry the input mean into the variance: ν ← ν + μ²"))
    with d[2]:
        log_var = links.toggle(LOG_VAR, "Log variance axis")
    with d[3]:
        hist = links.multiselect(HIST, "Histograms at layers", max_selections=4,
                                 help="Distribution of the outputs of up to 4 layers")
    return {"depth": int(depth), "width": int(width), "batch": int(batch), "input_mean": float(mean),
            "input_std": float(std), "seed": int(seed), "grad": bool(grad), "analytic": bool(analytic),
            "log_var": bool(log_var), "hist": tuple(int(h) for h in hist)}


def _stacks_section() -> dict[str, selfnorm.StackConfig]:
    st.markdown("#### Deep dense stacks: random inputs through *depth* layers")
    v = _shared_controls()
    hist = tuple(h for h in v["hist"] if h <= v["depth"])
    if len(hist) < len(v["hist"]):
        st.caption(f"Histogram layers beyond depth {v['depth']} are left out.")
    shared = {k: v[k] for k in ("depth", "width", "batch", "input_mean", "input_std", "seed", "grad")}
    shared["hist_layers"] = hist
    st.caption("Configurations: add a row at the bottom, delete rows with the checkbox column, rename in "
               "place. Each row's activation, α, λ, init and dropout; the settings above are shared.")
    table = _table_editor()
    st.button("Reset to the four defaults", key="sn_reset", on_click=_reset_table,
              icon=":material/restart_alt:")
    configs, errors = configs_from_table(table, shared)
    for err in errors:
        st.error(f"Cannot use {err}")
    if not configs:
        st.info("Fix the rows above, or press Reset." if errors
                else "Add at least one configuration to the table.")
        return configs
    results = run_configs(configs, key="sn_stacks")
    if not results:
        return configs
    colors = charts.config_colors({n: configs[n].activation for n in results})
    layers = {n: r.layers for n, r in results.items()}
    analytic = {n: _analytic(configs[n]) for n in results} if v["analytic"] else None
    st.vega_lite_chart(charts.stack_charts(layers, analytic, colors, log_var=v["log_var"]))
    summary = selfnorm.summary_table(layers)
    summary["in_band_from"] = ["never" if pd.isna(v) else f"{int(v)}" for v in summary["in_band_from"]]
    st.dataframe(summary, hide_index=True, width="stretch", column_config={
        "last_mean": st.column_config.NumberColumn(f"mean at layer {v['depth']}", format="%.4f"),
        "last_var": st.column_config.NumberColumn(f"variance at layer {v['depth']}", format="%.4g"),
        "in_band_from": st.column_config.TextColumn("in the band from layer"),
        "self_normalising": st.column_config.CheckboxColumn("ends in the band"),
        "grad_ratio": st.column_config.NumberColumn("‖∇W₁‖ / ‖∇W_last‖", format="%.3g"),
        "saturation": st.column_config.NumberColumn("saturated (mean)", format="percent"),
    })
    st.caption(f"The band: |mean| < {selfnorm.MEAN_TOL:g} and |variance − 1| < {selfnorm.VAR_TOL:g} "
               "(shaded). Solid: measured (pooled over batch and units, after dropout); dashed: the paper's "
               "map.")
    c = st.columns(2)
    with c[0]:
        st.vega_lite_chart(charts.saturation_chart(layers, colors), width="stretch")
        st.caption("Saturated: SELU/ELU/CELU output within 10 % of the floor −λα (z < −ln 10, f′ < a tenth "
                   "of its value at 0⁻); ReLU output 0; tanh below −0.9.")
    with c[1]:
        if v["grad"]:
            st.vega_lite_chart(charts.grad_norm_chart(layers, colors), width="stretch")
            st.caption("Falling towards layer 1: vanishing gradients; rising: exploding. Loss: a random "
                       "linear readout of the last layer.")
        else:
            st.caption("Gradient pass switched off.")
    notes = sorted({n for r in results.values() for n in r.notes})
    for note in notes:
        st.caption(f"Note: {note}.")
    if hist:
        st.vega_lite_chart(charts.histogram_chart({n: r.histograms for n, r in results.items()}, colors)
                           .to_dict())
    return configs


def _plane_section(configs: dict[str, selfnorm.StackConfig], mu0: float, nu0: float, depth: int) -> None:
    st.markdown("#### The paper's map g: (μ, ν) ↦ (μ̃, ν̃), layer to layer")
    st.caption("Arrows point from each (μ, ν) towards g(μ, ν) (shortened to fit; the tooltip has the exact "
               "step); colour = spectral norm of g's Jacobian (below 1: contracting). ω = Σwᵢ and τ = Σwᵢ² "
               "of a unit's weights. The black line: the iterates from the input moments.")
    names = list(configs)
    c = st.columns([2, 1, 1])
    with c[0]:
        if names:
            if st.session_state.get(PLANE_KEY) not in names:
                st.session_state[PLANE_KEY] = names[0]
            cfg = configs[st.selectbox("Map of the activation of", names, key=PLANE_KEY)]
        else:
            cfg = selfnorm.StackConfig()
    with c[1]:
        omega = links.slider(OMEGA, "ω (your weights)", step=0.05)
    with c[2]:
        tau = links.slider(TAU, "τ (your weights)", step=0.05)
    act = cfg.activation_fn()
    panels = st.columns(2)
    for panel, (om, ta, title) in zip(panels, ((0.0, 1.0, "ω = 0, τ = 1 (normalised weights)"),
                                               (omega, tau, f"ω = {omega:g}, τ = {tau:g}")), strict=True):
        grid, fixed, path = _plane(act.name, act.alpha, act.scale, om, ta, mu0, max(nu0, 1e-6), depth)
        with panel:
            st.vega_lite_chart(charts.plane_chart(grid, fixed, path, title=title).to_dict(), width="stretch")
            if fixed is not None:
                verdict = "contracting" if fixed[2] < 1 else "not a contraction (‖J‖ ≥ 1)"
                st.metric("‖J(μ*, ν*)‖₂ at the fixed point", f"{fixed[2]:.4f}", help=verdict)
            else:
                st.caption("No fixed point with ν > 0: the variance collapses or grows without bound.")


def _solver_section(width: int) -> None:
    st.markdown("#### SELU parameters for any fixed point")
    c = st.columns([1, 1, 1, 2])
    with c[0]:
        mean = links.number(TARGET_MEAN, "Target mean", step=0.1, format="%g")
    with c[1]:
        var = links.number(TARGET_VAR, "Target variance", step=0.1, format="%g")
    with c[2]:
        rate = links.slider(SOLVE_RATE, "AlphaDropout rate", step=0.01)
    with c[3]:
        weights = links.select(WEIGHTS, "Weights carry the moments as", help=(
            "random: zero-mean random weights with Σwᵢ² = 1 (LeCun), pooled over units: z ~ N(0, ν + μ²), "
            "what the stack below measures; normalised: ω = 0, τ = 1 exactly; the authors' notebook "
            "(getSELUparameters) takes z ~ N(mean, var). All agree for mean 0."))
    try:
        params, a, b = _solve(float(mean), float(var), weights, float(rate))
    except ValueError as exc:
        st.error(f"No solution: {exc}")
        return
    m = st.columns(4)
    m[0].metric("α", f"{params.alpha:.6f}")  # six decimals fit a narrow column; full precision below
    m[1].metric("λ", f"{params.scale:.6f}")
    m[2].metric("AlphaDropout a", f"{a:.6f}")
    m[3].metric("AlphaDropout b", f"{b:.6f}")
    st.caption(f"Full precision: α = {params.alpha!r}, λ = {params.scale!r}, a = {a!r}, b = {b!r}. "
               f"AlphaDropout: output = a·(x·d + α′(1 − d)) + b with α′ = −λα = "
               f"{params.alpha_prime:.6f} and d ~ Bernoulli(1 − rate); a and b keep mean {mean:g} and "
               f"variance {var:g}.")
    verify = selfnorm.with_selu_parameters(
        selfnorm.StackConfig(depth=64, width=min(max(width, 256), 512), batch=512, grad=False,
                             dropout="alpha" if rate > 0 else "none", dropout_rate=float(rate)), params)
    name = f"SELU α={params.alpha:.4g}, λ={params.scale:.4g}"
    results = run_configs({name: verify}, key="sn_verify")
    if name not in results:
        return
    layers = results[name].layers
    summary = selfnorm.convergence(layers, (mean, var))
    colors = charts.config_colors({name: "selu"})
    st.vega_lite_chart(charts.stack_charts({name: layers}, {name: _analytic(verify)}, colors,
                                           target=(mean, var), log_var=False, height=220))
    entered = summary["entered_band"]
    text = (f"Verified with a stack of {verify.depth} layers × {verify.width} units (LeCun init, inputs "
            f"N(0, 1)): from layer {summary['from_layer']} on its mean averages **{summary['mean']:.4f}** "
            f"(target {mean:g}) and its variance **{summary['var']:.4f}** (target {var:g}); "
            + (f"inside the band from layer {entered}." if entered else "not inside the band at the end."))
    (st.success if entered else st.info)(text)
    if weights != "random" and mean != 0:
        st.caption("With a non-zero mean only the 'random weights' solution is a fixed point of this stack.")
    st.caption("A finite width gives each layer weights with ω, τ a little off 0 and 1, so near a weakly "
               "contracting fixed point the curve wanders around the target.")

    def add_row() -> None:
        table = st.session_state.get(TABLE_KEY, table_from_text(DEFAULT_TABLE_TEXT))
        row = {"name": name, "activation": "selu", "alpha": params.alpha, "scale": params.scale,
               "init": "lecun", "dropout": "alpha" if rate > 0 else "none", "rate": float(rate)}
        _set_table(pd.concat([table, pd.DataFrame([row])], ignore_index=True))

    st.button("Add to the comparison above", key="sn_add_solved", on_click=add_row, icon=":material/add:")


def render() -> None:
    """Draw the tab."""
    st.subheader("Self-normalisation: does SELU keep a deep stack at mean 0, variance 1?")
    st.caption("Random inputs through deep dense stacks with zero biases: per-layer mean, variance, "
               "saturation and gradients, against the paper's analytic map (Klambauer et al. 2017, Eq. 4–5). "
               "SELU with LeCun-normal weights converges to (0, 1); PyTorch's SELU gain 3/4 and ELU shrink "
               "the variance.")
    configs = _stacks_section()
    first = next(iter(configs.values()), selfnorm.StackConfig())
    _plane_section(configs, first.input_mean, first.input_std**2, first.depth)
    _solver_section(first.width)


__all__ = ["SETTINGS", "ResultStore", "configs_from_table", "render", "run_configs", "table_from_text",
           "table_to_text"]
