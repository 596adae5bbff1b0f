"""Shared fixtures for the core tests: tiny model configs, tiny saved model folders, image helpers.

Nothing here is autouse: modules that must run offline and away from the repo's ``weights/`` say
``pytestmark = pytest.mark.usefixtures("isolated_env")``.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

# Tiny models gain nothing from threads, and on a busy machine spin-waiting BLAS/OpenMP threads make
# them up to ~100x slower. Set before numpy and torch load their thread pools (subprocesses inherit it).
_THREADS = os.environ.get("GENREPAIR_TEST_THREADS", "1")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, _THREADS)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from genrepair import models  # noqa: E402
from genrepair.hub import save_model  # noqa: E402

torch.set_num_threads(int(_THREADS))

# The smallest constructor kwargs per class in genrepair.models: the config IS the kwargs.
TINY: dict[str, dict] = {
    "CondGenerator": dict(z_dim=16, num_classes=3, ngf=4, image_size=32, class_names=["cat", "dog", "owl"]),
    "DCGANGenerator": dict(z_dim=16, ngf=4),
    "ConvVAE": dict(latent_dim=16, nf=4, image_size=32),
    "ResnetGenerator": dict(ngf=4, n_blocks=1),
    "NoiseCondUNet": dict(in_nc=3, channels=[8, 16], nb=1),
    "DnCNN": dict(in_nc=1, out_nc=1, nc=8, nb=3),
    "FFDNet": dict(in_nc=1, out_nc=1, nc=8, nb=3),
    "DRUNet": dict(in_nc=1, out_nc=1, nc=[4, 8, 16, 32], nb=1),
    "InpaintNet": dict(nf=8, n_blocks=1, skip_kernel=1),  # the released layout
}


def tiny(cls_name: str, seed: int = 0, **overrides) -> torch.nn.Module:
    """A tiny instance with seeded random weights and non-trivial norm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = getattr(models, cls_name)(**{**TINY[cls_name], **overrides})
    with torch.no_grad():
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.uniform_(-0.1, 0.1)
            elif name.endswith("running_var"):
                # DCGAN's bias-free, small-init stack gives a near-constant image unless BN amplifies it
                buf.uniform_(0.02, 0.05) if cls_name == "DCGANGenerator" else buf.uniform_(0.5, 1.5)
    return model.eval().requires_grad_(False)


def identity_denoiser() -> torch.nn.Module:
    """A DnCNN whose last conv is zero, so ``x - net(x) == x``: shows exactly what the pipeline did."""
    model = tiny("DnCNN", in_nc=3, out_nc=3, nc=4, nb=2)
    with torch.no_grad():
        model.model[-1].weight.zero_()
        model.model[-1].bias.zero_()
    return model


@pytest.fixture
def isolated_env(tmp_path_factory, monkeypatch) -> None:
    """Offline, with an empty weights folder and Hugging Face cache, so no test sees real weights."""
    root = tmp_path_factory.mktemp("isolated")
    (root / "weights").mkdir()
    monkeypatch.setenv("GENREPAIR_WEIGHTS", str(root / "weights"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(root / "hf-cache"))
    monkeypatch.setenv("HF_HOME", str(root / "hf-home"))
    monkeypatch.delenv("GENREPAIR_MAX_PIXELS", raising=False)
    monkeypatch.delenv("GENREPAIR_TILE", raising=False)
    monkeypatch.delenv("GENREPAIR_DEVICE", raising=False)
    monkeypatch.delenv("GENREPAIR_PREFER_HUB", raising=False)


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory) -> dict[str, Path]:
    """Saved tiny model folders, one per task, for ``--model PATH`` and ``load_model(PATH)``."""
    root = tmp_path_factory.mktemp("models")
    made = {
        "gan": tiny("CondGenerator"),
        "vae": tiny("ConvVAE"),
        "cyclegan": tiny("ResnetGenerator"),
        "denoise": tiny("NoiseCondUNet"),
        "inpaint": tiny("InpaintNet"),
    }
    return {key: save_model(model, root / key) for key, model in made.items()}


# ------------------------------------------------------------------ images


def photo(w: int, h: int, seed: int = 0, mode: str = "RGB") -> Image.Image:
    """A smooth, photo-like test image (gradients, a few shapes, mild grain) of any size."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = [0.5 + 0.3 * np.sin(xx / max(w, 2) * 6.0 + c) * np.cos(yy / max(h, 2) * 4.0 - c) for c in (0.0, 1.0, 2.0)]
    arr = np.stack(base, 2) + rng.normal(0, 0.02, (h, w, 3))
    img = Image.fromarray((np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8))
    return img if mode == "RGB" else img.convert(mode)


def png_bytes(
    width: int, height: int, bit_depth: int, color_type: int, raw_rows: bytes | None = None, extra: bytes = b""
) -> bytes:
    """A PNG written by hand (filter 0 rows), for headers Pillow would not write (16-bit RGB, bombs);
    ``extra`` holds chunks (made with ``png_chunk``) to put before the pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    idat = zlib.compress(raw_rows if raw_rows is not None else b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png16_rgb(path: Path, arr: np.ndarray, orientation: int = 1, icc: bytes | None = None) -> Path:
    """Write an HxWx3 (RGB) or HxWx4 (RGBA) uint16 array as a 16-bit PNG, with an EXIF orientation and an
    ICC profile if given."""
    h, w, c = arr.shape
    rows = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))
    extra = b""
    if icc is not None:
        extra += png_chunk(b"iCCP", b"profile\0\0" + zlib.compress(icc))
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        extra += png_chunk(b"eXIf", exif.tobytes()[6:])  # without the "Exif\0\0" of JPEG's APP1
    path.write_bytes(png_bytes(w, h, 16, {3: 2, 4: 6}[c], rows, extra))
    return path


def exif_rotated_jpeg(path: Path, orientation: int = 6) -> Path:
    """A 30x20 JPEG, left third blue, rest red, with EXIF Orientation set (6 = rotate 90 degrees CW)."""
    img = Image.new("RGB", (30, 20), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 10, 20))
    exif = Image.Exif()
    exif[0x0112] = orientation
    img.save(path, exif=exif, quality=95)
    return path


def icc_profile(space: bytes = b"RGB ") -> bytes:
    """A real sRGB ICC profile, its colour-space field set to ``space`` (what decode/encode look at)."""
    from PIL import ImageCms

    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[16:20] = space
    return bytes(icc)


def snapshot(*paths: Path) -> dict[Path, tuple[bytes, int]]:
    """Bytes and mtime of every file under ``paths``, to assert later that inputs were left alone."""
    files = [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*"))) if f.is_file()]
    return {f: (f.read_bytes(), os.stat(f).st_mtime_ns) for f in files}


def assert_unchanged(before: dict[Path, tuple[bytes, int]]) -> None:
    for f, (data, mtime) in before.items():
        assert f.is_file(), f"{f} was removed"
        assert f.read_bytes() == data, f"{f} was modified"
        assert os.stat(f).st_mtime_ns == mtime, f"{f} was touched"


def max_diff(a, b) -> int:
    return int(np.abs(np.asarray(a, np.int64) - np.asarray(b, np.int64)).max())
