"""Inference pipelines: PIL in, PIL out. Models only ever see clean NCHW float tensors.

Conventions, written once:
- masks: white (255) / 1 = hole to fill; 0 = keep, in any channel (a red brush counts). A mask that holds only
  two values, 0 and one other (0/1 or 0/255 in 8 or 16 bits), is read as exactly that: the other value is the hole.
  Otherwise a pixel is a hole above half of white, and so is the soft rim around such pixels (:func:`_grow_soft`:
  a feathered or anti-aliased brush's faint edge; a JPEG-saved mask's noise and a gray background stay out). A mask
  with transparent pixels uses its alpha the same way: its opaque part is the hole (strokes on a clear layer), unless
  that is most of the image, when its transparent part is (an edit mask as OpenAI's image API takes them: the picture
  with the area to replace erased). Alpha nowhere below half (a stray pixel at 254) counts only on a mask of one colour.
- sketches: strokes are read the same way (alpha, or white lines on black).
- model: a loaded model (:func:`genrepair.load_model`) or its name / folder, which is loaded for the call. A model
  in training mode is put in eval mode (as Hugging Face pipelines do): batch norm must not learn from the inputs.
- sigma is on the 0-255 scale; ``None`` estimates it from the image.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import re
import threading
import warnings
import weakref

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .imageio import (
    RGB16,
    Decoded,
    ImageInputError,
    composite_on,
    decode,
    encode,
    env_int,
    open_image,
    orientation,
    rgb16,
)
from .models import TASK_OF_CLASS
from .noise import (
    JPEG_FORMATS,
    LUMA_OVER,
    estimate_noise_level,
    jpeg_source,
    measurable,
    same_channels,
    shared_noise_level,
)

log = logging.getLogger("genrepair")

MAX_SAMPLES = 256


def _prepare(model, task: str):
    """The model to run: a name or folder is loaded, and the task is checked; eval mode (see the module doc)."""
    if isinstance(model, str | os.PathLike):
        from .hub import load_model

        with torch.inference_mode(False):  # ordinary tensors, as from a load outside the pipeline
            model = load_model(model)
    elif not (callable(model) or hasattr(model, "sample")):  # a module, or a classic generator
        raise TypeError(f"model must be a loaded model (genrepair.load_model) or its name, got {type(model).__name__}")
    _check_task(model, task)
    if isinstance(model, torch.nn.Module) and model.training:
        model.eval()
    return model


def _check_task(model, task: str) -> None:
    """A known architecture used for another task is a clear ValueError (a model of a class we do not know,
    such as the user's own module, is taken as it is)."""
    cls = type(model).__name__
    its = TASK_OF_CLASS.get(cls)
    if its is not None and its != task:
        name = getattr(model, "genrepair_name", None) or f"this {cls}"
        raise ValueError(
            f"{name} is {_a(its)} model, not {_a(task)} model; use it with genrepair.{its}() or `genrepair {its}`, "
            f"or pick {_a(task)} model"
        )


def _a(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _device_dtype(model: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    """Where and in what precision the model computes: its first parameter's (a module without any: the CPU)."""
    p = next(model.parameters(), None)
    return (p.device, p.dtype) if p is not None else (torch.device("cpu"), torch.float32)


_FLOAT32_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _for_pixels(model, d: Decoded):
    """The model to run on ``d``: a 16-bit image gets a float32 copy of a half-precision model (made once per
    model, again when its weights change), since float16 keeps 11 significant bits and would undo most of the file's precision."""
    if not d.high_bit or not isinstance(model, torch.nn.Module) or _device_dtype(model)[1] == torch.float32:
        return model
    version = _weights_version(model)
    cached = _FLOAT32_COPIES.get(model)
    if cached is None or cached[0] != version:
        cached = _FLOAT32_COPIES[model] = (version, copy.deepcopy(model).float())
    return cached[1]


def _weights_version(model: torch.nn.Module) -> tuple | None:
    """Bumped by every in-place change of the weights (load_state_dict, an optimizer step). Weights made in
    inference mode keep no counter, and cannot change in place outside it: None, the copy is kept."""
    try:
        return tuple(p._version for p in model.parameters())
    except RuntimeError:
        return None


def _tensor(arr: np.ndarray, model: torch.nn.Module) -> torch.Tensor:
    dev, dtype = _device_dtype(model)
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))[None].to(dev, dtype)


def _array(t: torch.Tensor) -> np.ndarray:
    return t[0].float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def _pad_run(fn, x: torch.Tensor, multiple: int, min_side: int = 1) -> torch.Tensor:
    h, w = x.shape[-2:]
    ph, pw = max(min_side - h, 0), max(min_side - w, 0)
    ph, pw = ph + (-(h + ph)) % multiple, pw + (-(w + pw)) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return fn(x)[..., :h, :w]


def _ramp(n: int, overlap: int, start: bool, end: bool) -> torch.Tensor:
    """Blend weights along one side: ~0 over the outer third of the overlap (where a tile lacks
    context), then a linear ramp, 1 inside; image borders keep full weight."""
    w = torch.ones(n)
    if overlap > 0:
        dead = overlap // 3
        r = torch.cat([torch.full((dead,), 1e-4), torch.linspace(0, 1, overlap - dead + 2)[1:-1]])
        if not start:
            w[:overlap] = r
        if not end:
            w[-overlap:] = r.flip(0)
    return w


def _spans(n: int, tile: int, stride: int, multiple: int, balanced: bool = False) -> list[tuple[int, int]]:
    """(start, end) of the tiles along one side. Every start lies on the ``multiple`` grid, so a
    network with stride-2 stages sees each tile at the same phase as the whole image would be seen;
    the last tile therefore ends at ``n`` and may be up to ``multiple - 1`` pixels longer than ``tile``.

    ``balanced`` keeps the number of tiles and shrinks them to share the side evenly with the same overlap:
    a side just over ``tile`` gets two tiles of about half of it instead of two full ones."""
    if n <= tile:
        return [(0, n)]
    starts = list(range(0, n - tile, stride))
    last = (n - tile) // multiple * multiple
    if last > starts[-1]:
        starts.append(last)
    if balanced and len(starts) > 1:  # as many tiles, each as small as the overlap (+ grid rounding) allows
        k, overlap = len(starts), tile - stride
        size = math.ceil((n + (k - 1) * (overlap + multiple)) / k / multiple) * multiple
        starts = [round(i * (n - size) / (k - 1) / multiple) * multiple for i in range(k - 1)]
        starts.append((n - size) // multiple * multiple)
        return [(s, s + size) for s in starts[:-1]] + [(starts[-1], n)]
    return [(s, s + tile) for s in starts[:-1]] + [(starts[-1], n)]


# The smallest tile denoise and translate accept: smaller ones change the picture. A 192 px picture in 64 px tiles
# came out up to 142 levels off through a CycleGAN (128 px: 32, 256: exact) and 4 levels off through denoise.color
# at sigma 25 (16 px: 13, 128: 1).
MIN_TILE = 128


def _check_tile(tile: int) -> None:
    if not _whole(tile) or tile < 1:
        raise ValueError(f"tile must be a positive whole number of pixels, got {tile!r}")


def _check_model_tile(tile: int) -> None:
    """A ``tile`` given to denoise or translate: a whole number of at least :data:`MIN_TILE` pixels."""
    _check_tile(tile)
    if tile < MIN_TILE:
        raise ValueError(f"tile must be at least {MIN_TILE} pixels, got {tile}: smaller tiles change the picture")


def run_tiled(
    fn,
    x: torch.Tensor,
    tile: int = 512,
    overlap: int = 96,
    multiple: int = 8,
    min_side: int = 1,
    balanced: bool = False,
) -> torch.Tensor:
    """Apply ``fn`` over overlapping tiles blended with linear ramps: memory bounded, no seams.

    Each tile (or the whole image) is replicate-padded to a multiple of ``multiple`` and to at
    least ``min_side`` pixels, then cropped back. ``balanced``: see ``_spans``.
    """
    _check_tile(tile)
    tile = max(tile, 2 * multiple)  # tiles start on the multiple grid: smaller ones would leave gaps
    overlap = min(overlap, tile // 2)  # keep the stride positive for small tiles
    h, w = x.shape[-2:]
    if h <= tile and w <= tile:
        return _pad_run(fn, x, multiple, min_side)
    out = None
    weight = torch.zeros(1, 1, h, w, device=x.device, dtype=torch.float32)
    stride = max(multiple, (tile - overlap) // multiple * multiple)
    for y0, y1 in _spans(h, tile, stride, multiple, balanced):
        for x0, x1 in _spans(w, tile, stride, multiple, balanced):
            res = _pad_run(fn, x[..., y0:y1, x0:x1], multiple, min_side).float()
            wy = _ramp(y1 - y0, overlap, y0 == 0, y1 >= h).to(x.device)
            wx = _ramp(x1 - x0, overlap, x0 == 0, x1 >= w).to(x.device)
            wt = (wy[:, None] * wx[None, :])[None, None]
            if out is None:
                out = torch.zeros(1, res.shape[1], h, w, device=x.device, dtype=torch.float32)
            out[..., y0:y1, x0:x1] += res * wt
            weight[..., y0:y1, x0:x1] += wt
    return out.div_(weight).to(x.dtype)  # in place: one fewer image-sized float buffer


ENSEMBLE_PASSES = (1, 2, 4, 8)


def _dihedral(x: torch.Tensor, k: int, inverse: bool = False) -> torch.Tensor:
    """Transform ``k`` (0-7) of the square's symmetry group on the last two dims: bit 0 flips left-right,
    bit 1 flips up-down, bit 2 transposes (applied in that order; ``inverse`` undoes them)."""
    steps = [(1, lambda t: t.flip(-1)), (2, lambda t: t.flip(-2)), (4, lambda t: t.transpose(-1, -2))]
    for bit, op in reversed(steps) if inverse else steps:
        if k & bit:
            x = op(x)
    return x


def _check_passes(passes) -> None:
    if not _whole(passes) or passes not in ENSEMBLE_PASSES:
        raise ValueError(f"self-ensemble passes must be one of {', '.join(map(str, ENSEMBLE_PASSES))}, got {passes!r}")


def self_ensemble(fn, passes: int = 8):
    """Wrap ``fn`` (NCHW tensor -> NCHW tensor of the same size) so it averages its outputs over ``passes``
    flipped/transposed copies of the input, each transformed back: 1 = ``fn`` itself, 2 = with a
    left-right flip, 4 = all flips, 8 = flips and transposes (the "x8" self-ensemble of Lim et al. 2017,
    EDSR+, and of KAIR's test scripts). A denoiser trained with flips and rotations gains a little PSNR
    for ``passes`` times the time; with transposes, ``fn`` sees H and W swapped (pad both to the model's multiple)."""
    _check_passes(passes)
    if passes == 1:
        return fn

    def run(x: torch.Tensor) -> torch.Tensor:
        out = fn(x).to(torch.float32, copy=True)  # summed in place: never into the model's input or a view
        for k in range(1, passes):
            out += _dihedral(fn(_dihedral(x, k)), k, inverse=True).float()
        return out.div_(passes).to(x.dtype)

    return run


def tile_size() -> int:
    """The denoising tile, ``GENREPAIR_TILE`` (512 px by default, at least :data:`MIN_TILE`)."""
    return env_int("GENREPAIR_TILE", 512, minimum=MIN_TILE)


# ---------------------------------------------------------------- generate


def is_label_index(label: str) -> bool:
    """`` 3`` and ``-1`` are class numbers (the second out of range); ``²`` and ``٣`` are not (``int`` refuses
    the first, and a name is clearer than an Arabic-Indic digit)."""
    return re.fullmatch(r"-?[0-9]+", label.strip()) is not None


def _resolve_label(model, label, n: int, gen: torch.Generator) -> torch.Tensor | None:
    if isinstance(label, str):
        label = label.strip()  # " 3" is 3, "  " no label: as the CLI names the files
    if not getattr(model, "num_classes", 0):
        if label not in (None, "", "random"):
            raise ValueError(f"{getattr(model, 'genrepair_name', 'this model')} is unconditional: it takes no label")
        return None
    names = list(model.class_names)
    if label in (None, "", "random"):
        return torch.randint(0, model.num_classes, (n,), generator=gen)
    if isinstance(label, bool) or not (isinstance(label, str) or _whole(label)):  # True was read as class 1
        raise ValueError(f"a label is a class name or a whole number, got {label!r}")
    if isinstance(label, str) and not is_label_index(label):
        folded = [name.casefold() for name in names]  # "animals & nature" is "Animals & Nature"
        key = label.casefold()
        if key not in folded:
            raise ValueError(f"unknown label {label[:80]!r}; valid: {', '.join(names)}")
        idx = folded.index(key)
    else:
        idx = int(label)
        if not 0 <= idx < model.num_classes:
            raise ValueError(f"label {idx} out of range 0..{model.num_classes - 1}")
    return torch.full((n,), idx, dtype=torch.long)


TRUNCATION_HAS_EFFECT_BELOW = 1e6  # a normal sample never comes near it: clamping there changes nothing


def _check_truncation(truncation) -> None:
    if not isinstance(truncation, int | float | np.number) or isinstance(truncation, bool) or not truncation > 0:
        raise ValueError(f"truncation must be a number above 0, got {truncation!r}")


def _latents(model, n: int, gen: torch.Generator, truncation: float) -> torch.Tensor:
    z = torch.randn(n, model.z_dim, generator=gen)
    _check_truncation(truncation)
    if truncation < TRUNCATION_HAS_EFFECT_BELOW:
        # truncation trick: resample entries beyond the threshold
        for _ in range(100):
            bad = z.abs() > truncation
            if not bad.any():
                break
            z[bad] = torch.randn(int(bad.sum()), generator=gen)
        z = z.clamp(-truncation, truncation)
    return z


def _decode_latents(model, z: torch.Tensor, labels: torch.Tensor | None) -> list[Image.Image]:
    """In one batch: decoding each image on its own would make the last bit batch-independent (a pixel can move
    by one level) but cost 8x the time for 64 gan.emoji images (measured 2026-12-02)."""
    dev, dtype = _device_dtype(model)
    z = z.to(dev, dtype)
    if hasattr(model, "decode"):
        out = model.decode(z)
    else:
        out = model(z, None if labels is None else labels.to(dev)) * 0.5 + 0.5
    return [encode(_array(o[None])) for o in out]


@torch.inference_mode()
def generate(model, n: int = 16, seed: int = 0, label=None, truncation: float = 1e9) -> list[Image.Image]:
    """``n`` images from a generator. Image ``i`` is image 0 of seed ``seed + i`` (as for the classic
    generators), so a seed gives the same images whatever ``n`` is (to one level in a few pixels: batches round
    differently, see ``_decode_latents``)."""
    if not _whole(n) or not 1 <= n <= MAX_SAMPLES:
        raise ValueError(f"n must be between 1 and {MAX_SAMPLES} (a whole number), got {n!r}")
    _check_seed(seed, n)
    _check_truncation(truncation)  # for every generator: a classic one has no latent to truncate, and ignores it
    model = _prepare(model, "generate")
    if hasattr(model, "sample"):  # classic, non-learned generators
        if label not in (None, "", "random"):
            raise ValueError("classic generators take no label")
        return [model.sample(int(seed) + i) for i in range(int(n))]
    zs, labels = zip(*(_seeded(model, int(seed) + i, label, truncation) for i in range(int(n))), strict=True)
    return _decode_latents(model, torch.stack(zs), None if labels[0] is None else torch.cat(labels))


MAX_SEED = 2**63 - 1


def _whole(x) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


def _check_seed(seed, n: int = 1) -> None:
    """Seeds are whole numbers from 0; ``seed + n - 1`` must still fit a 64-bit generator seed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED - int(n) + 1:
        raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED - int(n) + 1}, got {seed!r}")


def _seeded(model, seed: int, label, truncation: float) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(z, label) of the one sample that ``seed`` gives: its own generator, so no other sample changes it."""
    gen = torch.Generator().manual_seed(int(seed))
    labels = _resolve_label(model, label, 1, gen)
    return _latents(model, 1, gen, truncation)[0], labels


def _slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    omega = torch.acos((a / a.norm() * b / b.norm()).sum().clamp(-1, 1))
    if omega.abs() < 1e-6:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


@torch.inference_mode()
def interpolate(
    model, seed_a: int, seed_b: int, steps: int = 8, label=None, truncation: float = 1e9
) -> list[Image.Image]:
    """A strip of ``steps`` images walking the latent space from ``seed_a`` to ``seed_b`` (slerp).

    The first image is ``generate(model, 1, seed_a, label)[0]`` (to one level); the last one has the latent of
    ``generate(model, 1, seed_b, label)`` but keeps ``seed_a``'s label (a random label is drawn once).
    """
    model = _prepare(model, "generate")
    if hasattr(model, "sample"):
        raise ValueError("classic generators have no latent space to interpolate")
    if not _whole(steps) or not 2 <= steps <= 64:
        raise ValueError(f"steps must be between 2 and 64 (a whole number), got {steps!r}")
    _check_seed(seed_a)
    _check_seed(seed_b)
    za, labels = _seeded(model, seed_a, label, truncation)
    zb, _ = _seeded(model, seed_b, label, truncation)
    z = torch.stack([_slerp(za, zb, i / (steps - 1)) for i in range(steps)])
    return _decode_latents(model, z, None if labels is None else labels.expand(steps))


# ---------------------------------------------------------------- translate

_NORM_PLAN = threading.local()  # per thread: {InstanceNorm module: None (to measure) or (mean, var)}


def _shared_norm_hook(module: torch.nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
    plan = getattr(_NORM_PLAN, "plan", None)
    if plan is None or module not in plan:
        return None  # another thread's call, or outside ``_image_norm_stats``: the layer's own output
    x = args[0].float()
    if plan[module] is None:
        plan[module] = (x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False))
        return None
    mean, var = (v[:, None, None] for v in plan[module])
    y = (x - mean) * torch.rsqrt(var + module.eps)
    if module.affine:
        y = y * module.weight[:, None, None] + module.bias[:, None, None]
    return y.to(output.dtype)


@contextlib.contextmanager
def _image_norm_stats(model: torch.nn.Module, measure):
    """Within the block, InstanceNorm layers normalise with statistics measured once by ``measure()`` (a run
    of ``model`` on a downscaled copy of the whole image) instead of each tile's own.

    Per-tile statistics give each tile a tone of its own: ``scripts/bench_translate_tiles.py`` measures how far
    either comes from the whole-image output (README, "Official checkpoints")."""
    norms = [
        m
        for m in model.modules()
        if isinstance(m, torch.nn.modules.instancenorm._InstanceNorm) and not m.track_running_stats
    ]
    if not norms:
        yield
        return
    handles = [m.register_forward_hook(_shared_norm_hook) for m in norms]
    outer = getattr(_NORM_PLAN, "plan", None)
    try:
        _NORM_PLAN.plan = dict.fromkeys(norms)
        measure()
        yield
    finally:
        _NORM_PLAN.plan = outer
        for h in handles:
            h.remove()


def _to_size(rgb: np.ndarray, w: int, h: int) -> np.ndarray:
    """``rgb`` (H x W x C floats in [0, 1]) resized to ``w`` x ``h``: bicubic up, area average down."""
    import cv2

    up = w * h > rgb.shape[0] * rgb.shape[1]
    out = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_CUBIC if up else cv2.INTER_AREA)
    return np.clip(out.reshape(h, w, -1), 0, 1)


@torch.inference_mode()
def translate(model, image, tile: int = 2048, ensemble: int = 1) -> Image.Image:
    """Run an image-to-image generator; size and alpha are kept, sides padded to the model's multiple.

    A picture smaller than the model's training size (``image_size``: 128 for our emoji models, 256 for the
    official CycleGANs) is translated enlarged to that size on its longer side and the result reduced back:
    at their own size, 16-64 px test emoji came out 0.3-9.5 dB further from the true counterpart than this way
    (README, `scripts/compare_small_translate.py`), and a 4x4 icon came out white.

    An image up to ``tile`` pixels on each side runs whole (about 0.5 KB of memory per pixel on a CPU:
    2 GB at 2048x2048). A larger one runs in overlapping tiles of at most ``tile`` pixels whose
    InstanceNorm layers all use the statistics of the whole image, measured on a copy downscaled to fit
    ``tile``, so the tiles agree in tone (``_image_norm_stats``).

    ``ensemble=2`` averages the output with that of the mirrored image (flipped back): the generators were
    trained with left-right flips, not upside down, so 2 is the most this offers. On the emoji test split it
    raised PSNR vs truth by 0.01-0.22 dB and lowered FID-EL0 in all four directions, for twice the time."""
    if not _whole(ensemble) or ensemble not in (1, 2):
        raise ValueError(f"translate ensemble must be 1 or 2 (the image and its mirror), got {ensemble!r}")
    _check_model_tile(tile)  # before the statistics pass below
    model = _prepare(model, "translate")
    d = decode(open_image(image))
    model = _for_pixels(model, d)
    bg = 1.0 if getattr(model, "background", "white") == "white" else 0.0
    rgb = composite_on(d, bg)
    h0, w0 = rgb.shape[:2]
    size = int(getattr(model, "image_size", 0) or 0)
    if max(h0, w0) < size:  # run at the size the model was trained at, then back
        scale = size / max(h0, w0)
        rgb = _to_size(rgb, max(1, round(w0 * scale)), max(1, round(h0 * scale)))
    if getattr(model, "input_nc", 3) == 1:  # a gray generator (the official --input_nc 1): its input is luma
        rgb = rgb @ np.array([[0.299], [0.587], [0.114]], np.float32)
    x = _tensor(rgb * 2 - 1, model)
    mult = getattr(model, "pad_multiple", 4)
    min_side = 2 * mult  # reflection padding and instance norm at 1/4 scale need at least 2x2 pixels there
    h, w = x.shape[-2:]
    norms = contextlib.nullcontext()  # up to ``tile`` a side run_tiled runs the whole image
    if max(h, w) > tile:
        scale = tile / max(h, w)  # a short side stays as the tiles see it: a 3000x5 strip's copy is not 1 px tall
        small = F.interpolate(x, size=tuple(max(round(n * scale), min(n, min_side)) for n in (h, w)), mode="area")
        norms = _image_norm_stats(model, lambda: _pad_run(model, small, mult, min_side))
    with norms:
        y = run_tiled(
            self_ensemble(model, ensemble), x, tile, overlap=64, multiple=mult, min_side=min_side, balanced=True
        )
    out = _array(y * 0.5 + 0.5)
    if out.shape[:2] != (h0, w0):
        out = _to_size(out, w0, h0)
    if d.alpha is not None:  # un-mix the background from the half-transparent edge: it showed as a light fringe
        a = d.alpha[..., None]
        edge = (a > 0) & (a < 1)
        if edge.any():
            out = np.where(edge, np.clip((out - (1 - a) * bg) / np.maximum(a, 1e-6), 0, 1), out)
    # what the model makes, in colour even from a gray picture (line art is stored gray; sketch -> colour and
    # photo -> painting models colour it); a gray model's output is gray. encode drops a profile that no longer fits
    return encode(out, d.alpha, d.high_bit, d.icc, d.colour)


# ---------------------------------------------------------------- denoise


def _spread_visible(px: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``px`` with the pixels outside ``known`` replaced by a smooth spread of the known ones (push-pull: a pyramid
    of weighted averages, filled back from coarse to fine), as a denoiser should see the hidden colours of a
    transparent background: close to the visible edge they meet."""
    import cv2

    def half(a: np.ndarray) -> np.ndarray:
        size = (max(1, (a.shape[1] + 1) // 2), max(1, (a.shape[0] + 1) // 2))
        return cv2.resize(a, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)

    weight = known[..., None].astype(np.float32)
    levels = [(px * weight, weight)]
    while max(levels[-1][1].shape[:2]) > 1 and (levels[-1][1] == 0).any():
        levels.append((half(levels[-1][0]), half(levels[-1][1])))
    color, weight = levels[-1]
    mean = color.sum((0, 1)) / max(float(weight.sum()), 1e-12) if weight.any() else 0.5  # all clear: mid-gray
    filled = np.where(weight > 0, color / np.maximum(weight, 1e-12), mean).astype(np.float32)
    for color, weight in reversed(levels[:-1]):  # premultiplied average + the coarser level where weight is missing
        up = cv2.resize(filled, (color.shape[1], color.shape[0]), interpolation=cv2.INTER_LINEAR)
        up = up.reshape(color.shape)
        up *= 1 - weight
        up += color
        filled = up
    np.copyto(filled, px, where=known[..., None])
    return filled.astype(px.dtype, copy=False)


def check_sigma(sigma, sigma_max: float = 75.0) -> float:
    """A given noise level (0-255 scale) as a float within [0, ``sigma_max``], else a ValueError saying so."""
    try:
        used = float(sigma) if not isinstance(sigma, bool) else math.nan  # True is not a noise level
    except (TypeError, ValueError):
        raise ValueError(f"sigma must be a number (0-255 scale) or 'auto', got {sigma!r}") from None
    if not math.isfinite(used) or not 0 <= used <= sigma_max:
        raise ValueError(f"sigma must be between 0 and {sigma_max:g} (0-255 scale), got {sigma}")
    return used + 0.0  # -0.0 reads 0


@torch.inference_mode()
def denoise(model, image, sigma: float | str | None = None, tile: int | None = None, ensemble: int = 1) -> Image.Image:
    """Denoise; ``sigma`` (0-255 scale) or None/"auto" to estimate it. The used sigma is in ``.info["genrepair_sigma"]``;
    ``.info["genrepair_sigma_unmeasured"]`` is True when the image was too small to estimate it from (0 was used);
    ``.info["genrepair_sigma_shared"]``, when present, is the level of grain the channels of a colour picture share,
    which the estimate leaves (a suggestion to try by hand: it cannot be told from grey texture; ``_shared_grain``).
    At sigma 0, or an automatic reading below 1 (``NOTHING_BELOW``), the picture comes back as it is, with
    ``.info["genrepair_unchanged"]`` True (a blind model, which takes no level, always runs).

    The estimate is JPEG-aware when ``image`` is the file itself (path, bytes, file object, ``Image.open``'s result):
    a decoded array has lost the quantization table and gets the plain estimate, low on noise JPEG smoothed.

    ``ensemble`` (1, 2, 4 or 8) averages that many flipped/transposed passes (:func:`self_ensemble`):
    8 passes add 0.1-0.2 dB PSNR for 6-9 times the CPU time."""
    _check_passes(ensemble)  # before any work
    if tile is not None:
        _check_model_tile(tile)
    model = _prepare(model, "denoise")
    src = open_image(image)
    d = decode(src)
    model = _for_pixels(model, d)
    sigma_max = float(getattr(model, "sigma_max", 75.0))
    blind = getattr(model, "blind", False)  # takes no level: none is suggested, and it always runs
    unmeasured, shared = False, None
    automatic = sigma is None or (isinstance(sigma, str) and sigma.strip().lower() == "auto")
    if automatic:
        # JPEG files need the JPEG-aware estimate, measured on the pixels as stored (its 8x8 blocks start at
        # the stored top-left corner, which an EXIF rotation moves)
        if d.alpha is not None and not d.alpha.any():
            used = 0.0  # fully transparent: nothing shows, nothing to measure (the pixels come back unchanged)
        else:
            jpeg = jpeg_source(src)
            px = d.pixels if not jpeg or orientation(src) == 1 else decode(src, exif=False).pixels
            opaque = None if d.alpha is None else d.alpha >= 1  # what shows of a cut-out: its background has no noise
            used = min(estimate_noise_level(px, jpeg=jpeg, valid=opaque), sigma_max)
            if not blind:
                shared = _shared_grain(px, opaque, used, sigma_max)
            if used == 0 and not measurable(px):  # 0 is also what a clean picture reads
                unmeasured = True
                warnings.warn(  # a warning, not a log line: the CLI names the file it is about
                    f"{px.shape[1]}x{px.shape[0]} pixels are too few to estimate the noise level from (it takes "
                    "about 8x8 in colour, 12x12 in gray): nothing was removed; give sigma by hand",
                    stacklevel=3,
                )
    else:
        used = check_sigma(sigma, sigma_max)
        if blind:
            log.warning("%s takes no noise level (a blind denoiser): sigma %g is ignored", type(model).__name__, used)
    if not blind and (used == 0 or automatic and used < NOTHING_BELOW):
        img = encode(d.pixels, d.alpha, d.high_bit, d.icc, d.colour)  # nothing to remove: the picture as it is
        img.info["genrepair_unchanged"] = True
    else:
        img = _denoised(model, d, used, tile, ensemble)
    img.info["genrepair_sigma"] = used
    if shared is not None:
        img.info["genrepair_sigma_shared"] = shared
    if unmeasured:
        img.info["genrepair_sigma_unmeasured"] = True  # too small to estimate: used is 0
    return img


def _denoised(model, d: Decoded, used: float, tile: int | None, ensemble: int) -> Image.Image:
    """The decoded picture ``d`` denoised at ``used`` (0-255 scale): hidden colours spread, gray kept gray."""
    in_nc = getattr(model, "in_nc", 3)
    px = d.pixels
    clear = None if d.alpha is None or d.alpha.min() > 0 else d.alpha <= 0  # fully transparent pixels
    if clear is not None:  # hidden colours would bleed into the edges: the visible ones, spread
        px = _spread_visible(px, ~clear)
    stored_as_rgb = px.shape[2] == 3 and same_channels(px, None if clear is None else ~clear)  # as estimated
    if stored_as_rgb:  # a gray picture in an RGB file: its noise is the same in all three channels
        tint = px - px.mean(2, keepdims=True)  # what sets the channels apart (a level or two in a JPEG of one)
        px = px.mean(2, keepdims=True)
    # A color model reads a gray picture as three equal channels, so it sees the noise fully correlated across
    # them: as strong in luminance as independent noise sqrt(3) times stronger per channel, the level it was
    # trained for (denoise.color on Set12 images 1, 2, 5, 8: 28.5 / 24.3 / 18.6 dB at sigma 15 / 25 / 50 without
    # this, 32.9 / 30.3 / 22.5 with it, denoise.gray 33.2 / 31.0 / 28.0; a gray model is the better choice).
    level = used * math.sqrt(3) if in_nc == 3 and px.shape[2] == 1 else used
    fn = self_ensemble(lambda t: model(t, level / 255.0), ensemble)
    tile = tile if tile is not None else tile_size()
    mult = getattr(model, "pad_multiple", 8)
    if in_nc == px.shape[2]:
        out = _array(run_tiled(fn, _tensor(px, model), tile=tile, overlap=96, multiple=mult))
    elif in_nc == 3:  # gray image, color model
        out = _array(run_tiled(fn, _tensor(np.repeat(px, 3, 2), model), tile, 96, mult)).mean(2, keepdims=True)
    else:  # color image, gray model: channel by channel
        out = np.concatenate(
            [_array(run_tiled(fn, _tensor(px[..., c : c + 1], model), tile, 96, mult)) for c in range(px.shape[2])], 2
        )
    if stored_as_rgb:
        out = np.clip(out + tint, 0, 1)
    if clear is not None:
        out[clear] = d.pixels[clear]  # what the file holds under full transparency is kept as it was
    return encode(out, d.alpha, d.high_bit, d.icc, d.colour)


# An automatic reading below one level (0-255 scale) leaves the picture as it is (so does sigma 0): the denoisers are
# no identity there (clean CBSD68, Kodak24 and BSD68 PNGs, 30 of 32 reading under 1, came back 50-63 dB from
# themselves; a clean 64 px screenshot 33 dB, its text blurred), and on JPEG files reading under 1 they gained 0.04 dB
# or less on average. Noise of sigma 1 reads 1.1-1.2 and is still removed (README: "At sigma 0").
NOTHING_BELOW = 1.0

SHARED_GRAIN_FROM = 10.0  # the least level of shared grain worth a suggestion (``_shared_grain``)


def _shared_grain(px: np.ndarray, opaque: np.ndarray | None, used: float, sigma_max: float) -> float | None:
    """The level of grain a colour picture's channels share (``shared_noise_level``) when it is at least
    ``SHARED_GRAIN_FROM`` and above twice the automatic level plus 2, else None: a suggestion for the user, not
    used (the automatic level cannot tell it from grey texture and sharpening). Such grain (a camera's luma noise,
    film grain) reads near 0 in the automatic level: RNI15's Dog and Bears read 1.1 and 0.5, their grain 28 and
    15. Clean pictures read this high now and then, mostly small textured BSDS photos: 2 of 143 test and training
    photos (CBSD68, Kodak24, McMaster, photos/train), 8 saved as JPEG quality 90, 10 after a strong unsharp mask."""
    if px.shape[2] != 3 or same_channels(px, opaque):
        return None
    shared = shared_noise_level(px, valid=opaque)
    if shared < SHARED_GRAIN_FROM or shared <= LUMA_OVER[0] * used + LUMA_OVER[1]:
        return None
    return min(shared, sigma_max)


def is_gray(pixels: np.ndarray, ignore: np.ndarray | None = None) -> bool:
    """One channel, or three equal ones (a gray picture stored as RGB), where ``ignore`` (HxW bool) is False."""
    if pixels.shape[2] == 1:
        return True
    if pixels.shape[2] != 3:
        return False
    equal = (pixels[..., 0] == pixels[..., 1]) & (pixels[..., 1] == pixels[..., 2])
    return bool(equal.all() if ignore is None else (equal | ignore).all())


def looks_gray(image) -> bool:
    """Whether an image (path, PIL image, array, bytes) is gray: what a gray denoiser is for."""
    d = decode(open_image(image))
    return looks_gray_pixels(d.pixels, None if d.alpha is None else d.alpha > 0)


def looks_gray_pixels(pixels: np.ndarray, visible: np.ndarray | None = None) -> bool:
    """One channel, or three that agree to within rounding where ``visible`` (a gray photo saved as a colour JPEG
    differs by a level or two), as the noise estimate judges it; a cut-out's hidden colours do not count."""
    return pixels.shape[2] == 1 or (pixels.shape[2] == 3 and same_channels(pixels, visible))


# ---------------------------------------------------------------- inpaint


def _binary(img, label: str, size: tuple[int, int]) -> np.ndarray:
    """A mask/sketch image -> bool HxW of ``size``: :func:`read_mask`, scaled by :func:`fit_mask`."""
    return fit_mask(read_mask(img, label), size, label)


def fit_mask(mask: np.ndarray, size: tuple[int, int], label: str = "mask") -> np.ndarray:
    """A bool HxW mask at the image's ``size`` (width, height): as it is, or scaled when it has the image's shape at
    another scale (:func:`same_shape`: a mask painted on a preview, a layer the browser sent smaller). A pixel is
    set when any of what it covers was (a hole never comes off its object; enlarged by a whole factor, each pixel
    becomes its block). Another shape cannot be placed and is refused."""
    h, w = mask.shape
    if (w, h) == tuple(size):
        return mask
    if not same_shape((w, h), size):
        raise ImageInputError(
            f"{label} is {w}x{h} but the image is {size[0]}x{size[1]}; they must match (or be the same shape at "
            "another scale)"
        )
    import cv2

    log.info("%s: %dx%d scaled to the image's %dx%d", label, w, h, *size)
    # each new pixel's share of the hole (a block of it when enlarged by a whole factor): any share counts
    return cv2.resize(mask.astype(np.float32), tuple(size), interpolation=cv2.INTER_AREA) > 0


def same_shape(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether sizes ``a`` and ``b`` (width, height) are one picture at two scales: one of them is the other
    scaled by some factor and rounded, each side to within half a pixel (a preview made by any resizer). A
    transposed size (an EXIF-rotated mask) is not, however nearly square."""

    def rounded_from(small: tuple[int, int], big: tuple[int, int]) -> bool:
        lo = max((small[0] - 0.5) / big[0], (small[1] - 0.5) / big[1])
        hi = min((small[0] + 0.5) / big[0], (small[1] + 0.5) / big[1])
        return lo <= hi

    return rounded_from(a, b) or rounded_from(b, a)


def read_mask(img, label: str = "mask") -> np.ndarray:
    """A mask or sketch (any image source) -> bool HxW: its alpha if it has transparency, else its brightest
    channel, read as the module doc says (two values: the other one is set; otherwise above half of white, with its
    soft rim; the smaller of the opaque and the transparent part when there is transparency)."""
    try:
        src = open_image(img)
        d = decode(src)
    except ImageInputError as e:
        raise ImageInputError(f"{label}: {e}") from e
    v = d.pixels.max(2)
    clear = d.alpha is not None and d.alpha.min() < 0.5  # transparent somewhere, not just a stray pixel at 254
    if clear and (d.alpha >= 0.5).mean() > 0.5:
        log.info("%s: mostly opaque, so its transparent part is read as the hole (an edit mask)", label)
        return _grow_soft(1 - d.alpha)
    if clear or (d.alpha is not None and d.alpha.min() < 1 and v.min() == v.max()):  # or alpha is all it holds
        return _grow_soft(d.alpha)
    top = float(v.max())
    lossless = src.format not in JPEG_FORMATS  # a black JPEG mask's noise can be levels 0 and 1 only: never 0/1
    if lossless and 0 < top <= 0.5 and np.all((v == 0) | (v == top)):  # a 0/1 (or 0/other) mask: exactly its set pixels
        return v == top
    return _grow_soft(v)


def _grow_soft(v: np.ndarray) -> np.ndarray:
    """Set where ``v`` (0-1) is above half, plus the soft edge around it: the pixels more than a tenth of white
    above the background (the median level of the rest; 0 for a mask on black) connected to those. A soft or
    anti-aliased brush covers an object's edge with its faint rim, which a plain half threshold leaves outside
    the hole (a ring of the object around the fill); a faint area that touches no set pixel, noise below a tenth
    (a mask that was once saved as JPEG) and a gray background stay out. (LaMa's predict.py takes every level
    above 0, which floods with such noise.)"""
    core = v > 0.5
    if not core.any() or core.all():
        return core
    background = float(np.median(v[::4, ::4][~core[::4, ::4]])) if (~core[::4, ::4]).any() else 0.0
    soft = v > min(background + 0.1, 0.5)
    if np.array_equal(soft, core):
        return core
    import cv2

    count, labels = cv2.connectedComponents(soft.astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[labels[core]] = True
    return keep[labels]


def _bounds(hole: np.ndarray) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): the smallest box holding every True pixel of ``hole``."""
    ys, xs = np.nonzero(hole)
    return int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1


def _crop_box(
    box: tuple[int, int, int, int], shape: tuple[int, int], work: int, least: int | None = None
) -> tuple[int, int, int, int]:
    """A square-ish window (top, left, height, width) around a hole's ``box`` (from :func:`_bounds`) with context
    on every side: twice the box, at least ``least`` (``work`` by default) and 64 pixels, clamped to an image of
    ``shape``; it always holds the box."""
    h, w = shape
    y0, y1, x0, x1 = box
    side = max(y1 - y0, x1 - x0)
    side = int(max(side * 2, min(work if least is None else least, max(h, w)), 64))
    cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
    bh, bw = min(side, h), min(side, w)
    top = int(np.clip(cy - bh // 2, 0, h - bh))
    left = int(np.clip(cx - bw // 2, 0, w - bw))
    return top, left, bh, bw


Part = tuple[tuple[int, int, int, int], np.ndarray]  # a part of a hole: its box and its pixels inside that box


def _hole_parts(hole: np.ndarray, work: int, most: int = 48) -> list[Part]:
    """The hole as parts that are each filled in a window of their own, so small holes spread over a big photo
    (dust, scratches, two objects in opposite corners) are filled at full resolution, not in one window around
    all of them downscaled to ``work`` pixels.

    One part when a single window around the whole hole fits ``work`` (nothing to gain). Otherwise the image is
    cut into square cells of ``work // 2`` pixels, so that a window (twice a part's size, ``_crop_box``) fits
    ``work``: each connected piece of the hole belongs to the cell of its centre, and a thin piece longer than a
    cell (a scratch: no point farther than ``work / 16`` pixels from its edge) is cut along the cells, since
    its surroundings are what fills it. A thick one stays whole (a downscaled window sees all of it). The cells
    double in size while there are more than ``most`` parts (the windows are then downscaled at most 2x, 4x...)."""
    box = _bounds(hole)
    _, _, bh, bw = _crop_box(box, hole.shape, work)
    if max(bh, bw) <= work:
        return [(box, hole[box[0] : box[1], box[2] : box[3]])]
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    thin: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # thin pieces longer than a cell: their pixels' positions
    for i in range(1, count):
        x, y, w, h = (int(v) for v in stats[i, :4])
        if max(w, h) > work // 2:
            piece = labels[y : y + h, x : x + w] == i
            if cv2.distanceTransform(np.pad(piece, 1).astype(np.uint8), cv2.DIST_L2, 3).max() <= work / 16:
                ys, xs = np.nonzero(piece)
                thin[i] = (ys + y, xs + x)
    cell = work // 2
    while True:
        groups: dict[tuple[int, int], list[tuple[int, int, int, int, int]]] = {}
        for i in range(1, count):
            x, y, w, h = (int(v) for v in stats[i, :4])
            if i in thin:  # cut along the cells it passes through (not every cell its box crosses)
                ys, xs = thin[i]
                for cy, cx in np.unique(np.stack([ys // cell, xs // cell], 1), axis=0).tolist():
                    y0, x0 = max(y, cy * cell), max(x, cx * cell)
                    y1, x1 = min(y + h, (cy + 1) * cell), min(x + w, (cx + 1) * cell)
                    groups.setdefault((cy, cx), []).append((i, y0, y1, x0, x1))
            else:
                groups.setdefault(((y + h // 2) // cell, (x + w // 2) // cell), []).append((i, y, y + h, x, x + w))
        if len(groups) <= most:
            break
        cell *= 2
    parts = []
    for pieces in groups.values():
        y0, x0 = min(p[1] for p in pieces), min(p[3] for p in pieces)
        y1, x1 = max(p[2] for p in pieces), max(p[4] for p in pieces)
        pixels = np.zeros((y1 - y0, x1 - x0), bool)
        for i, a, b, c, d in pieces:
            pixels[a - y0 : b - y0, c - x0 : d - x0] |= labels[a:b, c:d] == i
        py0, py1, px0, px1 = _bounds(pixels)  # every group holds pixels: its cells come from them
        parts.append(((y0 + py0, y0 + py1, x0 + px0, x0 + px1), pixels[py0:py1, px0:px1]))
    return parts


def _fill_window(
    model, px: np.ndarray, hole: np.ndarray, strokes: np.ndarray, work: int, passes: int = 1
) -> np.ndarray:
    """The model's fill of one window (float HxWx3): at native resolution when it fits ``work``, otherwise
    downscaled to it (area) and the fill upscaled back (bicubic); ``passes`` > 1 averages the fills of that
    many flipped/transposed copies (:func:`self_ensemble`)."""
    bh, bw = hole.shape
    rgb = np.repeat(px, 3, 2) if px.shape[2] == 1 else px
    x = _tensor(rgb, model)
    mt, st = (_tensor(a.astype(np.float32)[..., None], model) for a in (hole, strokes))
    scale = min(1.0, work / max(bh, bw))
    if scale < 1.0:
        size = (max(8, round(bh * scale)), max(8, round(bw * scale)))
        x, mt, st = (_area_resize(t, size) for t in (x, mt, st))
        mt, st = (mt > 0).to(x.dtype), (st > 0).to(x.dtype)
    multiple = getattr(model, "pad_multiple", 8)

    def run(t: torch.Tensor) -> torch.Tensor:  # image, hole and strokes stacked, so a flip moves them together
        return _pad_run(lambda u: model(u[:, :3], u[:, 3:4], u[:, 4:5]), t, multiple)

    fill = self_ensemble(run, passes)(torch.cat([x, mt, st], 1))
    if scale < 1.0:
        fill = F.interpolate(fill.float(), size=(bh, bw), mode="bicubic", align_corners=False)
    return _array(fill)


ERASED_OUTSIDE = 0.05  # at most this share of a picture's clear pixels outside the hole: the hole is an erased area


@torch.inference_mode()
def inpaint(model, image, mask, sketch=None, work_size: int = 512, ensemble: int = 1) -> Image.Image:
    """Fill the mask's holes. Outside the hole the result equals the input bit for bit.

    Works on a window around the hole: at native resolution when it fits ``work_size``, otherwise
    downscaled to it and the fill upscaled back, so big photos with small masks stay fast and sharp. Parts
    of the hole far apart on a big photo are filled one window each (:func:`_hole_parts`), each seeing the
    parts filled before it. ``ensemble`` (1, 2, 4 or 8) averages the fills of that many flipped/transposed
    copies (:func:`self_ensemble`): a little more PSNR in the hole, a little softer, ``ensemble`` times the time.
    Transparency: the fill is made from the visible colours, not those hidden under clear pixels; the hole keeps the
    picture's alpha (a cut-out's background stays clear), unless nearly all of the picture's clear pixels lie in the
    hole (an erased area, the picture as its own mask): then the fill is opaque.
    ``info["genrepair_filled"]`` is the number of pixels filled; an empty mask gives back the image with a
    warning (0 filled)."""
    if not _whole(work_size) or work_size < 64:
        raise ValueError(f"work_size must be a whole number of pixels, at least 64, got {work_size!r}")
    _check_passes(ensemble)  # before any work
    model = _prepare(model, "inpaint")
    src = open_image(image)
    d = decode(src)
    model = _for_pixels(model, d)
    h, w = d.pixels.shape[:2]
    hole = _binary(mask, "mask", (w, h))
    original = encode(d.pixels, d.alpha, d.high_bit, d.icc, d.colour)
    if not hole.any():
        # stacklevel 3: past the inference_mode wrapper, to the caller's line
        warnings.warn("the mask is empty (no hole pixels): the image comes back unchanged", stacklevel=3)
        original.info["genrepair_filled"] = 0
        return original
    if hole.all():  # the model would make a picture from nothing (all black): say so instead
        raise ImageInputError(
            "the mask covers the whole image: nothing is left to fill from; leave some of it unmasked"
        )
    strokes = _binary(sketch, "sketch", (w, h)) if sketch is not None else np.zeros_like(hole)
    out_px, alpha, seen = d.pixels.copy(), d.alpha, ~hole
    if alpha is not None and (clear := alpha <= 0).any():
        # the colours hidden under clear pixels (black, as most editors store them) bled into a fill at a cut-out's
        # edge: the visible ones, spread, as the denoiser sees them
        out_px = _spread_visible(d.pixels, ~clear)
        if (clear & ~hole).sum() <= ERASED_OUTSIDE * clear.sum():  # the clear area is the hole: an erased part
            alpha = alpha.copy()
            alpha[hole] = 1.0  # filled visibly (a picture with its erased part as its own mask came back unchanged)
        elif (seen & ~clear).any():
            seen &= ~clear
    # gray outside the hole (a pen mark to remove from a gray photo is in it), to within rounding: a colour JPEG of
    # a gray photo, its channels a level or two apart, got fills tinted up to 9 levels
    gray = looks_gray_pixels(d.pixels, seen)
    todo = hole.copy()  # hole pixels not filled yet: unknown to every window
    parts = _hole_parts(hole, work_size)
    least = work_size if len(parts) == 1 else work_size // 2  # small parts: half the context, a quarter of the time
    for (y0, y1, x0, x1), part in parts:
        top, left, bh, bw = _crop_box((y0, y1, x0, x1), (h, w), work_size, least)
        win = (slice(top, top + bh), slice(left, left + bw))
        fill = _fill_window(model, out_px[win], todo[win], strokes[win], work_size, ensemble)
        write = np.zeros((bh, bw), bool)
        write[y0 - top : y1 - top, x0 - left : x1 - left] = part
        if gray:  # a gray picture (one channel, or three equal ones) gets a gray fill
            fill = np.repeat(fill.mean(2, keepdims=True), out_px.shape[2], 2)
        out_px[win][write] = fill[write]
        todo[y0:y1, x0:x1] &= ~part
    filled = encode(out_px, alpha, d.high_bit)
    kept, new = np.asarray(original), np.asarray(filled)
    keep = ~hole if new.ndim == 2 else ~hole[..., None]
    result = Image.fromarray(np.where(keep, kept, new))
    result.info.update(original.info)  # the ICC profile, if any
    result.info["genrepair_filled"] = int(hole.sum())  # pixels filled
    if (wide := rgb16(original)) is not None:  # 16-bit color: the same merge at 16 bits
        result.info[RGB16] = np.where(keep, wide, rgb16(filled))
    return result


def _area_resize(t: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area (box) downscaling. Apple's MPS backend implements it only for sizes that divide evenly, so
    there it runs on the CPU."""
    if t.device.type == "mps":
        return F.interpolate(t.cpu().float(), size=size, mode="area").to(t.device, t.dtype)
    return F.interpolate(t, size=size, mode="area")


__all__ = ["Decoded", "denoise", "generate", "inpaint", "interpolate", "run_tiled", "self_ensemble", "translate"]
