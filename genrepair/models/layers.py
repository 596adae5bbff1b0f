"""Building blocks shared by several model families."""

from __future__ import annotations

import torch
import torch.nn.functional as F
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


def _fold_taps(k: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The 2-tap kernels a 3-tap kernel along ``dim`` becomes after nearest 2x upsampling (even, odd phase)."""
    t0, t1, t2 = k.unbind(dim)
    return torch.stack((t0, t1 + t2), dim), torch.stack((t0 + t1, t2), dim)


def upsample2x_conv3x3(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``F.conv2d(upsample2x(x), weight, padding=1)`` (no bias) computed on the low-resolution map.

    After a nearest 2x upsampling each of the four output phases sees only a 2x2 neighbourhood of
    ``x``, so the 3x3 kernel folds into four 2x2 kernels (rows/columns of taps summed): 4/9 of the
    multiply-adds and the upsampled map is never built. Equal up to float rounding.
    """
    h, w = x.shape[-2:]
    xp = F.pad(x, (1, 1, 1, 1))
    phases = []
    for a, rows in enumerate(_fold_taps(weight, 2)):
        convs = [F.conv2d(xp[:, :, a : a + h + 1, b : b + w + 1], k) for b, k in enumerate(_fold_taps(rows, 3))]
        phases.append(torch.stack(convs, -1))
    y = torch.stack(phases, 3)  # (N, C, H, 2, W, 2): row phase, column phase
    return y.reshape(y.shape[0], y.shape[1], 2 * h, 2 * w)


class Upsample2x(nn.Module):
    """``nn.Upsample(scale_factor=2)`` (nearest) as :func:`upsample2x`; no parameters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upsample2x(x)


def noise_map(x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """A one-channel map of the noise level ``sigma`` (on the [0, 1] scale) shaped like ``x``."""
    n, _, h, w = x.shape
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    return sigma.reshape(-1, 1, 1, 1).expand(n, 1, h, w)
