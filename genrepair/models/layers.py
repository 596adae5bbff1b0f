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

    @torch.no_grad()
    def start_as_identity(self) -> None:
        """Zero the last convolution: the block passes its input through (``init_from(grow=True)``)."""
        nn.init.zeros_(self.res[-1].weight)
        if self.res[-1].bias is not None:
            nn.init.zeros_(self.res[-1].bias)


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour 2x upsampling, bit-identical to ``F.interpolate(x, scale_factor=2)``.

    Written as a broadcast + reshape because PyTorch's CPU ``upsample_nearest2d`` is about 8x slower
    on the small, many-channel maps of a generator (it dominated the GAN's sampling time).
    """
    n, c, h, w = x.shape
    return x[:, :, :, None, :, None].expand(n, c, h, 2, w, 2).reshape(n, c, 2 * h, 2 * w)


def _fold_taps(k: torch.Tensor, dim: int) -> torch.Tensor:
    """A 3-tap kernel along ``dim`` as the 4-tap, stride-2 transposed-convolution kernel of "nearest 2x
    upsampling, then the 3 taps": each output phase sees two input pixels (taps ``t0`` and ``t1 + t2``
    for even outputs, ``t0 + t1`` and ``t2`` for odd ones), laid out in transposed-convolution order."""
    t0, t1, t2 = k.unbind(dim)
    return torch.stack((t2, t1 + t2, t0 + t1, t0), dim)


def upsample2x_conv3x3(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``F.conv2d(upsample2x(x), weight, padding=1)`` (no bias) computed on the low-resolution map.

    After a nearest 2x upsampling each output pixel sees only a 2x2 neighbourhood of ``x``, so the
    3x3 kernel folds into a 4x4 stride-2 transposed convolution: 4/9 of the multiply-adds, one
    library call, and the upsampled map is never built. Equal up to float rounding.
    """
    folded = _fold_taps(_fold_taps(weight, 2), 3).transpose(0, 1)  # (in, out, 4, 4)
    return F.conv_transpose2d(x, folded, stride=2, padding=1)


class Upsample2x(nn.Module):
    """``nn.Upsample(scale_factor=2)`` (nearest) as :func:`upsample2x`; no parameters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upsample2x(x)


def noise_map(x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """A one-channel map of the noise level ``sigma`` (on the [0, 1] scale) shaped like ``x``."""
    n, _, h, w = x.shape
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    return sigma.reshape(-1, 1, 1, 1).expand(n, 1, h, w)
