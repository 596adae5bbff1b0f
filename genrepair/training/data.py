"""Datasets read straight from ../shared/data (never copied into the repo)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def composite(img: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """RGBA -> RGB on a fixed background (how we handle emoji/avatar transparency)."""
    img = img.convert("RGBA")
    bg = Image.new("RGBA", img.size, background + (255,))
    return Image.alpha_composite(bg, img).convert("RGB")


def to_tensor(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)


def emoji_split(root: Path) -> dict[str, tuple[str, str]]:
    """key -> (split, category) from emoji/splits.csv."""
    with open(root / "emoji" / "splits.csv", newline="") as f:
        return {r["key"]: (r["split"], r["category"]) for r in csv.DictReader(f)}


def load_emoji(root: Path, style: str, split: str, keys: list[str] | None = None):
    """Returns (images in [0,1] N×3×H×W on white, category names, keys)."""
    info = emoji_split(root)
    folder = root / "emoji" / style
    out, cats, ks = [], [], []
    for key in sorted(info):
        if info[key][0] != split or (keys is not None and key not in keys):
            continue
        path = folder / f"{key}.png"
        if not path.exists():
            continue
        out.append(to_tensor(composite(Image.open(path))))
        cats.append(info[key][1])
        ks.append(key)
    if not out:  # torch.stack said only "stack expects a non-empty TensorList"
        raise ValueError(f"{folder}: no {split} images of splits.csv's keys there (is the data folder complete?)")
    return torch.stack(out), cats, ks


def load_avatars(root: Path, split: str) -> torch.Tensor:
    with open(root / "avatars" / "splits.csv", newline="") as f:
        files = [root / "avatars" / "lorelei" / f"{r['file']}.png" for r in csv.DictReader(f) if r["split"] == split]
    if not files:
        raise ValueError(f"{root / 'avatars' / 'splits.csv'}: no {split} images listed")
    return torch.stack([to_tensor(composite(Image.open(p))) for p in files])


def extra_photos(root: Path) -> list[Path]:
    """The 66 natural photos of photos/train."""
    return sorted((root / "photos" / "train").glob("*.jpg"))


def cbsd432(root: Path) -> list[Path]:
    """The 432 BSDS500 photos that are not CBSD68/BSD68 test images."""
    return sorted((root / "denoise" / "train" / "color" / "CBSD432").glob("*.jpg"))


def photo_files(root: Path) -> list[Path]:
    """Training photos for inpainting: photos/train plus CBSD432 (no CBSD68/Kodak test images)."""
    return extra_photos(root) + cbsd432(root)


LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # Rec. 601, as PIL's "L"


def _sharpen_chroma(p: np.ndarray, factor: float) -> np.ndarray:
    """An HxWx3 crop in [0, 1] with the fine detail of its chroma (RGB minus luma, less its blur) times ``factor``."""
    import cv2

    luma = (p @ LUMA)[..., None]
    chroma = p - luma
    smooth = cv2.GaussianBlur(chroma, (0, 0), 1.5, borderType=cv2.BORDER_REFLECT)
    return np.clip(luma + smooth + factor * (chroma - smooth), 0.0, 1.0).astype(np.float32)


class PatchSampler:
    """Random square crops (with flips/rotations) from a list of RGB images kept in memory."""

    def __init__(
        self,
        files: list[Path],
        size: int,
        gray: bool = False,
        seed: int = 0,
        scales: tuple[float, ...] = (1.0,),
        permute_channels: float = 0.0,
        saturate: float = 0.0,
        chroma_detail: float = 0.0,
    ) -> None:
        """``scales`` < 1 add Lanczos-reduced copies; 0.5 of a 4:2:0 JPEG has full-resolution chroma and
        no visible blocking, so those copies are cleaner targets than the originals.

        ``permute_channels``: the chance that a color crop's R, G, B come in a random order, which shows the
        model saturated hues its photos lack (McMaster's) and pushes it towards treating channels alike.

        ``saturate``: the chance that a color crop's colors move away from its gray (Rec. 601 luma) by a factor
        drawn from U[1, 2], clipped to [0, 1]: more saturated scenes than the training photos hold.

        ``chroma_detail``: the chance that the fine detail of a color crop's chroma (its difference from its luma,
        less a Gaussian blur of it, sigma 1.5 px) is raised by a factor drawn from U[1, 3], clipped to [0, 1]:
        McMaster's colour edges are sharper than those of the training photos, and on it the released model's
        chroma error was 1.4-1.5x the official FFDNet's (its luma error 1.16x; on CBSD68 both about 1x)."""
        knobs = (("permute_channels", permute_channels), ("saturate", saturate), ("chroma_detail", chroma_detail))
        for name, value in knobs:
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} is a probability, got {value}")
            if gray and value:
                raise ValueError(f"{name} needs color crops")
        self.permute_channels = permute_channels
        self.saturate = saturate
        self.chroma_detail = chroma_detail
        if not files:
            raise ValueError(
                "no training images found: check --data-root (see ../shared/data/README.md for the layout)"
            )
        mode = "L" if gray else "RGB"
        self.images = []
        for p in files:
            try:
                img = Image.open(p).convert(mode)
            except (OSError, SyntaxError) as e:  # not an image, or cut short: name the file
                raise ValueError(f"training image {p} is unreadable: {e}") from e
            for s in scales:
                w, h = round(img.width * s), round(img.height * s)
                if min(w, h) >= size:
                    scaled = img if s == 1 else img.resize((w, h), Image.Resampling.LANCZOS)
                    self.images.append(np.asarray(scaled, dtype=np.uint8))
        self.size = size
        self.largest = max((min(img.shape[:2]) for img in self.images), default=0)  # short side of the biggest image
        self.rng = random.Random(seed)

    def batch(self, n: int, size: int | None = None) -> torch.Tensor:
        """``n`` crops of ``size`` pixels (default: the sampler's); a larger size draws from the images that fit it."""
        s = size or self.size
        if s > self.largest:
            raise ValueError(f"no training image is at least {s} px on its short side")
        out = []
        while len(out) < n:
            img = self.images[self.rng.randrange(len(self.images))]
            h, w = img.shape[:2]
            if min(h, w) < s:
                continue
            y, x = self.rng.randrange(h - s + 1), self.rng.randrange(w - s + 1)
            p = img[y : y + s, x : x + s]
            p = np.rot90(p, self.rng.randrange(4))
            if self.rng.random() < 0.5:
                p = p[:, ::-1]
            # drawn only when enabled, so runs without it keep their random stream
            if self.permute_channels and self.rng.random() < self.permute_channels:
                p = p[..., self.rng.sample(range(3), 3)]
            p = np.ascontiguousarray(p, dtype=np.float32) / 255.0
            if self.saturate and self.rng.random() < self.saturate:
                luma = (p @ LUMA)[..., None]
                p = np.clip(luma + self.rng.uniform(1.0, 2.0) * (p - luma), 0.0, 1.0)
            if self.chroma_detail and self.rng.random() < self.chroma_detail:
                p = _sharpen_chroma(p, self.rng.uniform(1.0, 3.0))
            out.append(torch.from_numpy(p if p.ndim == 3 else p[..., None]).permute(2, 0, 1))
        return torch.stack(out)
