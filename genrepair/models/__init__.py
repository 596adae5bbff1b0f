"""Model families. Each class is an ``nn.Module`` with ``PyTorchModelHubMixin``."""

from .cyclegan import ResnetGenerator
from .denoisers import DnCNN, DRUNet, FFDNet, NoiseCondUNet
from .gan import CondGenerator, DCGANGenerator
from .inpaint import InpaintNet
from .vae import ConvVAE

__all__ = [
    "CondGenerator",
    "DCGANGenerator",
    "ConvVAE",
    "DRUNet",
    "DnCNN",
    "FFDNet",
    "InpaintNet",
    "NoiseCondUNet",
    "ResnetGenerator",
]
