"""Noise-level estimation for the automatic denoise mode.

Chen, Zhu and Heng, "An Efficient Statistical Method for Image Noise Level Estimation" (ICCV 2015):
the eigenvalues of the patch covariance that belong to noise alone have mean equal to their median;
the largest such set gives sigma^2. Works on the [0, 1] scale, returns sigma on the 0-255 scale.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def estimate_noise_level(pixels: np.ndarray, patch: int = 7, max_patches: int = 60_000, seed: int = 0) -> float:
    """sigma (0-255 scale) of additive white Gaussian noise in an HxWxC float image in [0, 1]."""
    img = np.asarray(pixels, dtype=np.float64)
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
