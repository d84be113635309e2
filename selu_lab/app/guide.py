"""Static explanations: the ELU-vs-SELU comparison and the short guide."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from selu_lab.activations import SELU_ALPHA, SELU_SCALE

COMPARISON = pd.DataFrame(
    {
        "": ["Formula", "Parameters", "Range", "Self-normalising?", "Init it needs",
             "Dropout", "Where it is used"],
        "ELU (Clevert et al. 2015)": [
            "x for x > 0;  α(eˣ − 1) for x ≤ 0",
            "α (usually 1), chosen by hand",
            "(−α, ∞)",
            "No: N(0, 1) comes out with mean ≈ 0.16, variance ≈ 0.62, so moments drift layer by layer",
            "He or LeCun; usually paired with BatchNorm in deep nets",
            "ordinary Dropout",
            "CNNs and MLPs wanting smooth negatives and faster learning than ReLU; often with BatchNorm",
        ],
        "SELU (Klambauer et al. 2017)": [
            "λx for x > 0;  λα(eˣ − 1) for x ≤ 0",
            f"α = {SELU_ALPHA:.10f}…, λ = {SELU_SCALE:.10f}… (solved, not tuned)",
            f"(−λα, ∞) = (−{SELU_ALPHA * SELU_SCALE:.4f}, ∞)",
            "Yes: (mean 0, variance 1) is a stable, attracting fixed point of the layer map",
            "LeCun normal: w ~ N(0, 1/fan_in), zero bias",
            "AlphaDropout (keeps mean and variance)",
            "Deep fully-connected nets (SNNs), tabular data, deep plain CNNs without normalisation layers",
        ],
    }
)

GUIDE = f"""
**When should a deep CNN use SELU?**

SELU is ELU scaled by λ, with α and λ solved so that a layer maps inputs of mean 0 and variance 1
back to mean 0 and variance 1 (α ≈ {SELU_ALPHA:.4f}, λ ≈ {SELU_SCALE:.4f}). Nearby moments are pulled
towards that point, so activations stay normalised through many layers without BatchNorm.
That promise only holds when you keep its assumptions:

1. **Deep stacks without normalisation layers.** SELU pays off when the network is deep (tens of layers)
   and you do not want BatchNorm (small batches, batch-size-dependent behaviour, inference cost).
   In a shallow CNN like the assignment's (the Train tab's), SELU, ELU and ReLU all train well.
2. **LeCun-normal init.** Weights ~ N(0, 1/fan_in) and zero bias (`kaiming_normal_(w,
   nonlinearity='linear')`). PyTorch's `calculate_gain('selu')` is 3/4, which shrinks the variance
   every layer: do not use it for self-normalising nets.
3. **Standardised inputs.** Feed inputs with mean 0 and variance 1 per feature (or per pixel).
4. **AlphaDropout instead of Dropout.** Plain dropout changes the variance and breaks the fixed point;
   AlphaDropout sets dropped units to SELU's negative saturation −λα and re-scales to keep mean and variance.
5. **No BatchNorm, no extra scaling.** Normalisation layers are redundant and undo the
   self-normalising dynamics; residual additions also change the variance.

Prefer **ELU** when you do use BatchNorm (or another normaliser) anyway, when the network is shallow,
or when inputs cannot be standardised: ELU is then simply a smooth ReLU with negative outputs.
Try the claims yourself in the **Self-normalisation** and **Depth study** tabs.
"""


def render_comparison() -> None:
    """The side-by-side ELU/SELU table."""
    st.table(COMPARISON.set_index(""))


def render() -> None:
    """The Guide tab."""
    st.markdown(GUIDE)
    render_comparison()
