"""Noise-level estimation for the automatic denoise mode.

Chen, Zhu and Heng, "An Efficient Statistical Method for Image Noise Level Estimation" (ICCV 2015):
the eigenvalues of the patch covariance that belong to noise alone have mean equal to their median;
the largest such set gives sigma^2. Works on the [0, 1] scale, returns sigma on the 0-255 scale.

JPEG files: quantization removes the high-frequency part of the noise that the smallest eigenvalues
measure, so the estimate collapses (sigma 25 noise saved at quality 90 reads as ~1). For them the
estimate is also taken on the 4x4-binned image (binning divides white noise by 4, and the surviving
low DCT frequencies carry it). How much of the noise survives depends on the quality: at 90-95 the
binned estimate reads about 0.75 sigma plus a floor of about 3 from image content, at 75 noise below
sigma ~20 is mostly quantized away (sigma 15 reads 6, sigma 25 reads 16). So the file's quality is read
from its luminance quantization table (``jpeg_quality``) and the binned estimate is mapped back to sigma
through the curve measured at that quality (``JPEG_CURVES``: mean binned estimate of noisy CBSD432
training images saved by Pillow, interpolated between qualities). Clean photos also read above a
curve's sigma-0 value, textured ones by up to about 6.5 in our check (at quality 50 that is where sigma 25
reads), so below that margin the gentle quality-blind correction sqrt(e^2 - 3^2) / 0.75 is used
instead (blended over the next 2): a clean photo is not smoothed on a guess, and low-quality files with
moderate noise get too little rather than too much. The larger of this and the plain estimate is
used. scripts/calibrate_jpeg_sigma.py measures the curves and checks the denoiser's PSNR with it.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# JPEG_CURVES[q][i]: mean binned_noise_level of sigma JPEG_SIGMAS[i] noise saved at quality q
# (12 CBSD432 training images, clipped to 8 bits, Pillow's default 4:2:0; scripts/calibrate_jpeg_sigma.py --curves)
JPEG_SIGMAS = (0, 5, 10, 15, 20, 25, 30, 40, 50, 60, 75)
JPEG_CURVES = {
    50: (2.8, 2.7, 3.3, 4.6, 6.1, 8.3, 11.0, 16.1, 27.1, 35.4, 44.9),
    60: (2.9, 2.9, 3.6, 4.7, 6.9, 8.9, 12.5, 23.8, 31.9, 38.9, 46.7),
    70: (3.0, 3.5, 4.5, 5.7, 7.2, 13.1, 18.1, 27.4, 34.2, 40.9, 48.4),
    75: (3.3, 3.2, 4.3, 6.0, 9.0, 15.8, 20.5, 28.8, 35.4, 41.4, 47.9),
    80: (3.1, 3.6, 4.8, 8.0, 13.0, 17.4, 22.1, 29.3, 35.8, 41.2, 47.3),
    85: (3.1, 3.7, 5.6, 10.2, 14.8, 19.3, 23.0, 29.4, 35.1, 39.9, 46.4),
    90: (3.2, 4.4, 7.6, 11.7, 15.8, 19.4, 22.7, 28.5, 33.7, 39.1, 45.1),
    95: (3.5, 4.6, 8.6, 11.9, 15.2, 18.5, 21.7, 27.6, 33.0, 38.4, 44.6),
}
JPEG_DEFAULT_QUALITY = 90  # when the file's quality is unknown
JPEG_CLEAN_MARGIN = 6.5  # clean textured photos read up to ~6.5 above the sigma-0 value (20 CBSD432 training images)
JPEG_SCALE, JPEG_FLOOR = 0.75, 3.0  # the gentle correction below the margin: sqrt(e^2 - 3^2) / 0.75

# the IJG standard luminance quantization table (quality 50), natural order, as Pillow reports tables
_IJG_LUMA = (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
             14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
             49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99)  # fmt: skip


def jpeg_quality(img) -> float | None:
    """The IJG quality (1-100) whose scaled standard table matches the image's luminance quantization
    table on average; None for an image that did not come from a JPEG file. Cameras and phones use their
    own tables: the result is then the IJG quality with the same overall coarseness."""
    tables = getattr(img, "quantization", None)
    if not tables or 0 not in tables or len(tables[0]) != 64:
        return None
    scale = 100.0 * float(np.sum(tables[0])) / sum(_IJG_LUMA)  # IJG: table = std * scale / 100
    quality = (200.0 - scale) / 2 if scale <= 100 else 5000.0 / scale
    return float(np.clip(quality, 1, 100))


def jpeg_source(img) -> bool | float:
    """``estimate_noise_level``'s ``jpeg`` argument for a PIL image: the quality of a JPEG file, True for a
    JPEG whose tables cannot be read, False for any other image."""
    if getattr(img, "format", None) not in ("JPEG", "MPO"):
        return False
    return jpeg_quality(img) or True


def gentle_jpeg_sigma(binned: float) -> float:
    """The quality-blind correction sqrt(e^2 - 3^2) / 0.75 of a binned estimate (module docstring)."""
    return float(np.sqrt(max(binned**2 - JPEG_FLOOR**2, 0.0)) / JPEG_SCALE)


def jpeg_sigma(binned: float, quality: float | None = None) -> float:
    """sigma for a binned estimate of a JPEG file of ``quality``: the calibration curve inverted where the
    estimate is clearly above what clean photos read, the gentle correction below (module docstring)."""
    q = JPEG_DEFAULT_QUALITY if quality is None else float(np.clip(quality, min(JPEG_CURVES), max(JPEG_CURVES)))
    qs = sorted(JPEG_CURVES)
    hi = next(k for k in qs if k >= q)
    lo = max(k for k in qs if k <= q)
    t = 0.0 if hi == lo else (q - lo) / (hi - lo)
    return float((1 - t) * _invert(JPEG_CURVES[lo], binned) + t * _invert(JPEG_CURVES[hi], binned))


def _invert(curve: tuple[float, ...], value: float) -> float:
    gentle = gentle_jpeg_sigma(value)
    w = float(np.clip((value - curve[0] - JPEG_CLEAN_MARGIN) / 2.0, 0.0, 1.0))
    if w == 0.0:
        return gentle
    xp = np.maximum.accumulate(np.asarray(curve)) + 1e-3 * np.arange(len(curve))  # strictly increasing
    if value > xp[-1]:  # beyond the calibrated range: continue the last segment's slope
        from_curve = JPEG_SIGMAS[-1] + (JPEG_SIGMAS[-1] - JPEG_SIGMAS[-2]) / (xp[-1] - xp[-2]) * (value - xp[-1])
    else:
        from_curve = np.interp(value, xp, JPEG_SIGMAS)
    return float((1 - w) * gentle + w * max(gentle, from_curve))


def estimate_noise_level(
    pixels: np.ndarray,
    patch: int = 7,
    max_patches: int = 60_000,
    seed: int = 0,
    jpeg: bool | float = False,
) -> float:
    """sigma (0-255 scale) of additive white Gaussian noise in an HxWxC float image in [0, 1].

    ``jpeg`` for pixels decoded from a JPEG file: its quality (``jpeg_quality``), or True when unknown
    (see the module docstring)."""
    img = np.asarray(pixels, dtype=np.float64)
    if jpeg is not False and jpeg is not None:
        quality = None if jpeg is True else float(jpeg)
        corrected = jpeg_sigma(binned_noise_level(img, patch), quality)
        return max(estimate_noise_level(img, patch, max_patches, seed), corrected)
    if img.ndim == 2:
        img = img[..., None]
    h, w, c = img.shape
    if h < patch or w < patch:
        return 0.0
    win = sliding_window_view(img, (patch, patch), axis=(0, 1))  # h', w', c, p, p (a view, no copy)
    n = win.shape[0] * win.shape[1]
    if n > max_patches:  # pick patches before copying: a 12 MP photo would otherwise need ~14 GB
        ys, xs = np.divmod(np.random.default_rng(seed).choice(n, max_patches, replace=False), win.shape[1])
        win = win[ys, xs]
    win = win.reshape(-1, c * patch * patch)
    win = win - win.mean(0, keepdims=True)
    eig = np.sort(np.linalg.eigvalsh(win.T @ win / len(win)))  # ascending
    eig = np.clip(eig, 0, None)
    for k in range(len(eig), 0, -1):
        tail = eig[:k]
        if tail.mean() <= np.median(tail):
            return float(np.sqrt(tail.mean()) * 255.0)
    return float(np.sqrt(eig[0]) * 255.0)


def binned_noise_level(pixels: np.ndarray, patch: int = 7) -> float:
    """The uncorrected estimate on the 4x4-binned image, times 4 (what survives JPEG; see the module docstring)."""
    img = np.asarray(pixels, dtype=np.float64)
    return 4 * estimate_noise_level(_bin(img if img.ndim == 3 else img[..., None], 4), patch)


def _bin(img: np.ndarray, k: int) -> np.ndarray:
    h, w = img.shape[0] // k * k, img.shape[1] // k * k
    return img[:h, :w].reshape(h // k, k, w // k, k, img.shape[2]).mean((1, 3))
