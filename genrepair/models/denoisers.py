"""Denoisers: our noise-level-conditioned U-Net plus faithful KAIR/DPIR DnCNN, FFDNet and DRUNet.

All take images in [0, 1] (NCHW). The conditioned ones take ``sigma`` on the [0, 1] scale
(i.e. sigma_255 / 255) as a float, a shape-(N,) tensor or an (N, 1, 1, 1) tensor.
KAIR key names are kept so official ``.pth`` files convert with ``strict=True``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from .layers import ResBlock, noise_map

_HUB = dict(library_name="genrepair", tags=["image-denoising", "genrepair"])


class NoiseCondUNet(nn.Module, PyTorchModelHubMixin, license="mit", **_HUB):
    """Our denoiser: FFDNet-style pixel-unshuffle front end, a small residual U-Net, noise-map input.

    Predicts the noise and subtracts it (residual learning). Sides are padded to ``pad_multiple``.
    """

    # load_model stores the weights channels-last: oneDNN then runs the convolutions in NHWC, about 15%
    # less CPU time at 512x512 on one thread, outputs equal to float rounding (here it is the weights'
    # layout that pays; a channels-last input alone is slower, unlike in InpaintNet.forward)
    prefers_channels_last = True

    def __init__(
        self,
        in_nc: int = 3,
        channels: list[int] = [32, 64, 128],  # noqa: B006 - JSON config value
        nb: int = 2,
        sigma_max: float = 75.0,
        pad_multiple: int = 8,
        train_data: str = "",
    ) -> None:
        super().__init__()
        self.in_nc = in_nc
        self.sigma_max = sigma_max
        self.pad_multiple = pad_multiple
        c = list(channels)
        self.size_multiple = 2 ** len(c)  # what sides must divide by: pixel-unshuffle, then one halving per level
        self.head = nn.Conv2d(in_nc * 4 + 1, c[0], 3, 1, 1)
        self.enc = nn.ModuleList(nn.Sequential(*[ResBlock(ch) for _ in range(nb)]) for ch in c[:-1])
        self.down = nn.ModuleList(nn.Conv2d(c[i], c[i + 1], 2, 2) for i in range(len(c) - 1))
        self.body = nn.Sequential(*[ResBlock(c[-1]) for _ in range(nb)])
        self.up = nn.ModuleList(nn.ConvTranspose2d(c[i + 1], c[i], 2, 2) for i in range(len(c) - 1))
        self.dec = nn.ModuleList(nn.Sequential(*[ResBlock(ch) for _ in range(nb)]) for ch in c[:-1])
        self.tail = nn.Conv2d(c[0], in_nc * 4, 3, 1, 1)

    @torch.no_grad()
    def fit_shallower(self, state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], tuple[str, ...]]:
        """Map a release with one U-Net level fewer onto this model (``init_from(grow=True)``).

        The release's bottleneck becomes this model's deepest encoder stage and the new level's upsampling
        starts at zero, so (with the new residual blocks starting as the identity) the deeper model computes
        exactly what the release did. Returns the renamed state and the prefixes of the tensors this model
        keeps from its own initialisation. A state with as many levels comes back unchanged.
        """
        last = len(self.enc) - 1
        if last < 0 or any(k.startswith(f"enc.{last}.") for k in state):
            return state, ()
        renamed = {(f"enc.{last}." + k[len("body.") :] if k.startswith("body.") else k): v for k, v in state.items()}
        nn.init.zeros_(self.up[last].weight)
        nn.init.zeros_(self.up[last].bias)
        return renamed, (f"down.{last}.", f"up.{last}.")

    @torch.no_grad()
    def fit_narrower(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Embed a release with narrower U-Net levels in this wider model (``init_from(grow=True)``).

        Each convolution's released weights fill the first channels; the released channels ignore the
        new ones (zero weights from them), and the new channels keep their random initialisation, so the
        wider model computes exactly what the release did while the new channels get gradients and train
        (the "zero-init" form of Net2WiderNet). Tensors that are not a narrower copy of this model's come
        back unchanged, for ``init_from``'s shape check.
        """
        out = dict(state)
        own = self.state_dict()
        for name, m in self.named_modules():
            if not isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) or f"{name}.weight" not in state:
                continue
            old, new = state[f"{name}.weight"], own[f"{name}.weight"].clone()
            same_kind = old.dim() == new.dim() and old.shape[2:] == new.shape[2:]
            if old.shape == new.shape or not same_kind or any(a > b for a, b in zip(old.shape, new.shape)):
                continue
            o, i = (0, 1) if isinstance(m, nn.Conv2d) else (1, 0)  # ConvTranspose2d stores (in, out, kh, kw)
            kept = new.narrow(o, 0, old.shape[o])
            kept.zero_()
            kept.narrow(i, 0, old.shape[i]).copy_(old)
            out[f"{name}.weight"] = new
            if m.bias is not None and f"{name}.bias" in state:
                bias = own[f"{name}.bias"].clone()
                bias[: old.shape[o]] = state[f"{name}.bias"]
                out[f"{name}.bias"] = bias
        return out

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = self.pad_multiple
        ph, pw = (-h) % m, (-w) % m
        xp = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x
        y = F.pixel_unshuffle(xp, 2)
        y = self.head(torch.cat([y, noise_map(y, sigma)], 1))
        skips = []
        for enc, down in zip(self.enc, self.down):
            y = enc(y)
            skips.append(y)
            y = down(y)
        y = self.body(y)
        for i in reversed(range(len(self.up))):
            y = self.dec[i](self.up[i](y) + skips[i])
        noise = F.pixel_shuffle(self.tail(y), 2)
        return (xp - noise)[..., :h, :w]


