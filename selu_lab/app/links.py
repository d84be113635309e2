"""Shareable links: every tab setting is a widget bound to a URL query parameter.

Each tab declares its settings as ``Setting``s (key, default, allowed values)
and builds its widgets with the helpers below, which pass
``bind="query-params"`` so that Streamlit mirrors the value into the URL.
Options with ``labels`` appear in the URL by label (Streamlit writes the
formatted label there). Streamlit silently drops bad URL values; ``check_url`` runs the first time a
tab renders in a session and turns unknown, malformed or out-of-range values
into a visible notice (the widget then starts from its default).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

NOTICE_KEY = "_links_notices"
CHECKED_KEY = "_links_checked"


@dataclass(frozen=True)
class Setting:
    """One URL-mirrored widget value and what the URL may say about it."""

    key: str
    default: Any
    kind: str  # "float" | "int" | "range" | "choice" | "multi" | "bool" | "text"
    lo: float | None = None
    hi: float | None = None
    options: tuple[Any, ...] = field(default_factory=tuple)
    labels: tuple[str, ...] = field(default_factory=tuple)  # shown instead of options (and in the URL)

    def label_of(self, value: Any) -> str:
        """Display label of an option; Streamlit writes this label into the URL."""
        return self.labels[self.options.index(value)] if self.labels else str(value)

    def _url_values(self) -> list[str]:
        return [self.label_of(o) for o in self.options]

    def describe(self) -> str:
        """What values are allowed, for the notice."""
        if self.kind in ("float", "int"):
            return f"a number in [{self.lo:g}, {self.hi:g}]"
        if self.kind == "range":
            return f"two increasing numbers in [{self.lo:g}, {self.hi:g}]"
        if self.kind == "choice":
            return "one of " + ", ".join(self._url_values())
        if self.kind == "multi":
            return "values from " + ", ".join(self._url_values())
        if self.kind == "bool":
            return "true or false"
        return "text"

    def valid(self, value: Any) -> bool:
        """Whether a widget's value is allowed (Streamlit keeps some bad URL values, e.g. 5,-5)."""
        if self.kind == "range":
            return len(value) == 2 and self.lo <= value[0] < value[1] <= self.hi
        if self.kind in ("float", "int"):
            return math.isfinite(value) and self.lo <= value <= self.hi
        if self.kind == "choice":
            return value in self.options
        if self.kind == "multi":
            return all(v in self.options for v in value)
        return True

    def accepts(self, raw: list[str]) -> bool:
        """Whether the URL's raw values are valid for this setting."""
        if self.kind == "multi":
            return all(v in self._url_values() for v in raw)
        if self.kind == "range":
            try:
                lo, hi = (float(v) for v in raw)
            except ValueError:
                return False
            return self.lo <= lo < hi <= self.hi
        if len(raw) != 1:
            return False
        text = raw[0]
        if self.kind == "float":
            try:
                value = float(text)
            except ValueError:
                return False
            return math.isfinite(value) and self.lo <= value <= self.hi
        if self.kind == "int":
            try:
                value = int(text)
            except ValueError:
                return False
            return self.lo <= value <= self.hi
        if self.kind == "choice":
            return text in self._url_values()
        if self.kind == "bool":
            return text.lower() in ("true", "false")
        return len(text) <= 200


def check_unknown_keys(prefixes: Sequence[str], extra_keys: Sequence[str] = ()) -> None:
    """On a session's first run, note URL keys that belong to no tab."""
    checked = st.session_state.setdefault(CHECKED_KEY, set())
    if "_unknown" in checked:
        return
    checked.add("_unknown")
    unknown = [k for k in st.query_params if k not in extra_keys and not k.startswith(tuple(prefixes))]
    _add_notices([f"unknown setting `{k}` ignored" for k in unknown])


