"""selu_lab: the ELU/SELU lab. Run with `streamlit run streamlit_app.py`.

This file only lays out the page; each tab lives in `selu_lab/app/*_tab.py` and
is imported when it is first opened (the training tabs load torch, ~2 s).
"""

import importlib
import logging

import streamlit as st

from selu_lab.app import links

st.set_page_config(page_title="selu_lab: ELU, SELU and self-normalising nets", page_icon="🧪",
                   layout="wide")

# tab label -> (module, key prefix of its URL settings)
TABS = {
    "Activations": ("selu_lab.app.activations_tab", "act_"),
    "Self-normalisation": ("selu_lab.app.selfnorm_tab", "sn_"),
    "Train on MNIST": ("selu_lab.app.train_tab", "tr_"),
    "Depth study": ("selu_lab.app.depth_tab", "ds_"),
    "Guide": ("selu_lab.app.guide", "guide_"),
}

# side-by-side charts have fixed widths (their panels share a hover): on a narrow screen they scroll
# sideways instead of being cut off
st.html("<style>[data-testid='stVegaLiteChart'] { max-width: 100%; overflow-x: auto; }</style>")

st.title("selu_lab")
st.caption("ELU and SELU activations, self-normalising networks (Klambauer et al. 2017) and a "
           "CNN you can train on MNIST, all on your CPU.")
links.check_unknown_keys([prefix for _, prefix in TABS.values()], extra_keys=("tab",))
notices = st.container()

tabs = st.tabs(list(TABS), key="tab", bind="query-params")
for tab, (label, (path, prefix)) in zip(tabs, TABS.items(), strict=True):
    with tab:
        if not tab.open:
            continue
        try:
            module = importlib.import_module(path)
            links.check_url(getattr(module, "SETTINGS", ()), scope=prefix,
                            defaults=getattr(module, "link_defaults", None))
            module.render()
        except Exception as exc:  # a bad setting must give a message, never a traceback
            logging.getLogger("selu_lab").exception("tab %s failed", label)
            st.error(f"**{label}** could not be drawn: {exc}  \nChange the setting named above "
                     "or reset this tab's settings by removing them from the address bar.")

with notices:
    links.show_notices()
