"""Altair chart builders, one module per tab. They draw; they never compute experiments."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache

import altair as alt
import numpy as np
import pandas as pd


def placeholder(i: int) -> str:
    """Stand-in for the i-th label in a template (labels change with parameters, structure doesn't)."""
    return f"@@label{i}@@"


def with_data(template: str, datasets: dict[str, pd.DataFrame], labels: tuple[str, ...] = (),
              frames: bool = False) -> dict:
    """A Vega-Lite spec from a cached JSON template whose data are named datasets.

    Building and validating an Altair chart costs ~0.1 s; a template keyed on the chart's
    structure is built once and only the data (and ``labels``, filled into
    ``placeholder(i)``) change between reruns. ``frames`` keeps the datasets as DataFrames,
    which ``st.vega_lite_chart`` ships as Arrow, ~3× cheaper than lists of records (it matters
    in the live training view, redrawn every second while the training thread wants the GIL).
    """
    for i, label in enumerate(labels):
        template = template.replace(placeholder(i), json.dumps(label)[1:-1])
    spec = json.loads(template)
    spec.setdefault("datasets", {})
    if frames:  # the template's own inline data (e.g. epoch rules) too, so every dataset ships alike
        spec["datasets"] = {name: pd.DataFrame(values) for name, values in spec["datasets"].items()}
        spec["datasets"].update({name: frame.reset_index(drop=True) for name, frame in datasets.items()})
    else:
        spec["datasets"].update({name: _records(frame) for name, frame in datasets.items()})
    return spec


def _records(frame: pd.DataFrame) -> list[dict]:
    out = frame.replace([np.inf, -np.inf], np.nan).astype(object)
    return out.where(out.notna(), None).to_dict("records")


def cached_template(build: Callable[..., alt.TopLevelMixin]) -> Callable[..., str]:
    """Memoise ``build(*structure)`` as a validated Vega-Lite JSON string."""

    @lru_cache(maxsize=64)
    def template(*structure: object) -> str:
        return json.dumps(build(*structure).to_dict())

    return template
