"""Convolutional VAE for sampling, reconstruction and latent interpolation."""

from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from .layers import Upsample2x


class ConvVAE(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="genrepair",
    tags=["unconditional-image-generation", "vae", "genrepair"],
    license="mit",
):
    """64x64 RGB in [0, 1] <-> a ``latent_dim`` Gaussian latent."""

    def __init__(
        self,
        latent_dim: int = 64,
        nf: int = 32,
        image_size: int = 64,
        background: str = "white",
        value_range: str = "0,1",
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.image_size = image_size
        self.z_dim = latent_dim
        self.num_classes = 0
        self.class_names: list[str] = []
        chans = [3, nf, nf * 2, nf * 4, nf * 8]
        enc: list[nn.Module] = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            enc += [nn.Conv2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2)]
        self.encoder = nn.Sequential(*enc)
        self.feat = image_size // 16
        flat = chans[-1] * self.feat * self.feat
        self.fc_mu = nn.Linear(flat, latent_dim)
        self.fc_logvar = nn.Linear(flat, latent_dim)
        self.fc_dec = nn.Linear(latent_dim, flat)
        dec: list[nn.Module] = []
        rev = chans[::-1]
        for cin, cout in zip(rev[:-2], rev[1:-1]):
            dec += [Upsample2x(), nn.Conv2d(cin, cout, 3, 1, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2)]
        dec += [Upsample2x(), nn.Conv2d(rev[-2], 3, 3, 1, 1), nn.Sigmoid()]
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x).flatten(1)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc_dec(z).view(z.shape[0], -1, self.feat, self.feat)
        return self.decoder(h)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return self.decode(z), mu, logvar