@torch.no_grad()
def gray_state_from_color(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A color ``NoiseCondUNet``'s weights as a gray one's, to start gray training from the color model.

    The head's three input groups (R, G, B after pixel-unshuffle) are summed, so a gray image gets the
    features the color model computes for that image repeated in R, G and B, and the tail's three output
    groups are averaged. Gray noise repeated in three channels is sqrt(3) times stronger in luminance than
    the independent color noise the model was trained on, so the noise-map weight is scaled by sqrt(3)
    (the best of 1-2x on Set12 at sigma 25 before any training: 29.1 dB, the trained gray model 29.9).
    """
    out = dict(state)
    head, tail, bias = state["head.weight"], state["tail.weight"], state["tail.bias"]
    if head.shape[1] != 13 or tail.shape[0] != 12:
        raise ValueError(f"not a color NoiseCondUNet: head takes {head.shape[1]} channels, tail gives {tail.shape[0]}")
    out["head.weight"] = torch.cat([head[:, 0:4] + head[:, 4:8] + head[:, 8:12], head[:, 12:] * 3**0.5], 1)
    out["tail.weight"] = (tail[0:4] + tail[4:8] + tail[8:12]) / 3
    out["tail.bias"] = (bias[0:4] + bias[4:8] + bias[8:12]) / 3
    return {k: v.contiguous() for k, v in out.items()}


def _kair_stack(in_nc: int, out_nc: int, nc: int, nb: int) -> nn.Sequential:
    """KAIR's flat ``[Conv, ReLU, ..., Conv]`` stack (batch norm already merged)."""
    layers: list[nn.Module] = [nn.Conv2d(in_nc, nc, 3, 1, 1), nn.ReLU(inplace=True)]
    for _ in range(nb - 2):
        layers += [nn.Conv2d(nc, nc, 3, 1, 1), nn.ReLU(inplace=True)]
    layers.append(nn.Conv2d(nc, out_nc, 3, 1, 1))
    return nn.Sequential(*layers)


class DnCNN(nn.Module, PyTorchModelHubMixin, **_HUB):
    """KAIR DnCNN (act_mode R): blind denoiser, returns ``x - net(x)``."""

    blind = True  # trained for one noise level (or a range) without a noise input: ``sigma`` is ignored

    def __init__(self, in_nc: int = 1, out_nc: int = 1, nc: int = 64, nb: int = 17, pad_multiple: int = 1) -> None:
        super().__init__()
        self.in_nc = in_nc
        self.pad_multiple = pad_multiple
        self.model = _kair_stack(in_nc, out_nc, nc, nb)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | float | None = None) -> torch.Tensor:
        return x - self.model(x)


