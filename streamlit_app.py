"""selu_lab: the ELU/SELU lab. Run with `streamlit run streamlit_app.py`.

This file only lays out the page; each tab lives in `selu_lab/app/*_tab.py`.
"""

import importlib
import logging

import streamlit as st

from selu_lab.app import guide, links

st.set_page_config(page_title="selu_lab: ELU, SELU and self-normalising nets", page_icon="🧪",
                   layout="wide")

TABS = {
    "Activations": "selu_lab.app.activations_tab",
    "Self-normalisation": "selu_lab.app.selfnorm_tab",
    "Train on MNIST": "selu_lab.app.train_tab",
    "Depth study": "selu_lab.app.depth_tab",
}
modules = {}
for label, path in TABS.items():
    try:
        modules[label] = importlib.import_module(path)
    except ModuleNotFoundError as exc:  # during development a tab may not exist yet
        if exc.name != path:
            raise

links.check_url([s for m in modules.values() for s in getattr(m, "SETTINGS", ())], extra_keys=("tab",))

st.title("selu_lab")
st.caption("ELU and SELU activations, self-normalising networks (Klambauer et al. 2017) and a "
           "CNN you can train on MNIST, all on your CPU.")
links.show_notices()

labels = [*modules, "Guide"]
tabs = st.tabs(labels, key="tab", bind="query-params")
for tab, label in zip(tabs, labels, strict=True):
    with tab:
        if not tab.open:
            continue
        try:
            guide.render() if label == "Guide" else modules[label].render()
        except Exception as exc:  # a bad setting must give a message, never a traceback
            logging.getLogger("selu_lab").exception("tab %s failed", label)
            st.error(f"**{label}** could not be drawn: {exc}  \nChange the setting named above "
                     "or reset this tab's settings by removing them from the address bar.")
