"""DiffAugment (Zhao et al. 2020): the same differentiable augmentation on real and fake images."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def diff_augment(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    # color: brightness, saturation, contrast
    x = x + (torch.rand(n, 1, 1, 1) - 0.5)
    mean = x.mean(1, keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1) * 2) + mean
    mean = x.mean([1, 2, 3], keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1) + 0.5) + mean
    # translation by up to 1/8 of the side, zero padded
    h, w = x.shape[-2:]
    s = h // 8
    tx, ty = torch.randint(-s, s + 1, (2,)).tolist()
    x = F.pad(x, (s, s, s, s))[..., s + ty : s + ty + h, s + tx : s + tx + w]
    # cutout of a quarter-side square
    c = h // 4
    cy, cx = torch.randint(0, h - c + 1, (2,)).tolist()
    mask = torch.ones_like(x[:, :1])
    mask[..., cy : cy + c, cx : cx + c] = 0
    return x * mask
