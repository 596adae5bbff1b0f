"""Shared helpers for the evaluation scripts: data root, tables, timing, PSNR/SSIM."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ..training.common import DEFAULT_DATA


def data_root(arg: str | None) -> Path:
    root = Path(arg or os.environ.get("GENREPAIR_DATA", DEFAULT_DATA))
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} not found; pass --data-root or set GENREPAIR_DATA")
    return root


def set_threads(args) -> int:
    """Apply ``--threads`` (0 or absent: torch's default) to torch and return the count used."""
    import torch

    threads = int(getattr(args, "threads", 0) or torch.get_num_threads())
    torch.set_num_threads(threads)
    return threads


def psnr_u8(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def ssim_u8(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    if a.ndim == 3 and a.shape[2] == 1:
        a, b = a[..., 0], b[..., 0]
    return float(structural_similarity(a, b, data_range=255, channel_axis=2 if a.ndim == 3 else None))


def to_u8(x: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and round to 8 bits (the published protocol)."""
    return (np.clip(x, 0, 1) * 255.0).round().astype(np.uint8)


class CpuTimer:
    """Process CPU seconds (all threads) and wall seconds of a block."""

    def __enter__(self):
        self.c0, self.w0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.cpu = time.process_time() - self.c0
        self.wall = time.perf_counter() - self.w0


def print_table(headers: list[str], rows: list[list], title: str = "") -> str:
    cells = [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    text = (f"\n{title}\n" if title else "") + "\n".join(lines)
    print(text, flush=True)
    return text
