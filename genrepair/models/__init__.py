"""Model families. Each class is an ``nn.Module`` with ``PyTorchModelHubMixin``."""

from .cyclegan import ResnetGenerator
from .denoisers import DnCNN, DRUNet, FFDNet, NoiseCondUNet
from .gan import CondGenerator, DCGANGenerator
from .inpaint import InpaintNet
from .vae import ConvVAE

# what each architecture does: the pipelines check it (a denoiser handed to translate is a clear error, not a
# TypeError from deep inside the network) and the app sorts user-added weights folders into its tabs with it
TASK_OF_CLASS = {
    "ResnetGenerator": "translate",
    "DnCNN": "denoise",
    "FFDNet": "denoise",
    "DRUNet": "denoise",
    "NoiseCondUNet": "denoise",
    "InpaintNet": "inpaint",
    "CondGenerator": "generate",
    "DCGANGenerator": "generate",
    "ConvVAE": "generate",
    "ClassicGenerator": "generate",
}

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
