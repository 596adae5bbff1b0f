"""Noise-level estimation for the automatic denoise mode.

Chen, Zhu and Heng, "An Efficient Statistical Method for Image Noise Level Estimation" (ICCV 2015):
the eigenvalues of the patch covariance that belong to noise alone have mean equal to their median;
the largest such set gives sigma^2. Works on the [0, 1] scale, returns sigma on the 0-255 scale.

JPEG files: quantization removes the high-frequency part of the noise that the smallest eigenvalues
measure, so the plain estimate collapses (sigma 25 noise saved at quality 90 reads as ~1), and what
survives depends on the file's quality. The file's quality is read from its luminance quantization table
(``jpeg_quality``) and two measurements of the surviving noise are taken: the estimate above on the
4x4-binned image (``binned_noise_level``; binning divides white noise by 4 and the low DCT frequencies
carry it) and ``block_ac_level``, the 5th percentile over the file's 8x8 blocks of the lowest AC
coefficients of luma (flat blocks of a clean photo quantize them to exactly zero; noise, where it
survives, does not). Neither alone separates a clean textured photo from a noisy one: the binned
estimate rises with texture everywhere, the block level stays near zero only where the photo has flat
areas. So the sigma is read from a table (``jpeg_sigma_table.json``) indexed by quality and both
measurements, made by ``scripts/calibrate_jpeg_sigma.py`` on training images only (CBSD432): noisy
images saved as JPEG at each quality were denoised at every sigma, and each cell holds the sigma with the
best mean PSNR over its 8 nearest measurements (one file at one added sigma and quality, qualities within
15 of the cell's; distance in log binned estimate and log1p block level).
The sigma is chosen for the best PSNR, not to match the added noise: JPEG's own artifacts make a
somewhat higher sigma pay off, and at low quality a clean photo gains from a small one. The table was
measured for sigma up to 35; above that the quality's curve of the binned estimate (``JPEG_CURVES``,
inverted where the estimate is clearly above what clean photos read) gives a lower bound. From quality
90 up, where little noise is quantized away, the table is no better on average than that curve alone
(with a gentle correction sqrt(e^2 - 3^2) / 0.75 below the margin where clean photos read, so that a
clean file is not smoothed on a guess), and it smoothed one clean training file at quality 95 by 5 dB;
so the pipeline uses the table up to quality 85 and the curve rule from 90, blended between
(``jpeg_file_sigma``). The larger of this and the plain estimate is used.

Images too small for the binned estimate (under 28 px a side) skip the table and use the curve rule.
Gray JPEGs (one channel, or three equal ones) get the plain estimate: the curves and the table were
measured on color files, and on 12 BSD68 images saved as gray JPEGs (quality 50/75/90, sigma 0/15/25)
the curve rule read sigma 55-75 (PSNR 21-23 dB) where the plain estimate read 6-28 (within 0.1-0.9 dB of
the true sigma on noisy files; 3.4 dB short on clean quality-90 files, which it reads as sigma 9). Three
equal channels are reduced to one first, as they make the patch covariance singular (the estimate read 0).

Clipped noise: a noisy photo saved to 8 or 16 bits has its noise cut off at black and white, and the
plain estimate reads low (sigma 50 on CBSD68 images read 44, on the same images darkened to 30% 38).
Each patch's share of the noise is what a normal of the patch's mean keeps inside [0, 1]; the reading is
divided by the average share, solved for the sigma it depends on (``_unclipped_sigma``). On 12 CBSD68
test images through ``denoise.color``: +0.82 dB at sigma 50, +4.1 dB darkened (within 0.09 and 0.45 dB
of the true sigma); 12 BSD68 gray images through ``denoise.gray``: +0.14 dB at sigma 25, +0.65 at 50
(``scripts/compare_clipped_noise.py``).
JPEG files from quality ``JPEG_UNCLIP_FROM`` (70) up get the same correction before the table is read: both
measurements are scaled up by the share's square root at the sigma read, solved by iteration
(``_jpeg_unclipped_sigma``). The quality limit was chosen on CBSD432 training photos 100-107 with the
correction at every quality (``scripts/compare_clipped_noise.py --train --unclip-from 0``): at quality 50,
where the table's sigma already runs above the noise's, the correction lost up to 0.26 dB; at 75 and 90 it
gained 1.6 and 1.9 dB on darkened photos with sigma 25 and moved clean files by at most -0.06 dB.

One channel (gray pictures, and the luma reading below): without colour to tell them apart, fine texture (fur,
grass, stone) reads as noise to the eigenvalues (22 training photos, every third, made gray and cropped to 512 px:
median 4.0, up to 20, where their colour versions read 0.5). So one channel is read again over its weak-texture
patches only (``_weak_texture_sigma``, after Liu, Tanaka and Okutomi, 2013): those whose gradient energy is below
what noise at the current reading gives, five rounds; those photos then read median 0.1, at most 0.5, and BSD68
images 1-16 with sigma 5/15/25/50 noise 5.1/15.2/25.3/50.0 (median; before 7.3/15.8/25.4/50.1; clean: 0.3, before
5.4). Gray JPEGs below quality 70 keep the plain estimate: JPEG flattens noise in a file's flattest blocks, and at
quality 50 the weak-texture reading of sigma 15 noise fell to 3.3 (12 BSD68 images: -1.98 dB).

Noise shared by the channels: a camera's noise after its colour noise reduction, film grain, a toned black-and-white
photo, or luma noise alone, lies where the joint estimate finds the texture, and read near 0 (sigma 25 in luma read
1.9; the RNI15 photos Dog and Bears, visibly grainy, read 1.1 and 0.5). The mean of the three channels is read as one
channel too; times sqrt(3) (white noise in three channels is sqrt(3) weaker in their mean, shared noise is not, and a
color model wants the level of independent noise as strong in luma) it replaces the joint reading when above twice it
plus 2 (``LUMA_OVER``), since grey texture reads there too: 1.3 times plus 2 changed the reading of 2 of the 68
CBSD68 test images with sigma 15 noise (15 -> 25 and 27), twice plus 2 none of CBSD68, Kodak24 or McMaster at sigma
15, 25 or 50; clean, 8 of CBSD68 read 4-15 that way (grey stone statues 12.6) and 5 of Kodak24 3-4 (film grain). On
CBSD68 images 1-12 with sigma 15 and 25 in luma alone, through denoise.color: 24.93 -> 30.54 and 20.67 -> 27.64 dB
(at sqrt(3) sigma: 30.60, 27.65; ``scripts/compare_auto_sigma.py``). JPEG files keep their calibrated reading (the
table was made with the joint one). It is off by default (``luma=False``; the pipeline does not use it): a review
found clean colour photos read as noisy through it, above all sharpened ones (nearly every camera and web picture):
an unsharp mask on CBSD68's stone statues read 30.6 (PSNR against the clean input 44.07 -> 26.06 dB), 7 of 12
luma-sharpened Kodak24 images read 3.8-10.5 (6-13 dB lost), clean JPEG q90 files saved as PNG up to 18, some flat
emoji and an off-white text page 3-12. A floor on the joint reading or a tighter selection might make it safe; untested.
The pipeline offers the reading (``shared_noise_level``) as a suggestion to try by hand instead
(``pipelines._shared_grain``).

Known limit: the two measurements cannot tell noise from dense fine texture in a photo with no flat
8x8 block at all; such a clean file saved at quality 50-60 can read as sigma 15-20 (a synthetic stripe
pattern reads 19 at quality 50). The app shows the sigma used, and the slider overrides it.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

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
JPEG_UNCLIP_FROM = 70  # the clipping correction of JPEG readings from this quality up (``_jpeg_unclipped_sigma``)
JPEG_CLEAN_MARGIN = 6.5  # clean textured photos read up to ~6.5 above the sigma-0 value (20 CBSD432 training images)
JPEG_SCALE, JPEG_FLOOR = 0.75, 3.0  # the gentle correction below the margin: sqrt(e^2 - 3^2) / 0.75
# patches per dimension of the patch covariance: all channels together from JOINT_SAMPLES, else each channel's
# patches as samples with the largest patch that gives SPLIT_SAMPLES, else 3x3 patches from FEWEST_SAMPLES, else
# nothing to read (``_small_sigma``; fewer samples read low: 16 px colour at 10 per dimension read 13.6 for 15)
JOINT_SAMPLES, SPLIT_SAMPLES, FEWEST_SAMPLES = 20, 20, 10
LUMA_OVER = (2.0, 2.0)  # the luma reading replaces the joint one above twice it plus 2 (grey texture reads there)
WEAK_TEXTURE_ROUNDS = 5  # selections of weak-texture patches (``_weak_texture_sigma``; Liu et al. use 3)
WEAK_TEXTURE_JPEG_FROM = 70  # gray JPEGs of lower quality keep the plain estimate (module docstring)
JPEG_TABLE = Path(__file__).with_name("jpeg_sigma_table.json")
JPEG_TABLE_UP_TO = (85, 90)  # the table below 85, the curve rule from 90, blended between
# block_ac_level's coefficients: (row, column) frequencies of the 8x8 DCT, the lowest AC ones
BLOCK_FREQS = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0))

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


JPEG_FORMATS = ("JPEG", "MPO")  # as Pillow names JPEG files (MPO: most phones', with a preview image inside)


def jpeg_source(img) -> bool | float:
    """``estimate_noise_level``'s ``jpeg`` argument for a PIL image: the quality of a JPEG file, True for a
    JPEG whose tables cannot be read, False for any other image."""
    if getattr(img, "format", None) not in JPEG_FORMATS:
        return False
    return jpeg_quality(img) or True


def gentle_jpeg_sigma(binned: float) -> float:
    """The quality-blind correction sqrt(e^2 - 3^2) / 0.75 of a binned estimate (module docstring)."""
    return float(np.sqrt(max(binned**2 - JPEG_FLOOR**2, 0.0)) / JPEG_SCALE)


def jpeg_sigma(binned: float, quality: float | None = None, floor_only: bool = False) -> float:
    """sigma for a binned estimate of a JPEG file of ``quality``: the calibration curve inverted where the
    estimate is clearly above what clean photos read, the gentle correction below (module docstring)."""
    lo, hi, t = _bracket(sorted(JPEG_CURVES), quality)
    lo_s, hi_s = _invert(JPEG_CURVES[lo], binned, floor_only), _invert(JPEG_CURVES[hi], binned, floor_only)
    return float((1 - t) * lo_s + t * hi_s)


def _bracket(qualities: list, quality: float | None) -> tuple[float, float, float]:
    """The measured qualities either side of ``quality`` (clamped to their range; None: the default) and the
    weight of the upper one."""
    q = float(np.clip(JPEG_DEFAULT_QUALITY if quality is None else quality, qualities[0], qualities[-1]))
    hi = next(k for k in qualities if k >= q)
    lo = max(k for k in qualities if k <= q)
    return lo, hi, 0.0 if hi == lo else (q - lo) / (hi - lo)


@cache
def _table() -> dict:
    t = json.loads(JPEG_TABLE.read_text())
    t["qualities"] = [float(q) for q in t["qualities"]]
    t["grid"] = {float(q): np.asarray(g, np.float64) for q, g in zip(t["qualities"], t["sigma"])}
    return t


def jpeg_table_sigma(binned: float, block: float, quality: float | None = None) -> float:
    """The calibrated sigma for a JPEG file of ``quality`` whose binned estimate is ``binned`` and block
    level ``block`` (module docstring): bilinear in (log binned, log1p block), linear between qualities."""
    t = _table()
    u = float(np.clip(np.log(max(binned, 1e-6)), t["u"][0], t["u"][-1]))
    v = float(np.clip(np.log1p(max(block, 0.0)), t["v"][0], t["v"][-1]))
    lo, hi, w = _bracket(t["qualities"], quality)
    return float((1 - w) * _bilinear(t, t["grid"][lo], u, v) + w * _bilinear(t, t["grid"][hi], u, v))


def _bilinear(t: dict, grid: np.ndarray, u: float, v: float) -> float:
    along_v = np.array([np.interp(v, t["v"], row) for row in grid])  # one value per u knot
    return float(np.interp(u, t["u"], along_v))


def block_ac_level(pixels: np.ndarray) -> float:
    """5th percentile over the 8x8 blocks (aligned to the top-left corner, as a JPEG file stores them: pass
    the pixels before any EXIF rotation) of the RMS of luma's lowest AC DCT coefficients (``BLOCK_FREQS``),
    0-255 scale, for an HxWxC image in [0, 1]."""
    img = np.asarray(pixels, dtype=np.float32)
    img = img if img.ndim == 3 else img[..., None]
    y = img[..., 0] if img.shape[2] < 3 else img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114
    h, w = y.shape[0] // 8 * 8, y.shape[1] // 8 * 8
    if h == 0 or w == 0:
        return 0.0
    blocks = (255.0 * y[:h, :w]).reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 64)
    coef = blocks @ _block_basis()  # n_blocks x len(BLOCK_FREQS)
    return float(np.percentile(np.sqrt(np.mean(coef.astype(np.float64) ** 2, 1)), 5))


@cache
def _block_basis() -> np.ndarray:
    n = np.arange(8)
    dct = np.sqrt(2 / 8) * np.cos(np.pi * (2 * n[None] + 1) * n[:, None] / 16)  # orthonormal DCT-II rows
    dct[0] /= np.sqrt(2)
    return np.stack([np.outer(dct[i], dct[j]).ravel() for i, j in BLOCK_FREQS], 1).astype(np.float32)


def jpeg_file_sigma(table: float, binned: float, quality: float | None = None) -> float:
    """The JPEG part of the automatic sigma (module docstring): the table's ``table`` with the curve's lower
    bound up to quality 85, ``jpeg_sigma`` from 90 (there the curve rule is as good on average and never
    smooths a clean file much), linearly blended between."""
    q = JPEG_DEFAULT_QUALITY if quality is None else float(quality)
    lo, hi = JPEG_TABLE_UP_TO
    w = float(np.clip((q - lo) / (hi - lo), 0.0, 1.0))
    return float((1 - w) * max(table, jpeg_curve_floor(binned, q)) + w * jpeg_sigma(binned, q))


def jpeg_curve_floor(binned: float, quality: float | None = None) -> float:
    """``jpeg_sigma`` where the binned estimate is clearly above what clean photos read, 0 below (blended
    over 2): the lower bound that carries the table beyond the noise it was measured for."""
    return jpeg_sigma(binned, quality, floor_only=True)


def _invert(curve: tuple[float, ...], value: float, floor_only: bool = False) -> float:
    gentle = gentle_jpeg_sigma(value)
    w = float(np.clip((value - curve[0] - JPEG_CLEAN_MARGIN) / 2.0, 0.0, 1.0))
    if w == 0.0:
        return 0.0 if floor_only else gentle
    xp = np.maximum.accumulate(np.asarray(curve)) + 1e-3 * np.arange(len(curve))  # strictly increasing
    if value > xp[-1]:  # beyond the calibrated range: continue the last segment's slope
        from_curve = JPEG_SIGMAS[-1] + (JPEG_SIGMAS[-1] - JPEG_SIGMAS[-2]) / (xp[-1] - xp[-2]) * (value - xp[-1])
    else:
        from_curve = np.interp(value, xp, JPEG_SIGMAS)
    return float(w * max(gentle, from_curve) + (0.0 if floor_only else (1 - w) * gentle))


def estimate_noise_level(
    pixels: np.ndarray,
    patch: int = 7,
    max_patches: int = 60_000,
    seed: int = 0,
    jpeg: bool | float = False,
    valid: np.ndarray | None = None,
    skip_flat: bool = True,
    luma: bool = False,
) -> float:
    """sigma (0-255 scale) of additive white Gaussian noise in an HxWxC float image in [0, 1].

    ``jpeg`` for pixels decoded from a JPEG file: its quality (``jpeg_quality``), or True when unknown
    (see the module docstring). Integer arrays (uint8, uint16) are scaled by their type's white.
    Patches that hold no noise to measure are left out: those with a pixel outside ``valid`` (HxW bool, say
    the opaque part of a cut-out) and those of one exact value (letterbox bars, clipped highlights, a
    transparent background's colour), which would pull the estimate down (``skip_flat``; the JPEG table and
    curves were calibrated on the binned estimate without it, so that one keeps all patches); when fewer than
    enough patches remain, the valid ones, flat or not, then all. With ``skip_flat``, an image whose values
    sit at exactly 0 or 1 here and there (noise clipped to 8 or 16 bits) has its reading corrected for what
    the clipping took off the noise (``_unclipped_sigma``). One channel is read over its weak-texture patches
    (``_weak_texture_sigma``); with ``luma=True`` (off by default, not for JPEG files), the mean of a colour image's
    channels is read too, for noise the channels share (module docstring)."""
    if np.issubdtype(np.asarray(pixels).dtype, np.integer):
        pixels = np.asarray(pixels) / float(np.iinfo(np.asarray(pixels).dtype).max)
    img = np.asarray(pixels, dtype=np.float64)
    if valid is not None and valid.shape != img.shape[:2]:
        raise ValueError(f"valid is {valid.shape} but the pixels are {img.shape[:2]}; they must match")
    if img.ndim == 3 and img.shape[2] == 3 and same_channels(img, valid):
        img = img[..., :1]  # gray content stored as RGB: three equal channels make the patch covariance singular
    if jpeg is not False and jpeg is not None and img.ndim == 3 and img.shape[2] == 3:
        quality = None if jpeg is True else float(jpeg)
        binned = binned_noise_level(img, patch)
        if min(img.shape[:2]) < 4 * patch:  # too small to bin and measure: no table (it would read its corner)
            corrected = jpeg_sigma(binned, quality)
        else:
            corrected = _jpeg_unclipped_sigma(img, patch, binned, block_ac_level(img), quality, seed)
        plain = estimate_noise_level(img, patch, max_patches, seed, valid=valid, luma=False)  # as calibrated
        return max(plain, corrected)
    if img.ndim == 2:
        img = img[..., None]
    h, w, c = img.shape
    if _corner_count(h, w, patch) < JOINT_SAMPLES * c * patch * patch:
        return _small_sigma(img, patch, valid)
    usable = _usable_patches(img, patch, valid, skip_flat)
    sigma = _patch_sigma(img, patch, usable, max_patches, seed)
    jpeg_quality_or_100 = JPEG_DEFAULT_QUALITY if jpeg is True else float(jpeg or 100)  # not a JPEG: 100
    if skip_flat and c == 1 and jpeg_quality_or_100 >= WEAK_TEXTURE_JPEG_FROM:  # low-quality JPEG flattens noise
        sigma, usable = _weak_texture_sigma(img, patch, sigma, usable, max_patches, seed)
    if skip_flat and sigma > 0 and _clipped(img):
        sigma = _unclipped_sigma(img, patch, usable, sigma, max_patches, seed)
    if skip_flat and luma and c == 3:  # noise shared by the channels (luma noise) is invisible to the joint estimate
        shared = shared_noise_level(img, valid, patch, max_patches, seed)
        if shared > LUMA_OVER[0] * sigma + LUMA_OVER[1]:  # grey texture reads there too
            sigma = shared
    return sigma


def shared_noise_level(
    pixels: np.ndarray, valid: np.ndarray | None = None, patch: int = 7, max_patches: int = 60_000, seed: int = 0
) -> float:
    """The level of noise the channels of an HxWx3 image in [0, 1] share (grain, a camera's luma noise): sqrt(3)
    times the one-channel estimate of their mean, the level a colour denoiser wants for it (white noise in three
    channels is sqrt(3) weaker in their mean, shared noise is not). Clean grey texture and sharpening read here
    too (module docstring), so it is a suggestion, not the automatic level."""
    mean = np.mean(pixels, axis=2, dtype=np.float64)  # no float64 copy of all three channels first
    return float(np.sqrt(3.0)) * estimate_noise_level(mean, patch, max_patches, seed, valid=valid)


def _weak_texture_sigma(
    img: np.ndarray, patch: int, sigma: float, usable: np.ndarray | None, max_patches: int, seed: int
) -> tuple[float, np.ndarray | None]:
    """Chen et al.'s estimate of a one-channel image again over its weak-texture patches only, and those patches.

    Liu, Tanaka and Okutomi, "Single-Image Noise Level Estimation for Blind Denoising" (IEEE TIP 2013): a patch
    of noise alone at sigma has a gradient energy (the sum of its squared central differences) below
    sigma^2 * ``_weak_texture_tau`` with probability 1 - 1e-6; patches above it hold texture. Selecting by the
    current reading and reading again converges on the image's flat parts. Without it a clean gray photo read as
    noisy wherever it had fur, grass or stone (the module docstring has the numbers)."""
    y = np.ascontiguousarray(img[..., 0], np.float32)
    gh, gv = np.zeros_like(y), np.zeros_like(y)
    gh[:, 1:-1] = (y[:, 2:] - y[:, :-2]) / 2
    gv[1:-1] = (y[2:] - y[:-2]) / 2
    n_h, n_w = y.shape[0] - patch + 1, y.shape[1] - patch + 1
    energy = (
        _box_sum(gh * gh, patch, patch - 2)[:n_h, 1 : 1 + n_w] + _box_sum(gv * gv, patch - 2, patch)[1 : 1 + n_h, :n_w]
    ).ravel()
    allowed = np.ones(energy.size, bool)
    if usable is not None:  # only the patches the caller may measure
        allowed = np.zeros(energy.size, bool)
        allowed[usable] = True
    tau, need, pick = _weak_texture_tau(patch), 4 * patch * patch, usable
    for _ in range(WEAK_TEXTURE_ROUNDS):
        weak = allowed & (energy < (sigma / 255.0) ** 2 * tau)
        if int(weak.sum()) < need:
            break
        pick = np.flatnonzero(weak)
        sigma = _patch_sigma(img, patch, pick, max_patches, seed)
    return sigma, pick


def _box_sum(a: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Sums over the kh x kw windows whose top-left corner is each pixel (zeros past the edges)."""
    import cv2

    return cv2.boxFilter(a, -1, (kw, kh), normalize=False, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)


@cache
def _weak_texture_tau(patch: int) -> float:
    """The 1 - 1e-6 quantile of a noise-only patch's gradient energy over sigma^2 (Liu et al.: a gamma of shape
    rank/2 and scale 2 trace/rank of the gradient operators' D^T D; the Wilson-Hilferty approximation)."""
    rows = []
    for dy, dx in ((0, 1), (1, 0)):  # central differences [-1/2, 0, 1/2] across and down, inside the patch
        for y in range(patch - 2 * dy):
            for x in range(patch - 2 * dx):
                d = np.zeros((patch, patch))
                d[y, x], d[y + 2 * dy, x + 2 * dx] = -0.5, 0.5
                rows.append(d.ravel())
    dd = np.array(rows).T @ np.array(rows)
    rank = int(np.linalg.matrix_rank(dd))
    shape, scale = rank / 2, 2.0 * float(np.trace(dd)) / rank
    z = 4.753424  # the standard normal's 1 - 1e-6 quantile
    return shape * scale * (1 - 1 / (9 * shape) + z * np.sqrt(1 / (9 * shape))) ** 3


def measurable(pixels: np.ndarray) -> bool:
    """Whether an image (HxW or HxWxC) has enough pixels for ``estimate_noise_level`` to read: about 8x8 colour,
    12x12 gray (three equal channels count as one), a strip 6 pixels wide. On a smaller one it reads 0."""
    img = np.asarray(pixels)
    h, w, c = (*img.shape[:2], img.shape[2] if img.ndim > 2 else 1)
    if c == 3 and img.size:
        white = float(np.iinfo(img.dtype).max) if np.issubdtype(img.dtype, np.integer) else 1.0
        c = 1 if same_channels(img.astype(np.float64) / white) else 3
    return _enough_for_3x3(h, w, c)


def _enough_for_3x3(h: int, w: int, c: int) -> bool:
    return c * _corner_count(h, w, 3) >= FEWEST_SAMPLES * 9


def _corner_count(h: int, w: int, patch: int) -> int:
    """How many patch x patch windows an h x w image holds."""
    return max(h - patch + 1, 0) * max(w - patch + 1, 0)


def _small_sigma(img: np.ndarray, patch: int, valid: np.ndarray | None) -> float:
    """Chen et al.'s estimate for images with too few patches for the covariance of all channels together (under
    ``JOINT_SAMPLES`` per dimension it reads low, and 0 once the patches are fewer than the dimensions: colour
    images under about 62 px a side; sigma 15 read 14.0 at 48 px, 8.6 at 24, 0 at 16). The noise is alike in
    every channel, so each channel's patches are samples of one covariance, with a smaller patch (down to 3x3)
    until there are ``SPLIT_SAMPLES`` per dimension (``FEWEST_SAMPLES`` at 3x3). On crops of 60 CBSD432 training
    photos with sigma 15 in 8 bits the median read 14.6, 15.8, 15.6, 15.3, 15.5 at 8, 12, 16, 24 and 48 px colour,
    15.5 on 6 x 200 strips (it reads large textured images high: the joint estimate tells texture by its colour).
    Images too small even for that read 0 (``measurable``)."""
    h, w, c = img.shape
    sizes = [p for p in range(patch, 2, -1) if c * _corner_count(h, w, p) >= SPLIT_SAMPLES * p * p]
    if sizes:
        p = sizes[0]
    elif _enough_for_3x3(h, w, c):
        p = 3  # fewer samples, a little more spread and lower
    else:
        return 0.0
    wins = [sliding_window_view(img[..., ch], (p, p)).reshape(-1, p * p) for ch in range(c)]
    if valid is not None:  # patches wholly inside valid, when there are enough of them
        inside = sliding_window_view(valid, (p, p)).all((-2, -1)).ravel()
        if c * int(inside.sum()) >= SPLIT_SAMPLES * p * p:
            wins = [win[inside] for win in wins]
    return _eigen_sigma(np.concatenate(wins))


def _unclipped_sigma(
    img: np.ndarray, patch: int, usable: np.ndarray | None, sigma: float, max_patches: int, seed: int
) -> float:
    """The noise level before clipping, from ``sigma`` measured on an image with values at exactly 0 or 1.

    Noise clipped at black or white (any 8-bit file of a noisy photo) has less spread there, so patches in
    dark or bright regions read low (sigma 50 on darkened photos read 38). Each patch's variance shrinks by a
    known factor: clip(N(mu, s^2), 0, 1) has a closed-form variance. The patches' means (inverted through the
    clipped mean to mu) give the average factor at s, and s = measured / sqrt(factor) is solved by iteration.
    Measuring only patches away from the ends instead reads textured mid-tones and came out high on gray
    photos. First a check: a clean photo with blown highlights also has exact 1s, but its patches away from the
    ends read no higher; then the reading stands."""
    need = 4 * img.shape[2] * patch * patch
    planes = _patch_mean_planes(img, patch)
    for k in (2.0, 1.5, 1.0):  # a photo all in shadow has no patch 2 sigma inside: come closer
        inner = _inner_patches(planes, k * sigma / 255.0)
        keep = inner if usable is None else np.intersect1d(usable, inner, assume_unique=True)
        if keep.size >= need:
            break
    else:
        return sigma  # nothing to compare with
    if _patch_sigma(img, patch, keep, max_patches, seed) <= sigma * 1.02:
        return sigma  # the ends did not pull the reading down: not clipped noise
    means = _patch_means(planes, usable, seed)
    s = sigma
    for _ in range(8):
        s, last = sigma / np.sqrt(_kept_share(means, s)), s
        if abs(s - last) < 0.0255:  # 1e-4 of white
            break
    return max(sigma, float(s))


def _jpeg_unclipped_sigma(
    img: np.ndarray, patch: int, binned: float, block: float, quality: float | None, seed: int
) -> float:
    """``jpeg_file_sigma`` of the two measurements, with them first scaled up by what clipping at black and white
    took off the noise (``_kept_share`` at the sigma read, solved by iteration), from quality
    ``JPEG_UNCLIP_FROM`` up. The table was calibrated on photos of ordinary brightness, so a dark noisy JPEG read
    low (sigma 25 in photos darkened to 30% read 21 at quality 75-90). Below that quality the table's sigma
    already runs above the noise's (it also removes JPEG's artifacts) and scaling it up lost PSNR."""
    sigma = jpeg_file_sigma(jpeg_table_sigma(binned, block, quality), binned, quality)
    if sigma <= 0 or (JPEG_DEFAULT_QUALITY if quality is None else quality) < JPEG_UNCLIP_FROM or not _clipped(img):
        return sigma
    means = _patch_means(_patch_mean_planes(img, patch), _usable_patches(img, patch, None, True), seed)
    s = sigma
    for _ in range(8):
        r = np.sqrt(_kept_share(means, s))
        s, last = jpeg_file_sigma(jpeg_table_sigma(binned / r, block / r, quality), binned / r, quality), s
        if abs(s - last) < 0.05:
            break
    return max(sigma, float(s))


def _kept_share(means: np.ndarray, sigma: float) -> float:
    """The mean share of noise variance that clipping to [0, 1] keeps, over patches of these (clipped) means,
    for noise of ``sigma`` (0-255 scale)."""
    s = max(sigma, 1e-3) / 255.0
    grid = np.linspace(-4 * s, 1 + 4 * s, 801)
    mean, var = _clipped_moments(grid, s)
    mu = np.interp(means, mean, grid)  # the clipped mean grows with mu: invert it
    return max(float(np.interp(mu, grid, var).mean()) / s**2, 0.05)


def _clipped_moments(mu: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of clip(N(mu, s^2), 0, 1) (a normal censored at both ends)."""
    cdf = lambda x: 0.5 * (1.0 + _erf(x / np.sqrt(2.0)))  # noqa: E731
    pdf = lambda x: np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)  # noqa: E731
    a, b = -mu / s, (1.0 - mu) / s
    inside, pa, pb, above = cdf(b) - cdf(a), pdf(a), pdf(b), 1.0 - cdf(b)
    m1 = mu * inside + s * (pa - pb) + above
    m2 = mu * mu * inside + 2.0 * mu * s * (pa - pb) + s * s * (inside + a * pa - b * pb) + above
    return m1, np.maximum(m2 - m1 * m1, 0.0)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _patch_mean_planes(img: np.ndarray, patch: int) -> np.ndarray:
    """Each channel's mean over every patch, indexed by the patch's top-left corner as ``sliding_window_view``'s
    patches are: h' x w' x c."""
    import cv2

    rows, cols = _corners(img, patch)
    box = (patch, patch)
    return np.stack([cv2.blur(np.ascontiguousarray(img[..., ch], np.float32), box)[rows, cols]
                     for ch in range(img.shape[2])], -1)  # fmt: skip


def _patch_means(planes: np.ndarray, pick: np.ndarray | None, seed: int, most: int = 20_000) -> np.ndarray:
    """The channels' means (``_patch_mean_planes``) of up to ``most`` of the patches ``pick`` (flat indices of
    top-left corners; None: all), all in one array."""
    flat = planes.reshape(-1, planes.shape[-1])
    if pick is None:
        pick = np.arange(len(flat))
    if pick.size > most:
        pick = np.random.default_rng(seed).choice(pick, most, replace=False)
    return flat[pick].T.ravel().astype(np.float64)


def _clipped(img: np.ndarray, fraction: float = 1e-3) -> bool:
    """True when more than ``fraction`` of the values sit exactly at black or white (0 or 1)."""
    return float(np.count_nonzero((img == 0.0) | (img == 1.0))) > fraction * img.size


def _inner_patches(planes: np.ndarray, margin: float) -> np.ndarray:
    """Flat indices (as in ``_usable_patches``) of the patches whose mean (``_patch_mean_planes``), in every
    channel, lies more than ``margin`` away from both 0 and 1 (noise there was rarely clipped)."""
    return np.flatnonzero(((planes > margin) & (planes < 1.0 - margin)).all(-1))


def _corners(img: np.ndarray, patch: int) -> tuple[slice, slice]:
    """The part of a full-size filter response that belongs to the patches' top-left corners: cv2's windows are
    centred, ``sliding_window_view``'s patches start at their top-left corner."""
    r = patch // 2
    return slice(r, r + img.shape[0] - patch + 1), slice(r, r + img.shape[1] - patch + 1)


def _patch_sigma(img: np.ndarray, patch: int, pick: np.ndarray | None, max_patches: int, seed: int) -> float:
    """Chen et al.'s estimate over the patches ``pick`` (flat indices of top-left corners; None: all)."""
    c = img.shape[2]
    win = sliding_window_view(img, (patch, patch), axis=(0, 1))  # h', w', c, p, p (a view, no copy)
    n = win.shape[0] * win.shape[1]
    if pick is not None:
        if pick.size > max_patches:
            pick = np.random.default_rng(seed).choice(pick, max_patches, False)
        win = win[np.divmod(np.sort(pick), win.shape[1])]
    elif n > max_patches:  # pick patches before copying: a 12 MP photo would otherwise need ~14 GB
        ys, xs = np.divmod(np.random.default_rng(seed).choice(n, max_patches, replace=False), win.shape[1])
        win = win[ys, xs]
    return _eigen_sigma(win.reshape(-1, c * patch * patch))


def _eigen_sigma(win: np.ndarray) -> float:
    """The noise sigma (0-255) from patches as rows (n x d): the largest set of smallest eigenvalues of their
    covariance whose mean is at most their median."""
    win = win - win.mean(0, keepdims=True)
    eig = np.sort(np.linalg.eigvalsh(win.T @ win / len(win)))  # ascending
    eig = np.clip(eig, 0, None)
    for k in range(len(eig), 0, -1):
        tail = eig[:k]
        if tail.mean() <= np.median(tail):
            return float(np.sqrt(tail.mean()) * 255.0)
    return float(np.sqrt(eig[0]) * 255.0)


def _usable_patches(img: np.ndarray, patch: int, valid: np.ndarray | None, skip_flat: bool) -> np.ndarray | None:
    """Flat indices (into the top-left corners of ``sliding_window_view``) of the patches to measure: inside
    ``valid`` and not of one exact value; if too few (the covariance needs 4 per dimension), inside ``valid``; if
    still too few, or if every patch qualifies, None (all patches, the plain sampling)."""
    import cv2

    need = 4 * img.shape[2] * patch * patch
    kernel = np.ones((patch, patch), np.uint8)
    crop = _corners(img, patch)
    inside = None
    if valid is not None:
        inside = cv2.erode(valid.astype(np.uint8), kernel, borderValue=0).astype(bool)[crop]
    good = inside
    if skip_flat:
        flat = np.ones(img.shape[:2], bool)
        for ch in range(img.shape[2]):
            plane = np.ascontiguousarray(img[..., ch], np.float32)
            flat &= cv2.dilate(plane, kernel) == cv2.erode(plane, kernel)  # max == min over the patch around it
        good = ~flat[crop] if inside is None else inside & ~flat[crop]
    for choice in (good, inside):
        if choice is not None and int(choice.sum()) >= need:
            return None if choice.all() else np.flatnonzero(choice)
    return None


def same_channels(img: np.ndarray, valid: np.ndarray | None = None) -> bool:
    """True when the three channels of an HxWx3 image in [0, 1] agree to within rounding (a gray photo saved as
    RGB, or a JPEG of one: 1-2 levels apart), on the ``valid`` pixels when some are given (a cut-out's hidden
    colours aside)."""
    sub = (slice(None, None, max(1, img.shape[0] // 512)), slice(None, None, max(1, img.shape[1] // 512)))
    step = img[sub]  # a subsample is enough to tell
    if valid is not None and valid[sub].any():
        step = step[valid[sub]]
    return step.size > 0 and bool(np.abs(np.diff(step, axis=-1)).max() < 1.5 / 255)


def binned_noise_level(pixels: np.ndarray, patch: int = 7) -> float:
    """The uncorrected estimate on the 4x4-binned image, times 4 (what survives JPEG; see the module docstring)."""
    img = _bin(np.asarray(pixels, dtype=np.float64).reshape(*np.shape(pixels)[:2], -1), 4)
    if img.shape[0] < patch or img.shape[1] < patch:
        return 0.0
    if img.shape[2] == 3 and same_channels(img):
        img = img[..., :1]  # equal channels make the covariance singular
    # all patches of all channels together, however few, as the JPEG curves and table were calibrated
    return 4 * _patch_sigma(img, patch, None, 60_000, 0)


def _bin(img: np.ndarray, k: int) -> np.ndarray:
    h, w = img.shape[0] // k * k, img.shape[1] // k * k
    return img[:h, :w].reshape(h // k, k, w // k, k, img.shape[2]).mean((1, 3))