def check_url(settings: Iterable[Setting], scope: str,
              defaults: Callable[[], Mapping[str, Any]] | None = None) -> None:
    """The first time a tab renders in a session, note every URL value of its that will be ignored.

    ``scope`` is the tab's key prefix; keys with that prefix that are not settings are unknown.
    ``defaults()`` (by key) names what replaces a bad value where that is not the setting's own
    default (e.g. the chosen recipe's value); it is called only when there is a bad value.
    """
    checked = st.session_state.setdefault(CHECKED_KEY, set())
    if scope in checked:
        return
    checked.add(scope)
    known = {s.key: s for s in settings}
    notices = []
    for key in st.query_params:
        if not key.startswith(scope):
            continue
        raw = st.query_params.get_all(key)
        if key not in known:
            notices.append(f"unknown setting `{key}` ignored")
        elif not known[key].accepts(raw):
            shown = ", ".join(raw)[:40]
            fallback = (defaults() if defaults else {}).get(key, known[key].default)
            notices.append(f"`{key}={shown}` is not {known[key].describe()}; "
                           f"using the default ({format_value(known[key], fallback)})")
    _add_notices(notices)


def _add_notices(notices: list[str]) -> None:
    if notices:
        st.session_state[NOTICE_KEY] = [*st.session_state.get(NOTICE_KEY, []), *notices]


def show_notices() -> None:
    """A dismissible warning listing the ignored link values, if any."""
    notices = st.session_state.get(NOTICE_KEY)
    if not notices:
        return
    with st.container(border=True):
        st.warning("This link contained settings that could not be used:\n\n"
                   + "\n".join(f"- {n}" for n in notices))
        if st.button("Dismiss", key="_links_dismiss"):
            del st.session_state[NOTICE_KEY]
            st.rerun()


def format_value(s: Setting, value: Any) -> str:
    """A setting's value as its widget shows it (labels for choices, numbers with %g)."""
    if s.kind == "multi":
        return ", ".join(s.label_of(v) for v in value) or "none"
    if s.kind == "choice":
        return s.label_of(value)
    if isinstance(value, tuple):
        return " to ".join(f"{v:g}" for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _with_labels(s: Setting, kwargs: dict[str, Any]) -> dict[str, Any]:
    if s.labels and "format_func" not in kwargs:
        kwargs["format_func"] = s.label_of
    return kwargs


def _checked(s: Setting, value: Any) -> Any:
    return value if s.valid(value) else s.default


def _initial(s: Setting, name: str, value: Any) -> dict[str, Any]:
    """The default-value argument, unless Session State already holds the value (set by code)."""
    return {} if s.key in st.session_state else {name: value}


def slider(s: Setting, label: str, **kwargs: Any) -> Any:
    """A slider bound to the URL."""
    value = st.slider(label, s.lo, s.hi, key=s.key, bind="query-params",
                      **_initial(s, "value", s.default), **kwargs)
    return _checked(s, value)


def number(s: Setting, label: str, **kwargs: Any) -> Any:
    """A number input bound to the URL."""
    value = st.number_input(label, s.lo, s.hi, key=s.key, bind="query-params",
                            **_initial(s, "value", s.default), **kwargs)
    return _checked(s, value)


def select(s: Setting, label: str, **kwargs: Any) -> Any:
    """A selectbox bound to the URL."""
    value = st.selectbox(label, s.options, key=s.key, bind="query-params",
                         **_initial(s, "index", s.options.index(s.default)), **_with_labels(s, kwargs))
    return _checked(s, value)


def radio(s: Setting, label: str, **kwargs: Any) -> Any:
    """Radio buttons bound to the URL."""
    value = st.radio(label, s.options, key=s.key, bind="query-params",
                     **_initial(s, "index", s.options.index(s.default)), **_with_labels(s, kwargs))
    return _checked(s, value)


def multiselect(s: Setting, label: str, **kwargs: Any) -> list[Any]:
    """A multiselect bound to the URL (repeated query parameters)."""
    value = st.multiselect(label, s.options, key=s.key, bind="query-params",
                           **_initial(s, "default", list(s.default)), **_with_labels(s, kwargs))
    return list(_checked(s, value))


def toggle(s: Setting, label: str, **kwargs: Any) -> bool:
    """A toggle bound to the URL."""
    value = st.toggle(label, key=s.key, bind="query-params", **_initial(s, "value", s.default), **kwargs)
    return _checked(s, value)
