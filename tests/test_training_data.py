"""The training patch sampler: crops, augmentation and the reduced-scale copies."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from genrepair.training.data import PatchSampler


def _jpeg(path, size, seed):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path, quality=90)
    return path


def test_patch_sampler_scales(tmp_path):
    big = _jpeg(tmp_path / "big.jpg", (200, 300), 0)
    small = _jpeg(tmp_path / "small.jpg", (100, 120), 1)
    sampler = PatchSampler([big, small], 64, scales=(1.0, 0.5), seed=3)
    # small.jpg at 0.5 (50x60) is below the patch size and left out; the others are kept
    assert [im.shape for im in sampler.images] == [(200, 300, 3), (100, 150, 3), (100, 120, 3)]
    batch = sampler.batch(5)
    assert batch.shape == (5, 3, 64, 64) and batch.dtype == torch.float32
    assert 0 <= batch.min() and batch.max() <= 1

    gray = PatchSampler([big], 64, gray=True, scales=(0.5,), seed=3)
    assert [im.shape for im in gray.images] == [(100, 150)]
    assert gray.batch(2).shape == (2, 1, 64, 64)


def test_patch_sampler_is_seeded(tmp_path):
    files = [_jpeg(tmp_path / "a.jpg", (128, 160), 2)]
    a = PatchSampler(files, 48, seed=7).batch(3)
    b = PatchSampler(files, 48, seed=7).batch(3)
    c = PatchSampler(files, 48, seed=8).batch(3)
    assert np.array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())
