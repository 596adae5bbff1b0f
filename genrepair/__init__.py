"""GenRepair: image generation and repair models, pipelines, a CLI and a Gradio app."""

from __future__ import annotations

from .hub import ModelLoadError, load_model, save_model
from .imageio import ImageInputError
from .noise import estimate_noise_level
from .pipelines import denoise, generate, inpaint, interpolate, translate
from .registry import REGISTRY, ModelSpec, get_spec, list_models

__version__ = "0.1.0"

__all__ = [
    "REGISTRY",
    "ImageInputError",
    "ModelLoadError",
    "ModelSpec",
    "denoise",
    "estimate_noise_level",
    "generate",
    "get_spec",
    "inpaint",
    "interpolate",
    "list_models",
    "load_model",
    "save_model",
    "translate",
]
