"""The registry of named models: plain data, one entry per released checkpoint."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    name: str
    cls: str  # class name in genrepair.models, or "classic" for the non-learned generators
    repo_id: str  # Hugging Face Hub repo that holds config.json + model.safetensors
    revision: str  # pinned Hub revision (branch, tag or commit)
    task: str  # generate | translate | denoise | inpaint
    description: str
    trained_on: str = ""


_ORG = "genrepair"

REGISTRY: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        ModelSpec(
            "gan.emoji",
            "CondGenerator",
            f"{_ORG}/gan-emoji",
            "main",
            "generate",
            "Class-conditional GAN, 64x64 emoji by Unicode category",
            "Noto emoji 64px, train split",
        ),
        ModelSpec(
            "vae.emoji",
            "ConvVAE",
            f"{_ORG}/vae-emoji",
            "main",
            "generate",
            "Convolutional VAE, 64x64 emoji (sampling and interpolation)",
            "Noto emoji 64px, train split",
        ),
        ModelSpec(
            "gan.avatars",
            "CondGenerator",
            f"{_ORG}/gan-avatars",
            "main",
            "generate",
            "GAN (same recipe as gan.emoji, unconditional), 64x64 cartoon avatars",
            "DiceBear lorelei avatars, train split",
        ),
        ModelSpec(
            "dcgan.emoji",
            "DCGANGenerator",
            f"{_ORG}/dcgan-emoji",
            "main",
            "generate",
            "Baseline: classic DCGAN (Radford et al.), 64x64 emoji, same CPU time as gan.emoji",
            "Noto emoji 64px, train split",
        ),
        ModelSpec(
            "dcgan.avatars",
            "DCGANGenerator",
            f"{_ORG}/dcgan-avatars",
            "main",
            "generate",
            "Baseline: classic DCGAN (Radford et al.), 64x64 avatars, same CPU time as gan.avatars",
            "DiceBear lorelei avatars, train split",
        ),
        ModelSpec(
            "classic.noise", "classic", "", "", "generate", "Baseline: smooth random-noise textures (non-learned)"
        ),
        ModelSpec(
            "classic.automaton",
            "classic",
            "",
            "",
            "generate",
            "Baseline: elementary cellular automaton, random rule and seed row (non-learned)",
        ),
        ModelSpec(
            "classic.lsystem",
            "classic",
            "",
            "",
            "generate",
            "Baseline: L-system plant drawings with random angle and depth (non-learned)",
        ),
        ModelSpec(
            "cyclegan.flat2fluent3d",
            "ResnetGenerator",
            f"{_ORG}/cyclegan-flat2fluent3d",
            "main",
            "translate",
            "CycleGAN: flat emoji art -> 3D-rendered emoji",
            "Fluent emoji flat/3D, unpaired halves of train",
        ),
        ModelSpec(
            "cyclegan.fluent3d2flat",
            "ResnetGenerator",
            f"{_ORG}/cyclegan-fluent3d2flat",
            "main",
            "translate",
            "CycleGAN: 3D-rendered emoji -> flat emoji art",
            "Fluent emoji flat/3D, unpaired halves of train",
        ),
        ModelSpec(
            "cyclegan.sketch2flat",
            "ResnetGenerator",
            f"{_ORG}/cyclegan-sketch2flat",
            "main",
            "translate",
            "CycleGAN: high-contrast line art -> flat color emoji",
            "Fluent emoji high-contrast/flat, unpaired halves of train",
        ),
        ModelSpec(
            "cyclegan.flat2sketch",
            "ResnetGenerator",
            f"{_ORG}/cyclegan-flat2sketch",
            "main",
            "translate",
            "CycleGAN: flat color emoji -> high-contrast line art",
            "Fluent emoji high-contrast/flat, unpaired halves of train",
        ),
        ModelSpec(
            "denoise.color",
            "NoiseCondUNet",
            f"{_ORG}/denoise-color",
            "main",
            "denoise",
            "Noise-level-conditioned U-Net for color photos, sigma 0-75",
            "CBSD432 + photos/train",
        ),
        ModelSpec(
            "denoise.gray",
            "NoiseCondUNet",
            f"{_ORG}/denoise-gray",
            "main",
            "denoise",
            "Noise-level-conditioned U-Net for grayscale images, sigma 0-75",
            "Train400 + photos/train (as gray)",
        ),
        ModelSpec(
            "inpaint.photo",
            "InpaintNet",
            f"{_ORG}/inpaint-photo",
            "main",
            "inpaint",
            "Fourier-conv U-Net inpainting with optional sketch guidance",
            "photos/train + CBSD432",
        ),
    ]
}

# Official checkpoints a user may convert with `genrepair convert` into weights/<name>/;
# they appear in the app's pickers when that folder exists.
OFFICIAL_CYCLEGAN = [
    "horse2zebra", "zebra2horse", "monet2photo", "style_monet", "style_cezanne", "style_ukiyoe", "style_vangogh",
    "summer2winter_yosemite", "winter2summer_yosemite", "apple2orange", "orange2apple", "sat2map", "map2sat",
    "cityscapes_photo2label", "cityscapes_label2photo", "facades_photo2label", "facades_label2photo",
    "iphone2dslr_flower",
]  # fmt: skip


def get_spec(name: str) -> ModelSpec:
    """The registry entry of ``name`` (a KeyError naming the valid names if there is none)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; valid names: {', '.join(REGISTRY)}") from None


def list_models(task: str | None = None) -> list[ModelSpec]:
    """The registry's entries, all or those of one task (generate, translate, denoise, inpaint)."""
    tasks = sorted({s.task for s in REGISTRY.values()})
    if task is not None and task not in tasks:
        raise ValueError(f"unknown task {task!r}; valid: {', '.join(tasks)}")
    return [s for s in REGISTRY.values() if task is None or s.task == task]
