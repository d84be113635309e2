"""Small torch layers the registry needs beyond torch's own."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ScaledELU(nn.Module):
    """SELU with custom α and λ: λ·ELU_α(x)."""

    def __init__(self, alpha: float, scale: float) -> None:
        super().__init__()
        self.alpha = float(alpha)
        self.scale = float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * F.elu(x, alpha=self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, scale={self.scale}"
