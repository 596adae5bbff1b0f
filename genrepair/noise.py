"""Noise-level estimation for the automatic denoise mode.

Chen, Zhu and Heng, "An Efficient Statistical Method for Image Noise Level Estimation" (ICCV 2015):
the eigenvalues of the patch covariance that belong to noise alone have mean equal to their median;
the largest such set gives sigma^2. Works on the [0, 1] scale, returns sigma on the 0-255 scale.

JPEG files: quantization removes the high-frequency part of the noise that the smallest eigenvalues
measure, so the estimate collapses (sigma 25 noise saved at quality 90 reads as ~1). For them the
estimate is also taken on the 4x4-binned image (binning divides white noise by 4, and the surviving
low DCT frequencies carry it). The binned estimate reads about 0.75 sigma at quality 75-95 plus a floor of
about 3 from image content that survives binning, so it is corrected to sqrt(e^2 - 3^2) / 0.75, and the larger
of the two estimates is used. Calibrated on 10 CBSD432 training images (sigma 0-50, quality 75/90/95): feeding
the denoiser 1.33x the uncorrected estimate was best or within 0.1 dB of best at sigma 15-50 (+0.6 to +2 dB),
and the floor keeps noise-free JPEGs from being smoothed (scripts/calibrate_jpeg_sigma.py).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

JPEG_SCALE = 0.75  # the 4x4-binned estimate of a JPEG file reads about 0.75 sigma (quality 75-95) ...
JPEG_FLOOR = 3.0  # ... plus about 3 (0-255 scale) from image content, in quadrature


def estimate_noise_level(
    pixels: np.ndarray, patch: int = 7, max_patches: int = 60_000, seed: int = 0, jpeg: bool = False
) -> float:
    """sigma (0-255 scale) of additive white Gaussian noise in an HxWxC float image in [0, 1].

    ``jpeg=True`` for pixels decoded from a JPEG file (see the module docstring)."""
    img = np.asarray(pixels, dtype=np.float64)
    if jpeg:
        binned = binned_noise_level(img, patch)
        corrected = np.sqrt(max(binned**2 - JPEG_FLOOR**2, 0.0)) / JPEG_SCALE
        return max(estimate_noise_level(img, patch, max_patches, seed), float(corrected))
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
