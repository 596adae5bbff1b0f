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


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour 2x upsampling, bit-identical to ``F.interpolate(x, scale_factor=2)``.

    Written as a broadcast + reshape because PyTorch's CPU ``upsample_nearest2d`` is about 8x slower
    on the small, many-channel maps of a generator (it dominated the GAN's sampling time).
    """
    n, c, h, w = x.shape
    return x[:, :, :, None, :, None].expand(n, c, h, 2, w, 2).reshape(n, c, 2 * h, 2 * w)


class Upsample2x(nn.Module):
    """``nn.Upsample(scale_factor=2)`` (nearest) as :func:`upsample2x`; no parameters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upsample2x(x)


def noise_map(x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """A one-channel map of the noise level ``sigma`` (on the [0, 1] scale) shaped like ``x``."""
    n, _, h, w = x.shape
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    return sigma.reshape(-1, 1, 1, 1).expand(n, 1, h, w)