class FFDNet(nn.Module, PyTorchModelHubMixin, **_HUB):
    """KAIR FFDNet: replicate-pad to even, pixel-unshuffle, sigma map, conv stack, pixel-shuffle, crop."""

    def __init__(
        self,
        in_nc: int = 3,
        out_nc: int = 3,
        nc: int = 96,
        nb: int = 12,
        sigma_max: float = 75.0,
        pad_multiple: int = 1,
    ) -> None:
        super().__init__()
        self.in_nc = in_nc
        self.sigma_max = sigma_max
        self.pad_multiple = pad_multiple
        self.model = _kair_stack(in_nc * 4 + 1, out_nc * 4, nc, nb)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate") if (h % 2 or w % 2) else x
        x = F.pixel_unshuffle(x, 2)
        x = self.model(torch.cat([x, noise_map(x, sigma)], 1))
        return F.pixel_shuffle(x, 2)[..., :h, :w]


class DRUNet(nn.Module, PyTorchModelHubMixin, **_HUB):
    """KAIR/DPIR UNetRes (strideconv down, convtranspose up, no biases), input = [image, sigma map]."""

    def __init__(
        self,
        in_nc: int = 3,
        out_nc: int = 3,
        nc: list[int] = [64, 128, 256, 512],  # noqa: B006 - JSON config value
        nb: int = 4,
        bias: bool = False,
        sigma_max: float = 75.0,
        pad_multiple: int = 8,
    ) -> None:
        super().__init__()
        self.in_nc = in_nc
        self.sigma_max = sigma_max
        self.pad_multiple = pad_multiple

        def res(ch: int) -> list[nn.Module]:
            return [ResBlock(ch, bias=bias) for _ in range(nb)]

        self.m_head = nn.Conv2d(in_nc + 1, nc[0], 3, 1, 1, bias=bias)
        self.m_down1 = nn.Sequential(*res(nc[0]), nn.Conv2d(nc[0], nc[1], 2, 2, bias=bias))
        self.m_down2 = nn.Sequential(*res(nc[1]), nn.Conv2d(nc[1], nc[2], 2, 2, bias=bias))
        self.m_down3 = nn.Sequential(*res(nc[2]), nn.Conv2d(nc[2], nc[3], 2, 2, bias=bias))
        # KAIR's ``sequential`` returns a lone module unwrapped, so nb=1 gives ``m_body.res.*`` keys
        self.m_body = res(nc[3])[0] if nb == 1 else nn.Sequential(*res(nc[3]))
        self.m_up3 = nn.Sequential(nn.ConvTranspose2d(nc[3], nc[2], 2, 2, bias=bias), *res(nc[2]))
        self.m_up2 = nn.Sequential(nn.ConvTranspose2d(nc[2], nc[1], 2, 2, bias=bias), *res(nc[1]))
        self.m_up1 = nn.Sequential(nn.ConvTranspose2d(nc[1], nc[0], 2, 2, bias=bias), *res(nc[0]))
        self.m_tail = nn.Conv2d(nc[0], out_nc, 3, 1, 1, bias=bias)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
        h, w = x.shape[-2:]
        ph, pw = (-h) % 8, (-w) % 8
        x = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x
        x1 = self.m_head(torch.cat([x, noise_map(x, sigma)], 1))
        x2 = self.m_down1(x1)
        x3 = self.m_down2(x2)
        x4 = self.m_down3(x3)
        y = self.m_body(x4)
        y = self.m_up3(y + x4)
        y = self.m_up2(y + x3)
        y = self.m_up1(y + x2)
        return self.m_tail(y + x1)[..., :h, :w]
