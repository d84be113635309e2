"""A tab's pending messages (errors, warnings) shown until the user dismisses them."""

from __future__ import annotations

import streamlit as st


def show_messages(notices: list[tuple[str, str]], key: str) -> None:
    """Show each (level, text) as st.error / st.warning / st.info, with one Dismiss button."""
    if not notices:
        return
    for level, text in notices:
        getattr(st, level)(text)
    if st.button("Dismiss messages", key=key):
        notices.clear()
        st.rerun()
