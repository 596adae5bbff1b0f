"""Class-conditional GAN generator (the discriminator lives in ``genrepair.training``)."""

from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from .layers import Upsample2x

_UPSAMPLINGS = {32: 3, 64: 4, 128: 5}  # CondGenerator's image size -> 2x upsamplings from 4x4


class CondBatchNorm(nn.Module):
    """BatchNorm whose scale and shift come from the class embedding (BigGAN-style)."""

    def __init__(self, channels: int, cond_dim: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Linear(cond_dim, channels)
        self.bias = nn.Linear(cond_dim, channels)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        g = 1 + self.gain(c)[..., None, None]
        b = self.bias(c)[..., None, None]
        return self.bn(x) * g + b


class UpBlock(nn.Module):
    def __init__(self, cin: int, cout: int, cond_dim: int) -> None:
        super().__init__()
        self.bn1 = CondBatchNorm(cin, cond_dim)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.bn2 = CondBatchNorm(cout, cond_dim)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1)
        self.act = nn.ReLU()
        self.up = Upsample2x()

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.up(self.act(self.bn1(x, c)))
        h = self.conv2(self.act(self.bn2(self.conv1(h), c)))
        return h + self.up(self.skip(x))  # a 1x1 conv commutes with nearest upsampling: 4x fewer FLOPs


class CondGenerator(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="genrepair",
    tags=["unconditional-image-generation", "gan", "genrepair"],
    license="mit",
):
    """z (and a class label) -> RGB image in [-1, 1]. ``num_classes=0`` makes it unconditional."""

    def __init__(
        self,
        z_dim: int = 128,
        num_classes: int = 0,
        ngf: int = 64,
        image_size: int = 64,
        class_names: list[str] = [],  # noqa: B006 - JSON config value
        background: str = "white",
        value_range: str = "-1,1",
    ) -> None:
        super().__init__()
        if image_size not in _UPSAMPLINGS:
            raise ValueError(f"image_size must be 32, 64 or 128, got {image_size!r}")
        if not isinstance(class_names, list | tuple) or not all(isinstance(n, str) for n in class_names):
            raise ValueError(f"class_names must be a list of names, got {class_names!r}")
        if class_names and len(class_names) != num_classes:  # none: labels are the class numbers
            raise ValueError(f"class_names has {len(class_names)} names but num_classes is {num_classes}")
        self.z_dim = z_dim
        self.num_classes = num_classes
        self.image_size = image_size
        self.class_names = list(class_names)
        cond_dim = z_dim
        self.embed = nn.Embedding(max(num_classes, 1), z_dim)
        n_up = _UPSAMPLINGS[image_size]
        chans = [ngf * 8, ngf * 8, ngf * 4, ngf * 2, ngf, ngf][: n_up + 1]
        self.fc = nn.Linear(z_dim, 4 * 4 * chans[0])
        self.blocks = nn.ModuleList(UpBlock(chans[i], chans[i + 1], cond_dim) for i in range(n_up))
        self.out = nn.Sequential(nn.BatchNorm2d(chans[-1]), nn.ReLU(), nn.Conv2d(chans[-1], 3, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            if labels is None:
                raise ValueError("this generator is class-conditional: pass labels")
            c = z + self.embed(labels)
        else:
            c = z
        h = self.fc(z).view(z.shape[0], -1, 4, 4)
        for block in self.blocks:
            h = block(h, c)
        return self.out(h)


class DCGANGenerator(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="genrepair",
    tags=["unconditional-image-generation", "dcgan", "genrepair", "baseline"],
    license="mit",
):
    """The classic DCGAN generator (Radford et al. 2016): z -> 4x4 -> ... -> 64x64 transposed convs.

    A baseline: kept so the Generate tab and the benchmark can show what the modern recipe adds.
    """

    def __init__(self, z_dim: int = 100, ngf: int = 64, image_size: int = 64, background: str = "white") -> None:
        super().__init__()
        self.z_dim = z_dim
        self.image_size = image_size
        self.num_classes = 0
        self.class_names: list[str] = []
        self.net = nn.Sequential(
            nn.ConvTranspose2d(z_dim, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh(),
        )  # fmt: skip

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z[:, :, None, None])
