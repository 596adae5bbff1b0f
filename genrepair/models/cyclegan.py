"""CycleGAN ResnetGenerator, key-for-key and op-for-op the official implementation.

State-dict keys match ``pytorch-CycleGAN-and-pix2pix`` (``model.1.weight``,
``model.10.conv_block.5.weight``, ...) so official ``.pth`` files convert with ``strict=True``.

``upsample="bilinear"`` (our emoji models) swaps each stride-2 transposed convolution for a bilinear 2x resize
followed by a 3x3 convolution, the resize-convolution of Odena et al. (2016, "Deconvolution and Checkerboard
Artifacts"): a transposed convolution whose kernel does not divide by its stride leaves a 2-pixel dot pattern on flat
areas. It costs about 1.2x the transposed layout's multiply-adds at these sizes.
"""

from __future__ import annotations

import re

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

UPSAMPLE = ("transpose", "bilinear")


def up_layer(c_in: int, c_out: int, upsample: str) -> nn.Module:
    """The decoder's 2x upsampling layer: the official transposed convolution, or resize + convolution."""
    if upsample == "transpose":
        return nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1, bias=True)
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
        nn.ReflectionPad2d(1),
        nn.Conv2d(c_in, c_out, 3, bias=True),
    )


def decoder_layout(state_dict: dict) -> str:
    """The ``upsample`` of a ResnetGenerator state dict: resize convolutions sit at ``model.N.2``."""
    return "bilinear" if any(re.fullmatch(r"model\.\d+\.2\.weight", k) for k in state_dict) else "transpose"


class ResnetBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3, bias=True),
            nn.InstanceNorm2d(dim),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3, bias=True),
            nn.InstanceNorm2d(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="genrepair",
    tags=["image-to-image", "cyclegan", "genrepair"],
    license="mit",
):
    """Image-to-image generator; input and output RGB in [-1, 1] (gray with ``input_nc``/``output_nc`` 1),
    sides a multiple of 4."""

    def __init__(
        self,
        input_nc: int = 3,
        output_nc: int = 3,
        ngf: int = 64,
        n_blocks: int = 9,
        image_size: int = 256,
        pad_multiple: int = 4,
        value_range: str = "-1,1",
        background: str = "white",
        source_domain: str = "A",
        target_domain: str = "B",
        upsample: str = "transpose",
    ) -> None:
        super().__init__()
        if upsample not in UPSAMPLE:
            raise ValueError(f"upsample must be one of {', '.join(UPSAMPLE)}, not {upsample!r}")
        self.input_nc, self.output_nc = input_nc, output_nc
        self.image_size = image_size
        self.pad_multiple = pad_multiple
        self.size_multiple = 4  # what sides must divide by to come back the same size: two stride-2 convolutions
        self.value_range = value_range
        self.background = background
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, ngf, 7, bias=True),
            nn.InstanceNorm2d(ngf),
            nn.ReLU(True),
        ]
        for i in range(2):
            mult = 2**i
            layers += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=True),
                nn.InstanceNorm2d(ngf * mult * 2),
                nn.ReLU(True),
            ]
        layers += [ResnetBlock(ngf * 4) for _ in range(n_blocks)]
        for i in range(2):
            mult = 2 ** (2 - i)
            layers += [
                up_layer(ngf * mult, ngf * mult // 2, upsample),
                nn.InstanceNorm2d(ngf * mult // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
