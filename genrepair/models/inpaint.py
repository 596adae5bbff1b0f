"""Inpainting network: image + mask (1 = hole) + optional sketch strokes -> filled image."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from .layers import upsample2x_conv3x3


class FourierUnit(nn.Module):
    """A 1x1 conv in the 2-D Fourier domain: a global receptive field in one layer (LaMa's FFC idea)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels * 2, channels * 2, 1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        dtype = x.dtype
        f = torch.fft.rfft2(x.float(), norm="ortho")
        f = torch.cat([f.real, f.imag], 1).to(dtype)
        f = self.act(self.conv(f)).float()
        re, im = f.chunk(2, 1)
        return torch.fft.irfft2(torch.complex(re, im), s=(h, w), norm="ortho").to(dtype)


class FFCBlock(nn.Module):
    """Residual block mixing a local 3x3 (dilated) branch with a global Fourier branch."""

    def __init__(self, channels: int, dilation: int = 1) -> None:
        super().__init__()
        half = channels // 2
        self.local = nn.Sequential(nn.Conv2d(channels, half, 3, 1, dilation, dilation=dilation), nn.ReLU(inplace=True))
        self.glob_in = nn.Conv2d(channels, half, 1)
        self.fourier = FourierUnit(half)
        self.fuse = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([self.local(x), self.fourier(self.glob_in(x))], 1)
        return x + self.fuse(F.relu(y))

    @torch.no_grad()
    def start_as_identity(self) -> None:
        """Zero the fusing convolution: the block passes its input through (``init_from(grow=True)``)."""
        nn.init.zeros_(self.fuse.weight)
        nn.init.zeros_(self.fuse.bias)


class UpMerge(nn.Module):
    """A U-Net decoder merge, ``relu(conv(cat([upsample2x(d), skip])))``, with the conv split by input.

    The ``d`` part is a 3x3 conv of the nearest-upsampled map computed as one transposed convolution of
    ``d`` (:func:`upsample2x_conv3x3`), so neither the upsampled map nor the concatenation is built.
    ``skip_kernel`` sets the skip part's kernel: 3 is the plain U-Net; 1 (the released model) drops
    two thirds of the full-resolution multiply-adds, the spatial detail coming from the ``d`` part.
    Checkpoints written before the split (one ``0.weight`` over both inputs) load unchanged.
    """

    def __init__(self, c_up: int, c_skip: int, c_out: int, skip_kernel: int = 3) -> None:
        super().__init__()
        self.up = nn.Parameter(torch.empty(c_out, c_up, 3, 3))
        self.skip = nn.Conv2d(c_skip, c_out, skip_kernel, 1, skip_kernel // 2)
        # the init nn.Conv2d would give the one convolution over both inputs
        bound = 1 / math.sqrt((c_up + c_skip) * 9)
        nn.init.uniform_(self.up, -bound, bound)
        nn.init.uniform_(self.skip.weight, -bound, bound)
        nn.init.uniform_(self.skip.bias, -bound, bound)

    def forward(self, d: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return F.relu(upsample2x_conv3x3(d, self.up) + self.skip(skip))

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        weight = state_dict.pop(prefix + "0.weight", None)
        if weight is not None:  # the unsplit layout: nn.Sequential(Conv2d(c_up + c_skip, c_out, 3), ReLU)
            c_up = self.up.shape[1]
            state_dict[prefix + "up"] = weight[:, :c_up]
            state_dict[prefix + "skip.weight"] = weight[:, c_up:]
            state_dict[prefix + "skip.bias"] = state_dict.pop(prefix + "0.bias")
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class InpaintNet(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="genrepair",
    tags=["image-inpainting", "genrepair"],
    license="mit",
):
    """U-Net encoder/decoder with Fourier residual blocks at 1/8 resolution (three stride-2 convolutions down).

    Inputs: ``image`` RGB in [0, 1], ``mask`` (N,1,H,W) with 1 = hole, ``sketch`` (N,1,H,W) in [0, 1]
    (1 = an edge should run here; zeros when there is none). Returns the predicted full image in [0, 1];
    the pipeline keeps only the hole.
    """

    def __init__(
        self,
        nf: int = 32,
        n_blocks: int = 6,
        image_size: int = 256,
        pad_multiple: int = 8,
        train_data: str = "",
        skip_kernel: int = 3,
    ) -> None:
        super().__init__()
        self.image_size = image_size
        self.pad_multiple = pad_multiple
        self.size_multiple = 8  # what sides must divide by: three stride-2 convolutions down, three merges up
        act = nn.ReLU(inplace=True)
        self.enc0 = nn.Sequential(nn.Conv2d(5, nf, 5, 1, 2), act)
        self.enc1 = nn.Sequential(nn.Conv2d(nf, nf * 2, 4, 2, 1), act)
        self.enc2 = nn.Sequential(nn.Conv2d(nf * 2, nf * 4, 4, 2, 1), act)
        self.enc3 = nn.Sequential(nn.Conv2d(nf * 4, nf * 4, 4, 2, 1), act)
        self.body = nn.Sequential(*[FFCBlock(nf * 4, dilation=(1, 2, 4)[i % 3]) for i in range(n_blocks)])
        self.dec2 = UpMerge(nf * 4, nf * 4, nf * 4, skip_kernel)
        self.dec1 = UpMerge(nf * 4, nf * 2, nf * 2, skip_kernel)
        self.dec0 = UpMerge(nf * 2, nf, nf, skip_kernel)
        self.out = nn.Conv2d(nf, 3, 3, 1, 1)

    def forward(self, image: torch.Tensor, mask: torch.Tensor, sketch: torch.Tensor | None = None) -> torch.Tensor:
        if sketch is None:
            sketch = torch.zeros_like(mask)
        # the network refines a smooth push-pull fill of the hole rather than starting from zeros
        coarse = push_pull_fill(image, 1 - mask)
        # channels-last activations: oneDNN's convolutions with 3-64 channels at full resolution and its
        # transposed convolutions run up to twice as fast in NHWC (the whole 512x512 forward: 0.75x CPU time)
        x = torch.cat([coarse, mask, sketch * mask], 1).contiguous(memory_format=torch.channels_last)
        e0 = self.enc0(x)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        d = self.body(self.enc3(e2))
        d = self.dec2(d, e2)
        d = self.dec1(d, e1)
        d = self.dec0(d, e0)
        fill = (coarse + torch.tanh(self.out(d))).clamp(0, 1)
        return (image * (1 - mask) + mask * fill).contiguous()


def push_pull_fill(x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Fill unknown pixels from a mask-weighted image pyramid (push: average the known pixels down to
    1x1; pull: upsample coarse levels into the holes). Smooth, parameter-free, any size."""
    levels = [(x, known)]
    while max(x.shape[-2:]) > 1:  # down to 1x1: a long thin image keeps halving its long side
        k = tuple(2 if n > 1 else 1 for n in x.shape[-2:])
        num = F.avg_pool2d(x * known, k, ceil_mode=True)
        den = F.avg_pool2d(known, k, ceil_mode=True)
        x, known = num / den.clamp(min=1e-6), (den > 0).to(x.dtype)
        levels.append((x, known))
    filled = levels[-1][0]
    for x_l, k_l in reversed(levels[:-1]):
        up = F.interpolate(filled, size=x_l.shape[-2:], mode="bilinear", align_corners=False)
        filled = x_l * k_l + up * (1 - k_l)
    return filled
