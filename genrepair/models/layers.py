"""Building blocks shared by several model families."""

from __future__ import annotations

import torch
from torch import nn


class ResBlock(nn.Module):
    """conv-act-conv with an identity skip (KAIR naming: ``res.0`` and ``res.2``)."""

    def __init__(self, channels: int, bias: bool = True) -> None:
        super().__init__()
        self.res = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=bias),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res(x)


def noise_map(x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """A one-channel map of the noise level ``sigma`` (on the [0, 1] scale) shaped like ``x``."""
    n, _, h, w = x.shape
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    return sigma.reshape(-1, 1, 1, 1).expand(n, 1, h, w)
