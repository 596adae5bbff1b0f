"""Reading users' images safely and turning any PIL mode into float arrays and back.

Conversions (documented): EXIF orientation is applied; CMYK and YCbCr become RGB; palette images
become RGB or RGBA (if they carry transparency); 1-bit becomes L; 16-bit and 32-bit gray are scaled
to [0, 1] from their full range and come back as 16-bit gray; 16-bit RGB(A) PNGs are read by Pillow as
8-bit (their high byte) and come back as 8-bit; animated images use their first frame.
Sizes are checked from the header before any pixel is decoded (``GENREPAIR_MAX_PIXELS``,
``GENREPAIR_MAX_UPLOAD_BYTES``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


class ImageInputError(ValueError):
    """The input is not an image we can use; the message says why."""


def max_pixels() -> int:
    return int(os.environ.get("GENREPAIR_MAX_PIXELS", DEFAULT_MAX_PIXELS))


def max_bytes() -> int:
    return int(os.environ.get("GENREPAIR_MAX_UPLOAD_BYTES", DEFAULT_MAX_BYTES))


def open_image(src: str | os.PathLike | Image.Image) -> Image.Image:
    """Open a file (or pass a PIL image through) with size limits checked before decoding pixels."""
    if isinstance(src, Image.Image):
        img = src
    else:
        path = Path(src)
        if not path.is_file():
            raise ImageInputError(f"{path}: no such file")
        size = path.stat().st_size
        if size == 0:
            raise ImageInputError(f"{path.name}: the file is empty")
        if size > max_bytes():
            raise ImageInputError(f"{path.name}: {size} bytes is over the {max_bytes()}-byte upload limit")
        try:
            with open(path, "rb") as f, warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies
                img = Image.open(f)
                _check_pixels(img, path.name)  # from the header, before any pixel is decoded
                img.load()  # the first frame of an animation; the file is closed after this
        except ImageInputError:
            raise
        except Image.DecompressionBombError as e:
            raise ImageInputError(f"{path.name}: over the pixel limit of {max_pixels()} ({e})") from e
        except UnidentifiedImageError as e:
            raise ImageInputError(f"{path.name}: not a recognised image file") from e
        except (OSError, SyntaxError, ValueError) as e:
            raise ImageInputError(f"{path.name}: the image is damaged or truncated ({e})") from e
    _check_pixels(img, "image")
    if img.tell() != 0:  # an animation the caller left on a later frame
        img.seek(0)
    return img


def _check_pixels(img: Image.Image, label: str) -> None:
    w, h = img.size
    if w < 1 or h < 1:
        raise ImageInputError(f"{label}: image has no pixels ({w}x{h})")
    if w * h > max_pixels():
        raise ImageInputError(
            f"{label}: {w}x{h} = {w * h} pixels is over the pixel limit of {max_pixels()} (GENREPAIR_MAX_PIXELS)"
        )


@dataclass
class Decoded:
    """An image as float32 HxWxC in [0, 1] (C = 1 or 3), its alpha (HxW, or None) and its origin."""

    pixels: np.ndarray
    alpha: np.ndarray | None
    high_bit: bool  # came from a 16/32-bit gray image
    icc: bytes | None = None  # the file's ICC colour profile, when it describes these pixels (RGB or gray)

    @property
    def gray(self) -> bool:
        return self.pixels.shape[2] == 1


def _icc_for(icc, channels: int) -> bytes | None:
    """``icc`` if it is a profile for ``channels``-channel pixels (a CMYK file's profile is not, once converted)."""
    space = {1: b"GRAY", 3: b"RGB "}.get(channels)
    return icc if isinstance(icc, bytes) and len(icc) >= 128 and icc[16:20] == space else None


def decode(img: Image.Image, exif: bool = True) -> Decoded:
    """Pixels as float in [0, 1], upright per the EXIF orientation (``exif=False``: as stored in the file).

    The values are kept as stored, in the file's colour space: an ICC profile (a phone's Display P3, Adobe RGB)
    is carried in ``icc`` and :func:`encode` attaches it to the result, so colours look the same after."""
    if exif:
        img = ImageOps.exif_transpose(img) or img
    icc = img.info.get("icc_profile")
    mode = img.mode
    alpha = None
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if (mode.startswith("I;16") or arr.max() > 255) else 255.0
        if mode == "F":
            peak = 1.0 if arr.max() <= 1.0 else 255.0
        return Decoded(np.clip(arr / peak, 0, 1).astype(np.float32)[..., None], None, True, _icc_for(icc, 1))
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("L", "RGB") and "transparency" in img.info:  # a PNG tRNS colour key: that colour is clear
        img = img.convert("LA" if mode == "L" else "RGBA")
    elif mode == "1":
        img = img.convert("L")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        img = img.convert("RGB")
    elif mode in ("RGBa", "La", "PA"):
        img = img.convert("RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in mode else "RGB")
    if img.mode in ("LA", "RGBA"):
        alpha = np.asarray(img.getchannel("A"), dtype=np.float32) / 255.0
        img = img.convert("L" if img.mode == "LA" else "RGB")
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if arr.ndim == 2:
        arr = arr[..., None]
    return Decoded(arr, alpha, False, _icc_for(icc, arr.shape[2]))


def encode(
    pixels: np.ndarray, alpha: np.ndarray | None = None, high_bit: bool = False, icc: bytes | None = None
) -> Image.Image:
    """float HxWxC in [0, 1] (+ alpha) -> PIL (L, LA, RGB, RGBA, or 16-bit gray for high-bit input).

    ``icc`` (a :class:`Decoded`'s) goes into ``info["icc_profile"]`` when it fits the channels; PNG saving
    writes it."""
    pixels = np.clip(pixels, 0, 1)
    if pixels.shape[2] == 1 and high_bit and alpha is None:
        img = Image.fromarray((pixels[..., 0] * 65535 + 0.5).astype(np.uint16))
    else:
        u8 = (pixels * 255 + 0.5).astype(np.uint8)
        img = Image.fromarray(u8[..., 0] if u8.shape[2] == 1 else u8)
        if alpha is not None:
            img.putalpha(Image.fromarray((np.clip(alpha, 0, 1) * 255 + 0.5).astype(np.uint8)))
    if profile := _icc_for(icc, pixels.shape[2]):
        img.info["icc_profile"] = profile
    return img


def to_rgb(d: Decoded) -> np.ndarray:
    return np.repeat(d.pixels, 3, axis=2) if d.gray else d.pixels


def composite_on(d: Decoded, background: float = 1.0) -> np.ndarray:
    """RGB float with transparency flattened onto a plain background (white by default)."""
    rgb = to_rgb(d)
    if d.alpha is None:
        return rgb
    a = d.alpha[..., None]
    return rgb * a + background * (1 - a)
