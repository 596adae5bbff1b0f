"""GenRepair web app: generate, translate, denoise and inpaint images with the ``genrepair`` pipelines.

This file only wires Gradio. Every model-running event has a stable ``api_name`` so ``gradio_client``
can call it (positionally in this order, or by these keyword names; images as ``gradio_client.handle_file(path)``):

- ``generate``    (model_name, n, seed, label, truncation) -> (gallery, grid PNG)
- ``interpolate`` (model_name, seed_a, seed_b, steps, label, truncation) -> (strip, strip PNG)
- ``translate``   (model_name, image, mirror=False)
                  -> ((input, output), round trip A->B->A or None, output PNG, note)
- ``denoise``     (model_name, image, sigma, auto, add_noise_sigma, noise_seed, compare_opencv, best=False)
                  -> ((noisy, denoised), OpenCV result or None, denoised PNG, note, sigma used)
- ``inpaint``     (model_name, editor, mask=None, invert_mask=False, compare_opencv=False, best=False)
                  -> ((image with hole marked, filled), OpenCV result or None, filled PNG, note)
  ``editor`` is an ImageEditor value ``{"background": image, "layers": [mask, sketch], "composite": None}``;
  ``mask`` is an optional mask file (white = hole), added to what the editor's mask layer holds (one of
  another shape than the image gives way to painted strokes, and is refused without them).

Label "random" and truncation 0 mean: no label, no truncation. Environment: GENREPAIR_QUEUE_SIZE (32),
GENREPAIR_CONCURRENCY (1), GENREPAIR_MAX_FILE_SIZE ("50mb"), GENREPAIR_SHARE=1 or ``--share``, GENREPAIR_AUTH="user:password",
GENREPAIR_AUTH_FILE (one user:password per line), GRADIO_SERVER_NAME, GRADIO_SERVER_PORT.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import csv
import ctypes
import functools
import math
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import gradio as gr
import numpy as np
from PIL import Image

import genrepair
from genrepair.device import is_out_of_memory, pick_device
from genrepair.hub import env_on, local_models, weights_dir
from genrepair.imageio import (
    READABLE,
    carry_colour,
    check_file,
    composite_on,
    decode,
    encode,
    env_int,
    max_bytes,
    max_pixels,
    open_image,
    upright,
    write_png,
)
from genrepair.pipelines import fit_mask, is_gray, looks_gray_pixels, read_mask, same_shape, tile_size

try:
    import spaces

    gpu = spaces.GPU
except ImportError:
    gpu = lambda f: f  # noqa: E731 - no ZeroGPU outside Hugging Face Spaces


def limit_malloc_arenas(n: int = 2) -> None:
    """glibc gives each thread that allocates its own malloc arena (up to 8 per core), and freed image
    buffers stay spread over them: under load the server's memory grew with the number of requests served
    (measured with scripts/load_test.py: 460 MiB after warm-up, 922 MiB after 320 requests; with 2 arenas
    541 MiB). ``MALLOC_ARENA_MAX`` in the environment, if set, wins; other C libraries are left alone."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-8, n)  # M_ARENA_MAX


limit_malloc_arenas()
EXAMPLES = Path(__file__).resolve().parent / "examples"
OUT_DIR = Path(tempfile.mkdtemp(prefix="genrepair-app-"))
atexit.register(shutil.rmtree, OUT_DIR, ignore_errors=True)
KEEP_OUTPUTS_S = 3600
SWEEP_EVERY_S = 60
_last_sweep = 0.0
STRIP_COLUMNS = 4  # the interpolation strip wraps after this many images, so it stays legible on a phone
HOLE_RGB = np.array([255, 59, 48])  # the mask brush colour, also used to mark the hole in "before"
UI_ONLY = {"queue": False, "api_visibility": "private"}  # instant UI updates, not API endpoints
# 64 px samples shown larger: as blocks of pixels, not blurred by the browser's smoothing
CSS = ".pixels img { image-rendering: pixelated; }"
# empties an output in the browser at the click (a server-side clear could arrive after the run's result and wipe
# it); its event must be registered before the run's (registered after, it too wiped the result in chromium)
CLEAR = "() => ''"
USER_ERRORS = (genrepair.ImageInputError, genrepair.ModelLoadError, ValueError)


# ---------------------------------------------------------------- models


EXTRAS = local_models(weights_dir())  # e.g. converted official CycleGANs: name -> task


def model_names(task: str) -> list[str]:
    return [s.name for s in genrepair.list_models(task)] + [n for n, t in EXTRAS.items() if t == task]


def is_classic(name: str) -> bool:
    """A procedural baseline generator: no weights, no latent vector."""
    spec = genrepair.REGISTRY.get(name)
    return spec is not None and spec.cls == "classic"


def has_weights(name: str) -> bool:
    """True for classic generators and for models whose weights are in ``weights/<name>/``."""
    return is_classic(name) or (weights_dir() / name / "model.safetensors").is_file()


def default_model(task: str) -> str:
    names = model_names(task)
    return next((n for n in names if has_weights(n)), names[0])


def get_model(name: str):
    """Load each model once; failures are not cached, so weights that appear later are picked up."""
    if not isinstance(name, str) or not name:  # an API caller's None, a list...: Gradio's choice check let it by
        raise gr.Error(f"Choose a model from the list, got {name!r}.")
    return _loaded(name)  # checked first: the cache hashes its argument, and a list is unhashable


@functools.cache
def _loaded(name: str):
    if name in EXTRAS:
        return genrepair.load_model(weights_dir() / name)
    return genrepair.load_model(name, allow_any_repo=False)


def model_note(name: str) -> str:
    spec = genrepair.REGISTRY.get(name)
    if spec is None:
        return f"**{name}**: a converted checkpoint in `weights/{name}/` (not in the registry)."
    trained = f" Trained on: {spec.trained_on}." if spec.trained_on else " Not trained: a procedural baseline."
    missing = "" if has_weights(name) else " _Weights are not bundled; the first run tries the Hugging Face Hub._"
    return f"**{name}**: {spec.description}.{trained}{missing}"


def reverse_model(name: str) -> str | None:
    """The opposite direction of a translator (``a2b`` -> ``b2a``), if such a model is listed."""
    if not isinstance(name, str):
        return None
    parts = re.split(r"([._])", name)
    for i, part in enumerate(parts):
        for j in [k for k, ch in enumerate(part) if ch == "2" and 0 < k < len(part) - 1]:
            candidate = "".join([*parts[:i], part[j + 1 :] + "2" + part[:j], *parts[i + 1 :]])
            if candidate in model_names("translate"):
                return candidate
    return None


def class_names(name: str) -> list[str]:
    """Categories of a conditional generator; empty for unconditional ones or weights not at hand."""
    if not has_weights(name):
        return []
    try:
        return list(getattr(get_model(name), "class_names", []))
    except genrepair.ModelLoadError:
        return []


# ---------------------------------------------------------------- glue


def sentence(error) -> str:
    """An error's message as the app shows every message: a capital first (unless it starts with a file or model
    name, which keep their spelling) and a full stop at the end."""
    text = str(error).strip()
    first = text.split(" ", 1)[0]  # before the cache folder goes: a file's path keeps its name's spelling
    text = _without_cache_folder(text)
    if text[:1].islower() and not any(c in first for c in "./_"):
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _without_cache_folder(text: str) -> str:
    """``text`` with the server's upload cache folder taken off the file names in it (``/tmp/gradio/<hash>/photo.jpg``
    reads ``photo.jpg``): the user knows the file by its name, and the server's folders are none of their business."""
    root = re.escape(gr.utils.get_upload_folder().rstrip("/\\"))
    return re.sub(root + r"[/\\](?:[^/\\\s]+[/\\])*", "", text)


def friendly(fn):
    """Show bad input and model errors to the user as ``gr.Error``; the server keeps running."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except USER_ERRORS as e:
            raise gr.Error(sentence(e)) from e
        except Exception as e:
            if is_out_of_memory(e):
                raise gr.Error("Out of memory: try a smaller image.") from e
            raise

    return run


def held_slot(fn):
    """Run at most GENREPAIR_CONCURRENCY calls of ``fn`` at once, counted until the work ends. Gradio's own
    concurrency limit frees a slot when a job is cancelled (a closed tab, the client's ``cancel()``), but
    a Python thread cannot be stopped, so the cancelled work ran on beside the next job: a client could
    stack any number of heavy jobs. A new call now waits for the abandoned one to finish."""
    slot = _concurrency_slot()

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with slot():
            return fn(*args, **kwargs)

    return run


def _concurrency_slot():
    """A getter of one semaphore of GENREPAIR_CONCURRENCY places, made at the first call (settings are checked at
    start-up, not at import)."""
    slots: list[threading.BoundedSemaphore] = []
    making = threading.Lock()

    def get() -> threading.BoundedSemaphore:
        with making:
            if not slots:
                slots.append(threading.BoundedSemaphore(concurrency()))
        return slots[0]

    return get


def refused_when_busy(fn):
    """At most GENREPAIR_CONCURRENCY calls of an unqueued UI handler at once; one more is refused at once ("busy")
    rather than waiting. Unqueued handlers are outside Gradio's queue and its limits, and anyone can call them
    through /gradio_api/run/predict: six parallel Clear-mask calls on 20-megapixel pictures took 1.8 GB more."""
    slot = _concurrency_slot()

    @functools.wraps(fn)
    def run(*args, **kwargs):
        held = slot()
        if not held.acquire(blocking=False):
            raise gr.Error("The server is busy: try again in a moment.")
        try:
            return fn(*args, **kwargs)
        finally:
            held.release()

    return run


def concurrency() -> int:
    return env_int("GENREPAIR_CONCURRENCY", 1)


def check_settings() -> None:
    """Read every GENREPAIR_* number once at start-up: a bad one stops the server with its name (it used to
    surface on the first request, or as jobs queued forever with GENREPAIR_CONCURRENCY=0)."""
    concurrency()
    env_int("GENREPAIR_QUEUE_SIZE", 32)
    tile_size()
    max_pixels()
    max_bytes()
    max_file_size()
    auth()
    for name in ("GENREPAIR_SHARE", "GENREPAIR_PREFER_HUB", "GENREPAIR_ALLOW_ANY_REPO"):
        env_on(name)  # an on/off word
    pick_device()  # GENREPAIR_DEVICE, if set, names a usable device


def max_file_size() -> str:
    """GENREPAIR_MAX_FILE_SIZE: the upload limit Gradio enforces, a whole number and a unit (50mb, 1gb)."""
    value = os.environ.get("GENREPAIR_MAX_FILE_SIZE", "50mb")
    if not re.fullmatch(r"\s*\d+\s*[kmgt]?b\s*", value, flags=re.IGNORECASE):
        raise ValueError(
            f"GENREPAIR_MAX_FILE_SIZE must be a whole number and a unit such as 50mb or 1gb, got {value!r}"
        )
    return value


def auth() -> list[tuple[str, str]] | None:
    """GENREPAIR_AUTH="user:password" puts the app behind a login (a self-hosted server; on Spaces, make the
    Space private instead); GENREPAIR_AUTH_FILE names a file of such lines, one user each (blank lines and
    lines starting with # skipped), for several users. Everything after a line's first colon is the password."""
    entries = []
    value = os.environ.get("GENREPAIR_AUTH", "")
    if value:
        entries.append(("GENREPAIR_AUTH", value))
    path = os.environ.get("GENREPAIR_AUTH_FILE", "")
    if path:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise ValueError(f"GENREPAIR_AUTH_FILE: cannot read {path}: {e}") from None
        for n, line in enumerate(lines, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                entries.append((f"GENREPAIR_AUTH_FILE line {n}", line.rstrip("\r")))
        if not any(where != "GENREPAIR_AUTH" for where, _ in entries):
            raise ValueError(f"GENREPAIR_AUTH_FILE: {path} has no user:password line")
    users: dict[str, str] = {}
    for where, entry in entries:
        user, sep, password = entry.partition(":")
        if not (user and sep and password):
            raise ValueError(f'{where} must be "user:password"')
        if user in users:
            raise ValueError(f"{where}: user {user!r} is given twice")
        users[user] = password
    return list(users.items()) or None


def number(value, what: str) -> float:
    """A slider's or number box's value as a finite float. An emptied box arrives as None, and API callers
    can send anything (a string, True): each gets a message that names the setting."""
    if value is None:
        raise gr.Error(f"Enter a {what}: a number.")
    try:
        x = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x):
        raise gr.Error(f"The {what} must be a number, got {value!r}.")
    return x


def whole(value, what: str, minimum: int | None = None) -> int:
    """A number box's value as an int (see :func:`number`); ``minimum`` is said in the message."""
    if value is None:
        raise gr.Error(f"Enter a {what}: a whole number.")
    x = number(value, what)
    if x != int(x) or (minimum is not None and x < minimum):
        raise gr.Error(
            f"The {what} must be a whole number{'' if minimum is None else f' from {minimum}'}, got {value!r}."
        )
    return int(x)


def _plain(x: float) -> str:
    """A number as people write it: 2147483647, not 2.14748e+09; 0.05 as is; 1e+308, not its 309 digits."""
    return str(int(x)) if x == int(x) and abs(x) < 1e15 else f"{x:g}"


def flag(value, what: str) -> bool:
    """A checkbox's value: the browser sends true or false; an API caller's "false" (a string) was taken as ticked."""
    if value is None or isinstance(value, bool):
        return bool(value)
    raise gr.Error(f"The {what} setting must be true or false, got {str(value)[:80]!r}.")


def numeric(component, what: str, optional: bool = False):
    """``component`` (a slider or number box) with what an API caller sends checked first, with messages that
    name the setting: Gradio compares a string with the bounds (a bare "Error") and says "Value -3 is less
    than minimum value 0" without saying which value. None (an emptied number box, or any ``optional`` one)
    goes to the handler, which asks for it where it is needed."""
    inner = component.preprocess

    def preprocess(payload):
        if payload is None and (optional or isinstance(component, gr.Number)):
            return None
        x = number(payload, what)
        if getattr(component, "precision", None) == 0 and x != int(x):  # Gradio would round it: 1.5 became seed 2
            raise gr.Error(f"The {what} must be a whole number, got {_plain(x)}.")
        low, high = component.minimum, component.maximum
        if (low is not None and x < low) or (high is not None and x > high):
            if low is not None and high is not None:
                span = f"from {_plain(low)} to {_plain(high)}"
            else:
                span = f"at least {_plain(low)}" if high is None else f"at most {_plain(high)}"
            raise gr.Error(f"The {what} must be {span}, got {_plain(x)}.")
        return inner(x)

    # A session whose event updated the component (the Auto box greys the sigma slider, a model change hides
    # Truncation) gets a copy built by Gradio without this wrapper: Gradio's own checks apply there. The
    # browser sends valid numbers either way; the handlers check again (number, whole).
    component.preprocess = preprocess
    return component


def _served_roots() -> list[Path]:
    """Where the files a request may name lie: Gradio's upload folder, our outputs and the examples."""
    return [Path(gr.utils.get_upload_folder()).resolve(), OUT_DIR.resolve(), EXAMPLES]


def served(path) -> bool:
    """Whether ``path`` lies in a folder a request may name (``_served_roots``). A file payload sent without its
    "meta" field skips Gradio's own check, and the server's other files (pyproject.toml, anything in /tmp) came
    back as the "input" picture or as a download."""
    try:
        where = Path(str(path)).resolve()
    except (OSError, RuntimeError, ValueError):
        return False
    return any(where.is_relative_to(root) for root in _served_roots())


def _payload_paths(payload):
    parts = [payload, getattr(payload, "background", None), getattr(payload, "composite", None)]
    for part in parts + list(getattr(payload, "layers", None) or []):
        if path := getattr(part, "path", None):
            yield path


def _only_served_files(cls) -> None:
    """Refuse, for every instance of ``cls`` (also the copies Gradio rebuilds for a session after an example
    click, which lose what is set on an instance), a payload naming a file outside ``_served_roots``."""
    inner = cls.preprocess

    @functools.wraps(inner)
    def preprocess(self, payload):
        if payload is not None and any(not served(path) for path in _payload_paths(payload)):
            raise gr.Error(
                "A file in the request was not uploaded to this server: upload it first (POST /gradio_api/upload, "
                "or gradio_client's handle_file) and send the path that returns."
            )
        return inner(self, payload)

    cls.preprocess = preprocess


for _cls in (gr.Image, gr.ImageEditor):
    _only_served_files(_cls)


def readable(component):
    """``component`` (an image upload) with unreadable uploads turned into a clear message: Gradio opens an
    upload before our handlers run, and an unreadable one used to show only a bare "Error". Wrapped on the
    instance, not subclassed: Gradio writes a .pyi stub next to the source of every component subclass."""
    inner = component.preprocess

    def preprocess(payload):
        try:
            return inner(payload)
        except gr.Error:
            raise
        except Exception as e:  # the pixel limit (Pillow's own, over 179 MP) included
            raise gr.Error(_why_unreadable(payload)) from e

    component.preprocess = preprocess
    return component


def _why_unreadable(payload) -> str:
    """Why an upload cannot be opened, in the words our own reader uses everywhere else (the file's name and the
    reason: not an image, an SVG, a JPEG cut short, over the pixel limit), else a general message."""
    path = getattr(payload, "path", None) or getattr(getattr(payload, "background", None), "path", None)
    if path:
        try:
            open_image(path)
        except genrepair.ImageInputError as e:
            return sentence(e)
        except Exception:  # noqa: BLE001, S110 - whatever else failed, the general message below applies
            pass
    return f"The upload is not an image file that can be read ({READABLE} can be read)."


def upload_stem(path) -> str:
    """An upload's name without its extension, to name a download after it: leading dots dropped (``..png`` or
    ``.photo.jpg`` would download as a hidden file), ``image`` where no name is left, and cut to 150 bytes of UTF-8
    (a 250-byte name plus "-denoised.png" was over the 255 bytes a file name may have)."""
    stem = Path(str(path)).stem.lstrip(". ").rstrip()
    return stem.encode()[:150].decode(errors="ignore") or "image"


def files_or_none(img: Image.Image | None, stem: str) -> str | None:
    return None if img is None else save_png(img, stem)


def save_png(img: Image.Image, stem: str) -> str:
    """Outputs go to Gradio as files we wrote, never as PIL images: Gradio caches PIL outputs under a
    content hash and rewrites that file in place, so two identical results at once could cut a
    download short (seen under load). Outputs older than an hour are removed, in a sweep at most once a
    minute (a sweep per file made a busy server's requests slow down with its folder's size)."""
    global _last_sweep
    now = time.time()
    if now - _last_sweep > SWEEP_EVERY_S:
        _last_sweep = now
        for old in OUT_DIR.iterdir():
            with contextlib.suppress(OSError):
                if old.stat().st_mtime < now - KEEP_OUTPUTS_S:
                    shutil.rmtree(old, ignore_errors=True)
    path = Path(tempfile.mkdtemp(dir=OUT_DIR)) / f"{stem}.png"
    write_png(img, path)  # a 16-bit input's result at 16 bits
    return str(path)


def grid(images: list[Image.Image], columns: int | None = None) -> Image.Image:
    columns = columns or math.ceil(math.sqrt(len(images)))
    w, h = images[0].size
    sheet = Image.new("RGB", (columns * w, math.ceil(len(images) / columns) * h), "white")
    for i, img in enumerate(images):
        sheet.paste(img.convert("RGB"), ((i % columns) * w, (i // columns) * h))
    return sheet


def example(name: str) -> str:
    return str(EXAMPLES / name)


def test_split_examples(per_model: int = 2) -> list[list[str]]:
    """Translate examples from the emoji test split when the data folder is here (GENREPAIR_DATA or
    ../shared/data; on a Space it is not): copied to a temp folder at start-up, never into the repo."""
    root = Path(os.environ.get("GENREPAIR_DATA", Path(__file__).resolve().parent.parent / "shared" / "data"))
    try:
        with open(root / "emoji" / "splits.csv", newline="") as f:
            test = sorted(r["key"] for r in csv.DictReader(f) if r["split"] == "test")
    except OSError:
        return []
    out, folder = [], Path(tempfile.mkdtemp(prefix="genrepair-examples-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for name in model_names("translate"):
        try:
            domain = genrepair.hub.read_config(weights_dir() / name).get("source_domain")
        except genrepair.ModelLoadError:
            continue
        if not isinstance(domain, str) or not domain.isidentifier():  # a plain folder name under emoji/
            continue
        keys = [k for k in test[::23] if (root / "emoji" / domain / f"{k}.png").is_file()][:per_model]
        for k in keys:
            dst = folder / f"{domain}-{k}.png"
            shutil.copyfile(root / "emoji" / domain / f"{k}.png", dst)
            out.append([name, str(dst)])
    return out


def rgb8(img: Image.Image) -> np.ndarray:
    """Any image as uint8 RGB, transparency flattened onto white."""
    return (composite_on(decode(img)) * 255 + 0.5).astype(np.uint8)


def pixels8(img: Image.Image) -> np.ndarray:
    """An image as uint8 HxW for a gray one (8 or 16-bit), else HxWx3 BGR for OpenCV; transparency on white."""
    d = decode(img)
    u8 = (composite_on(d) * 255 + 0.5).astype(np.uint8)
    return u8[..., 0] if d.gray else cv2.cvtColor(u8, cv2.COLOR_RGB2BGR)


def from_pixels8(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(arr if arr.ndim == 2 else cv2.cvtColor(arr, cv2.COLOR_BGR2RGB))


def require_image(image) -> Image.Image:
    if image is None:
        raise gr.Error("Upload an image first.")
    return open_image(image)


def as_shown(img: Image.Image) -> Image.Image:
    """An upload as the pipelines see it, for the "before" view: EXIF rotation applied, modes PNG cannot
    hold (CMYK, float) converted. The pipelines still get the original file (a JPEG's own blocks matter)."""
    d = decode(img)
    return encode(d.pixels, d.alpha, d.high_bit, d.icc, d.colour)


def label_arg(label: str | None) -> str | None:
    if label is not None and not isinstance(label, str):
        raise gr.Error(f"The category must be one of the list's names, got {str(label)[:80]!r}.")
    return None if label in (None, "", "random") else label


def truncation_arg(truncation) -> float:
    """The truncation slider: 0 (or left out) is off."""
    value = 0.0 if truncation is None else number(truncation, "truncation")
    return value if value > 0 else 1e9


def add_noise(img: Image.Image, sigma: float, seed: int) -> Image.Image:
    """Additive white Gaussian noise, ``sigma`` on the 0-255 scale; alpha is kept."""
    d = decode(img)
    noise = np.random.default_rng(int(seed)).normal(0, sigma / 255, d.pixels.shape)
    return encode(d.pixels + noise, d.alpha, d.high_bit, d.icc, d.colour)


def opencv_denoise(img: Image.Image, sigma: float) -> Image.Image:
    """Classical baseline: OpenCV non-local means, filter strength sigma / 2 (the best of 0.4-1.0 x sigma
    on the landscape example at sigma 10, 25 and 50)."""
    arr = pixels8(img)
    h = max(0.5 * float(sigma), 1.0)
    if arr.ndim == 2:  # a gray image stays gray
        return carry_colour(from_pixels8(cv2.fastNlMeansDenoising(arr, None, h, 7, 21)), img)
    return carry_colour(from_pixels8(cv2.fastNlMeansDenoisingColored(arr, None, h, h, 7, 21)), img)


def opencv_inpaint(img: Image.Image, hole: np.ndarray) -> Image.Image:
    """Classical baseline: OpenCV's fast-marching (Telea) inpainting."""
    return carry_colour(from_pixels8(cv2.inpaint(pixels8(img), hole.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)), img)


def strokes(layer, size: tuple[int, int], name: str = "Mask") -> np.ndarray:
    """Where an editor layer is painted, as bool HxW at the image's size: alpha > 0 (brush strokes on a clear
    layer). A layer with no transparency (an API caller's black-and-white mask image) is read as mask files
    are (white = painted), not as painted all over. A layer of the image's shape at another scale is scaled
    to it; one of another shape cannot be placed and is refused."""
    img = open_image(layer)
    alpha = np.asarray(img.convert("RGBA").getchannel("A")) if img.mode in ("RGBA", "LA", "PA", "P") else None
    painted = alpha > 0 if alpha is not None and alpha.min() < 255 else read_mask(img, f"{name} layer")
    h, w = painted.shape
    if not same_shape((w, h), size):  # not the image's shape at some scale
        raise gr.Error(f"The {name} layer is {w}x{h} but the image is {size[0]}x{size[1]}; they must match.")
    return fit_mask(painted, size, f"{name} layer")


def uploaded_mask(mask) -> np.ndarray:
    """A mask file as bool HxW, True = hole, read as the library reads masks (genrepair.pipelines.read_mask)."""
    return read_mask(mask)


def bool_image(a: np.ndarray) -> Image.Image:
    return Image.fromarray(a.astype(np.uint8) * 255)


def mark_hole(img: Image.Image, hole: np.ndarray) -> Image.Image:
    """The "before" view of inpainting: the hole tinted in the brush colour."""
    rgb = rgb8(img).astype(np.float32)
    rgb[hole] = 0.35 * rgb[hole] + 0.65 * HOLE_RGB
    return carry_colour(Image.fromarray(rgb.astype(np.uint8)), img)


# ---------------------------------------------------------------- generate


@gpu
@friendly
def generate_on_gpu(model_name: str, n: int, seed: int, label, truncation) -> list[Image.Image]:
    """The model's part of Generate, the only part that books a ZeroGPU slot (see ``denoise_on_gpu``)."""
    return genrepair.generate(get_model(model_name), n, seed, label=label, truncation=truncation)


@gpu
@friendly
def interpolate_on_gpu(model_name: str, seed_a: int, seed_b: int, steps: int, label, truncation) -> list[Image.Image]:
    """The model's part of an interpolation (see ``denoise_on_gpu``)."""
    model = get_model(model_name)
    return genrepair.interpolate(model, seed_a, seed_b, steps, label=label, truncation=truncation)


@held_slot
@friendly
def run_generate(model_name, n, seed, label, truncation, progress=gr.Progress()):
    n, seed = whole(n, "number of images"), whole(seed, "seed")
    label, truncation = label_arg(label), truncation_arg(truncation)
    progress(0.1, desc=f"Sampling {n} images with {model_name}")
    images = generate_on_gpu(model_name, n, seed, label, truncation)
    files = [save_png(im, f"{model_name}-seed{seed}-{i:02d}") for i, im in enumerate(images)]
    return files, save_png(grid(images), f"{model_name}-seed{seed}")


@held_slot
@friendly
def run_interpolate(model_name, seed_a, seed_b, steps, label, truncation, progress=gr.Progress()):
    seed_a, seed_b, steps = whole(seed_a, "first seed"), whole(seed_b, "second seed"), whole(steps, "number of steps")
    label, truncation = label_arg(label), truncation_arg(truncation)
    progress(0.1, desc=f"Walking the latent space of {model_name}")
    images = interpolate_on_gpu(model_name, seed_a, seed_b, steps, label, truncation)
    strip = grid(images, columns=min(len(images), STRIP_COLUMNS))
    path = save_png(strip, f"{model_name}-{seed_a}-to-{seed_b}")
    return path, path


def on_generator_change(model_name):
    names = class_names(model_name)
    label = gr.Dropdown(choices=["random", *names], value="random", visible=bool(names))
    # the procedural baselines have no latent vector to truncate
    return label, gr.Slider(visible=not is_classic(model_name)), model_note(model_name)


NO_SAMPLE = "Click a sample to download it alone"


def pick_sample(gallery, evt: gr.SelectData):
    """Offer the clicked sample alone as a download (the gallery holds PNG files)."""
    picked = isinstance(evt.index, int) and 0 <= evt.index < len(gallery or [])
    if not picked or not served(gallery[evt.index][0]):  # served: a hand-made request may name a server file
        return no_sample()[0]
    return gr.DownloadButton(f"Download sample {evt.index + 1} (PNG)", value=gallery[evt.index][0], interactive=True)


def no_sample():
    """The sample download with nothing selected: disabled, saying how to pick one; the gallery's preview closed
    (after a new run it kept a highlighted sample that no click had chosen, and the button offered nothing)."""
    return gr.DownloadButton(NO_SAMPLE, value=None, interactive=False), gr.Gallery(selected_index=None)


def build_generate_tab() -> tuple[gr.Dropdown, gr.Markdown]:
    model0 = default_model("generate")
    with gr.Row():
        with gr.Column(scale=1):
            model = gr.Dropdown(model_names("generate"), value=model0, label="Model")
            note = gr.Markdown()  # filled on each page load (weights may appear) and on a model change
            n = numeric(gr.Slider(1, 64, value=16, step=1, label="Number of images"), "number of images")
            with gr.Row():
                seed = numeric(gr.Number(0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed", scale=3), "seed")
                dice = gr.Button("🎲 Random seed", scale=1)
            names = class_names(model0)
            label = gr.Dropdown(
                ["random", *names], value="random", label="Category", visible=bool(names), allow_custom_value=True
            )
            truncation = numeric(
                gr.Slider(
                    0,
                    3,
                    value=0,
                    step=0.05,
                    label="Truncation",
                    info="Limit |z| for cleaner, less varied samples; 0 = off",
                    visible=not is_classic(model0),
                ),
                "truncation",
                optional=True,  # 0 or left out: off
            )
            go = gr.Button("Generate", variant="primary")
        with gr.Column(scale=2):
            gallery = gr.Gallery(
                label="Samples",
                columns=4,
                format="png",
                object_fit="contain",
                height="auto",
                interactive=False,
                elem_classes="pixels",
            )
            with gr.Row():
                grid_file = gr.File(label="All samples as one PNG", interactive=False)
                one_file = gr.DownloadButton(NO_SAMPLE, value=None, interactive=False)
            with gr.Accordion("Interpolate between two seeds", open=False):
                gr.Markdown("Walks from the seed above to a second seed (learned models only).")
                with gr.Row():
                    seed_b = numeric(
                        gr.Number(1, precision=0, minimum=0, maximum=2**31 - 1, label="Second seed"), "second seed"
                    )
                    steps = numeric(gr.Slider(2, 32, value=8, step=1, label="Steps"), "number of steps")
                go_lerp = gr.Button("Interpolate")
                strip = gr.Image(
                    label="Interpolation", type="pil", format="png", interactive=False, elem_classes="pixels"
                )
                strip_file = gr.File(label="Strip as PNG", interactive=False)
    gr.Examples(
        [["gan.emoji", 16, 7, 0], ["gan.emoji", 16, 7, 1.0], ["vae.emoji", 16, 3, 0], ["classic.lsystem", 9, 1, 0]],
        inputs=[model, n, seed, truncation],
    )
    model.change(on_generator_change, model, [label, truncation, note], **UI_ONLY)
    dice.click(lambda: random.randint(0, 2**31 - 1), None, seed, **UI_ONLY)
    go.click(run_generate, [model, n, seed, label, truncation], [gallery, grid_file], api_name="generate")
    gallery.select(pick_sample, gallery, one_file, **UI_ONLY)
    for event in (go.click, model.change):  # a new run or model: the old selection is not offered any more
        event(no_sample, None, [one_file, gallery], **UI_ONLY)
    go_lerp.click(
        run_interpolate, [model, seed, seed_b, steps, label, truncation], [strip, strip_file], api_name="interpolate"
    )
    return model, note


# ---------------------------------------------------------------- translate


@gpu
@friendly
def translate_on_gpu(model_name: str, src, passes: int, back_name: str | None):
    """The models' part of a translation and its round trip (``back_name``, None for none), the only part that
    books a ZeroGPU slot (see ``denoise_on_gpu``)."""
    out = genrepair.translate(get_model(model_name), src, ensemble=passes)
    back = genrepair.translate(get_model(back_name), out, ensemble=passes) if back_name else None
    return out, back


@held_slot
@friendly
def run_translate(model_name, image, mirror=False, progress=gr.Progress()):
    src = require_image(image)
    passes = 2 if flag(mirror, "mirror average") else 1
    back_name = reverse_model(model_name)
    back_name = back_name if back_name and has_weights(back_name) else None
    progress(0.1, desc=f"Translating with {model_name}" + (f", round trip with {back_name}" if back_name else ""))
    # the file itself, as for Denoise: an opened PNG does not survive the pickling to a ZeroGPU worker
    source = image if isinstance(image, str | os.PathLike) else src
    out, back = translate_on_gpu(model_name, source, passes, back_name)
    if back_name:
        note = f"Translated by **{model_name}**; the round trip A→B→A uses **{back_name}**."
    else:
        note = f"Translated by **{model_name}**. No reverse model is available here, so no round trip."
    if mirror:
        note += " Each output is the average of the image's and its mirror's translation."
    out_file = save_png(out, f"{model_name}-{upload_stem(image)}")
    return (save_png(as_shown(src), "input"), out_file), files_or_none(back, "round-trip"), out_file, note


def reverse_direction(name: str, output: str | None):
    """The reverse model, and the last output as the new input, as a translator's swap button does (the
    output is in the reverse model's source style); without an output, or with one another model made (picked
    since without a run: its output is in another style), the input stays."""
    back = reverse_model(name)
    if back is None:  # the button is greyed out then
        return gr.skip(), gr.skip()
    made_here = output is not None and Path(output).name.startswith(f"{name}-")  # run_translate names it so
    return back, output if made_here else gr.skip()


def build_translate_tab() -> tuple[gr.Dropdown, gr.Markdown]:
    model0 = default_model("translate")
    with gr.Row():
        with gr.Column(scale=1):
            with gr.Row():
                model = gr.Dropdown(model_names("translate"), value=model0, label="Model (direction A2B)", scale=3)
                swap = gr.Button("⇄ Reverse direction", scale=1, interactive=reverse_model(model0) is not None)
            note = gr.Markdown()  # filled on each page load (weights may appear) and on a model change
            image = readable(gr.Image(type="filepath", image_mode=None, format="png", label="Input image"))
            mirror = gr.Checkbox(False, label="Average with the mirrored image (cleaner, 2x the time)")
            go = gr.Button("Translate", variant="primary")
        with gr.Column(scale=2):
            with gr.Row():
                compare = gr.ImageSlider(label="Input | output", image_mode=None, format="png", interactive=False)
                round_trip = gr.Image(label="Round trip A→B→A", format="png", interactive=False)
            out_file = gr.File(label="Output, full resolution (PNG)", interactive=False)
            info = gr.Markdown()
    gr.Examples(
        [["cyclegan.flat2fluent3d", example("smiley_flat.png")],
         ["cyclegan.fluent3d2flat", example("smiley_shaded.png")]] + test_split_examples(),
        inputs=[model, image],
        label="Examples (our drawings, then emoji from the test split when ../shared/data is present)",
    )  # fmt: skip
    model.change(model_note, model, note, **UI_ONLY)
    model.change(lambda name: gr.Button(interactive=reverse_model(name) is not None), model, swap, **UI_ONLY)
    swap.click(reverse_direction, [model, out_file], [model, image], **UI_ONLY)
    go.click(None, None, info, js=CLEAR, **UI_ONLY)  # a run that fails leaves no note about the last picture
    go.click(run_translate, [model, image, mirror], [compare, round_trip, out_file, info], api_name="translate")
    return model, note


# ---------------------------------------------------------------- denoise


@gpu
@friendly
def denoise_on_gpu(model_name: str, noisy, sigma, best: bool) -> tuple[Image.Image, bool]:
    """The model's part of a denoise, the only part that books a ZeroGPU slot (60 s by default): the OpenCV
    comparison, which runs on the CPU and takes longer on big pictures, and the PNG writing stay outside."""
    model = get_model(model_name)
    out = genrepair.denoise(model, noisy, sigma=sigma, ensemble=8 if best else 1)
    return out, bool(getattr(model, "blind", False))


@held_slot
@friendly
def run_denoise(
    model_name, image, sigma, auto, add_noise_sigma, noise_seed, compare_opencv, best=False, progress=gr.Progress()
):
    noisy = require_image(image)
    auto, compare_opencv, best = (
        flag(auto, "Auto"),
        flag(compare_opencv, "OpenCV comparison"),
        flag(best, "Best quality"),
    )
    if not auto and sigma is None:
        raise gr.Error("Set the noise level σ, or tick Auto.")
    sigma = None if auto else number(sigma, "noise level σ")
    add_noise_sigma = 0.0 if add_noise_sigma is None else number(add_noise_sigma, "synthetic noise σ")
    if add_noise_sigma > 0:
        noise_seed = whole(0 if noise_seed is None else noise_seed, "noise seed", minimum=0)
        noisy = add_noise(noisy, add_noise_sigma, noise_seed)
    progress(0.2, desc=f"Denoising with {model_name}")
    # the file itself when it is what is denoised: an Image pickled to a ZeroGPU worker loses the JPEG tables
    # that the automatic noise level reads
    source = noisy if add_noise_sigma > 0 or not isinstance(image, str | os.PathLike) else image
    out, blind = denoise_on_gpu(model_name, source, sigma, bool(best))
    used = out.info["genrepair_sigma"]
    how = "estimated from the image" if auto else "set by hand"
    if out.info.get("genrepair_sigma_unmeasured"):
        how = f"the picture, {out.width}×{out.height} px, is too small to estimate the noise from: set σ by hand"
    if blind:
        how += "; this model is blind and does not use it"
    note = f"Denoised by **{model_name}**; noise level used: **σ = {used:.1f}** ({how})"
    if out.info.get("genrepair_unchanged") and not out.info.get("genrepair_sigma_unmeasured"):
        note = (
            f"Nothing to remove: the noise level reads **σ = {used:.1f}** (estimated from the image), under one "
            "level, so the picture is returned as it is (untick Auto and set σ to denoise it anyway)"
            if auto
            else "Nothing to remove at **σ = 0** (set by hand): the picture is returned as it is"
        )
    if best and not out.info.get("genrepair_unchanged"):
        note += "; average of 8 flipped/rotated passes"
    if add_noise_sigma > 0:
        note += f". Synthetic noise added first: σ = {add_noise_sigma:g}, seed {noise_seed}"
    if grain := out.info.get("genrepair_sigma_shared"):  # automatic mode, a model that takes a level
        note += (
            f". The picture also shows grain its colour channels share (a camera's luma noise, film grain), which "
            f"reads σ ≈ {grain:.0f} and which the automatic level leaves, since it cannot tell such grain from fine "
            f"grey texture: if the result still looks grainy, untick Auto and try σ = {grain:.0f} or a little less"
        )
    baseline = None
    if compare_opencv:
        progress(0.7, desc="OpenCV non-local means")
        baseline = opencv_denoise(noisy, used)
    out_file = save_png(out, f"{upload_stem(image)}-denoised")
    shown = round(min(max(used, 0.0), 75.0)) if auto else sigma  # the greyed slider shows the estimate
    return (
        (save_png(as_shown(noisy), "input"), out_file),
        files_or_none(baseline, "opencv"),
        out_file,
        note + ".",
        shown,
    )


DENOISERS = {"color": "denoise.color", "gray": "denoise.gray"}


def picture_is_gray(path: str) -> bool:
    """Gray mode, or RGB with three equal channels, judged on a 512 px thumbnail (a filter applied to equal
    channels keeps them equal; a picture whose colour differences vanish in the thumbnail counts as gray, and a
    gray model then denoises its channels one by one). JPEGs are decoded at a reduced scale; other formats in full."""
    check_file(path)  # the pixel and byte limits, from the header
    with Image.open(path) as img:
        if img.mode in ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
            return True
        img.draft("RGB", (512, 512))  # JPEG: decode at a reduced scale
        img.thumbnail((512, 512))  # no EXIF rotation: it does not change whether the picture is gray
        rgba = np.asarray(img.convert("RGBA"), np.float32) / 255.0
        return looks_gray_pixels(rgba[..., :3], rgba[..., 3] > 0)  # as the denoiser judges it, on what shows


def match_denoiser(model_name: str, image: str | dict | None):
    """On upload, switch between the registry's color and gray denoisers to fit the picture (a color model loses
    0.4-5 dB on gray pictures); another model the user picked is left alone, as is the choice after this.
    ``image``: a path, or the upload's raw file data (a dict with its path)."""
    image = image.get("path") if isinstance(image, dict) else image
    if image is None or model_name not in DENOISERS.values() or not served(image):  # no probing of server files
        return gr.Dropdown()
    try:
        kind = "gray" if picture_is_gray(image) else "color"
    except (OSError, ValueError):  # unreadable or too large: the run says why
        return gr.Dropdown()
    name = DENOISERS[kind]
    return gr.Dropdown(choices=model_names("denoise"), value=name) if has_weights(name) else gr.Dropdown()


def build_denoise_tab() -> tuple[gr.Dropdown, gr.Markdown]:
    model0 = default_model("denoise")
    with gr.Row():
        with gr.Column(scale=1):
            model = gr.Dropdown(model_names("denoise"), value=model0, label="Model")
            note = gr.Markdown()  # filled on each page load (weights may appear) and on a model change
            image = readable(
                gr.Image(type="filepath", image_mode=None, format="png", label="Noisy image (or a clean one)")
            )
            with gr.Row():
                auto = gr.Checkbox(True, label="Auto noise level")
                sigma = numeric(
                    gr.Slider(0, 75, value=25, step=1, label="Noise level σ (0-255)", interactive=False),
                    "noise level σ",
                    optional=True,  # not needed with Auto
                )
            with gr.Accordion("Add synthetic noise to a clean image first", open=False):
                add_sigma = numeric(
                    gr.Slider(0, 75, value=0, step=1, label="Gaussian noise σ to add (0 = none)"), "synthetic noise σ"
                )
                noise_seed = numeric(
                    gr.Number(0, precision=0, minimum=0, maximum=2**31 - 1, label="Noise seed"), "noise seed"
                )
            best = gr.Checkbox(False, label="Best quality: average 8 flipped/rotated passes (8x the time)")
            compare_opencv = gr.Checkbox(False, label="Also run OpenCV non-local means (slow on big images)")
            go = gr.Button("Denoise", variant="primary")
        with gr.Column(scale=2):
            compare = gr.ImageSlider(label="Noisy | denoised", image_mode=None, format="png", interactive=False)
            info = gr.Markdown()
            baseline = gr.Image(label="OpenCV non-local means", format="png", interactive=False, visible=False)
            out_file = gr.File(label="Denoised, full resolution (PNG)", interactive=False)
    gr.Examples(
        [["denoise.color", example("landscape_noisy25.png"), 25, True, 0],
         ["denoise.color", example("landscape.png"), 25, True, 25]],
        inputs=[model, image, sigma, auto, add_sigma],
    )  # fmt: skip
    model.change(model_note, model, note, **UI_ONLY)
    auto.change(lambda a: gr.Slider(interactive=not a), auto, sigma, **UI_ONLY)
    image.upload(lambda: 0, None, add_sigma, **UI_ONLY)  # an example's synthetic noise is not kept for a new upload
    # the raw upload (preprocess=False): an unreadable file is reported once, by the run, not also here
    image.upload(match_denoiser, [model, image], model, preprocess=False, **UI_ONLY)
    compare_opencv.change(lambda c: gr.Image(visible=c), compare_opencv, baseline, **UI_ONLY)
    go.click(None, None, info, js=CLEAR, **UI_ONLY)  # a run that fails leaves no note about the last picture
    go.click(
        run_denoise,
        [model, image, sigma, auto, add_sigma, noise_seed, compare_opencv, best],
        [compare, baseline, out_file, info, sigma],
        api_name="denoise",
        show_progress_on=[compare, baseline, out_file, info],  # a failed run marks these, not the σ input
    )
    return model, note


# ---------------------------------------------------------------- inpaint


CANVAS_EXPORT = "background.png"  # the name the browser's editor gives its 8-bit RGBA export of the image
MAX_LAYERS = 4  # the Mask and Sketch layers, and room for a stray one; each is a full-size image


def _check_editor_files(payload) -> None:
    """Every file of an editor request (background, composite, layers) within the pixel limit, read from its
    header before Gradio decodes it: a small PNG of 165 megapixels sent as six layers took the server from 0.4
    to 4.4 GB before the limit refused it."""
    layers = list(getattr(payload, "layers", None) or [])
    if len(layers) > MAX_LAYERS:
        raise gr.Error(f"Too many layers ({len(layers)}): the Inpaint tab uses {MAX_LAYERS} at most.")
    for part in [getattr(payload, "background", None), getattr(payload, "composite", None), *layers]:
        path = getattr(part, "path", None)
        if path is None:
            continue
        try:
            check_file(path)
        except genrepair.ImageInputError as e:
            raise gr.Error(sentence(e)) from e


def _canvas_export(background) -> bool:
    """The browser editor's own export of the image: named ``background.png`` and 8-bit RGBA. A user's file of that
    name in another mode (16-bit, gray with alpha) is the uploaded file itself and keeps its depth."""
    if getattr(background, "orig_name", None) != CANVAS_EXPORT:
        return False
    try:
        with Image.open(background.path) as img:  # the header only (checked against the limits just before)
            return img.mode == "RGBA"
    except OSError:  # not an image: the path branch reports it as the other tabs do
        return False


def max_blob_requests() -> int:
    """Requests whose editor uploads are kept until they run (each a few canvas PNGs), the oldest dropped past it:
    twice the queue's size and some, so a request waiting its turn in a full queue keeps its files."""
    return 2 * env_int("GENREPAIR_QUEUE_SIZE", 32) + 8


def guarded_blobs(editor: gr.ImageEditor) -> gr.ImageEditor:
    """The browser's editor sends its canvas as separate uploads to Gradio's ``accept_blobs`` (under a request
    id), then runs the request with only that id: :func:`_check_editor_files` never saw those files. Each one is
    checked here as it arrives, from its header (the pixel and byte limits; a 60 MP blank PNG of 251 KB was
    decoded first and held 570 MB), layers past the tab's few are refused (Gradio padded its list up to any
    index sent: 153 MB for index 20000000), and requests that never run are dropped, the oldest first. A refusal
    is said when the request runs (:func:`original_background`), where the browser shows messages."""
    inner = editor.accept_blobs

    def accept_blobs(data):
        fields = getattr(data, "data", None)
        fields = fields if isinstance(fields, dict) else {}  # the form's fields: id, type, index
        request = str(fields.get("id", ""))
        try:
            kind, index = fields.get("type"), fields.get("index")
            if kind not in ("background", "layer", "composite"):
                raise gr.Error(f"Unknown editor upload {str(kind)[:40]!r}.")
            if kind == "layer" and not (str(index).isdigit() and int(index) < MAX_LAYERS):
                raise gr.Error(f"Too many layers (layer {index}): the Inpaint tab uses {MAX_LAYERS} at most.")
            name, blob = data.files[0]
            check_file(bytes(blob), Path(str(name)).name or kind)
        except genrepair.ImageInputError as e:
            _refuse_blobs(editor, request, sentence(e))
            return None
        except gr.Error as e:
            _refuse_blobs(editor, request, sentence(e.message))
            return None
        except (AttributeError, IndexError, TypeError, ValueError) as e:
            _refuse_blobs(editor, request, f"The editor's upload could not be read ({type(e).__name__}).")
            return None
        with _BLOBS_LOCK:  # uploads arrive on several threads at once
            storage = editor.blob_storage
            while len(storage) >= max_blob_requests() and request not in storage:
                storage.pop(next(iter(storage)))  # the oldest request that never ran
            out = inner(data)
            # and bytes: 72 requests of 6 files of up to 50 MiB each could be held (a client that never ran them
            # grew the server by 1.8 GB); past the files of one full request, the oldest others go
            while sum(map(_blob_bytes, storage.values())) > MAX_LAYERS * max_bytes() and len(storage) > 1:
                storage.pop(next(k for k in storage if k != request))
            return out

    accept_blobs._is_server_fn = True  # what Gradio's component server calls
    editor.accept_blobs = accept_blobs
    return editor


def _blob_bytes(entry) -> int:
    """The bytes one request's editor uploads hold (Gradio's EditorDataBlobs)."""
    files = (getattr(entry, "background", None), getattr(entry, "composite", None), *getattr(entry, "layers", []))
    return sum(len(f) for f in files if f)


_REFUSED_BLOBS: dict[str, str] = {}  # request id -> why its editor uploads were refused (said when it runs)
_BLOBS_LOCK = threading.Lock()


def _refuse_blobs(editor: gr.ImageEditor, request: str, why: str) -> None:
    with _BLOBS_LOCK:
        editor.blob_storage.pop(request, None)
        while len(_REFUSED_BLOBS) >= max_blob_requests():
            _REFUSED_BLOBS.pop(next(iter(_REFUSED_BLOBS)))
        _REFUSED_BLOBS[request] = why


def original_background(editor: gr.ImageEditor) -> gr.ImageEditor:
    """Hand the handler the uploaded background file itself (its path) when the request carries one (API
    calls, examples), instead of Gradio's copy converted to 8-bit RGBA: 16-bit and float images, gray
    with alpha and the pixel limit (checked from the header, before decoding) then work as in the other
    tabs. The browser's canvas sends its own 8-bit RGBA export, named ``background.png``, with no id: it
    still goes through the conversion, so that :func:`editor_image` gives an opaque upload back as RGB (or
    gray) instead of keeping the canvas's alpha channel.
    Every file of the request is checked against the limits first (:func:`_check_editor_files`)."""
    inner = editor.preprocess

    def preprocess(payload):
        if (request := getattr(payload, "id", None)) is not None and (why := _REFUSED_BLOBS.pop(str(request), None)):
            raise gr.Error(why)
        if request is not None and request not in editor.blob_storage:  # Gradio would read nothing for the id
            if getattr(payload, "background", None) is None:
                raise gr.Error("The editor's image did not reach the server (too many at once?): press Inpaint again.")
            payload = payload.model_copy(update={"id": None})  # an API caller's files, sent with a stray id
        if payload is not None:
            _check_editor_files(payload)
        background = getattr(payload, "background", None)
        path = getattr(background, "path", None)
        if path is None or getattr(payload, "id", None) is not None or _canvas_export(background):
            return inner(payload)
        with Image.open(path):  # the header only: a file that is no image fails here, as in the other tabs
            pass
        value = inner(payload.model_copy(update={"background": None}))
        value["background"] = path
        return value

    editor.preprocess = preprocess
    return editor


def editor_image(editor: dict | None) -> Image.Image:
    if not editor or editor.get("background") is None:
        # the browser's editor drops a file it cannot show (damaged, or not an image) without a word
        raise gr.Error(
            "Upload an image first. If you did and the editor still says 'Upload an image', your browser could not "
            "open the file: it is damaged or not an image (PNG, JPEG, WebP, BMP or GIF open in every browser)."
        )
    img = open_image(editor["background"])
    img = upright(img)  # as the pipeline will see it, so masks drawn for it fit
    if not isinstance(editor["background"], Image.Image):
        return img  # the uploaded file itself (original_background)
    if img.mode == "RGBA" and img.getextrema()[3][0] == 255:
        img = img.convert("RGB")  # the editor hands every upload over as RGBA
    if img.mode == "RGB" and is_gray(np.asarray(img)):
        img = img.convert("L")  # a gray upload comes back gray, as from the other tabs and the CLI
    return img


@gpu
@friendly
def inpaint_on_gpu(model_name: str, img: Image.Image, hole: Image.Image, sketch, best: bool) -> Image.Image:
    """The model's part of an inpaint, the only part that books a ZeroGPU slot (see ``denoise_on_gpu``)."""
    return genrepair.inpaint(get_model(model_name), img, hole, sketch, ensemble=8 if best else 1)


@held_slot
@friendly
def run_inpaint(
    model_name, editor, mask=None, invert_mask=False, compare_opencv=False, best=False, progress=gr.Progress()
):
    invert_mask, compare_opencv = flag(invert_mask, "Invert mask"), flag(compare_opencv, "OpenCV comparison")
    best = flag(best, "Best quality")
    img = editor_image(editor)
    given = (editor.get("layers") or [])[:2]  # the Mask and Sketch layers, by position; others are not used
    layers = [
        None if x is None else strokes(x, img.size, name) for x, name in zip(given, ("Mask", "Sketch"), strict=False)
    ]
    hole = np.zeros((img.height, img.width), bool)
    painted = bool(layers and layers[0] is not None and layers[0].any())
    if painted:
        hole = layers[0].copy()
    left_out = scaled = None
    if mask is not None:  # an uploaded mask file, with whatever is painted on the Mask layer too
        uploaded = uploaded_mask(mask)
        h, w = uploaded.shape
        if same_shape((w, h), img.size):  # the picture's shape (at another scale: scaled)
            hole |= fit_mask(uploaded, img.size, "uploaded mask")
            scaled = f"{w}x{h}" if (w, h) != img.size else None
        elif painted:  # another picture's mask (an example's, say), left in its box: the strokes are the mask
            left_out = f"{w}x{h}"
        else:
            raise gr.Error(
                f"The uploaded mask is {w}x{h} but the image is {img.width}x{img.height}; upload a mask of the "
                "image's shape, or remove it (× in 'Or upload a mask') and paint the Mask layer."
            )
    hole = ~hole if invert_mask else hole
    if not hole.any():
        raise gr.Error("The mask is empty: paint the area to fill on the Mask layer, or upload a mask (white = hole).")
    sketch = layers[1] if len(layers) > 1 and layers[1] is not None and (layers[1] & hole).any() else None
    progress(0.2, desc=f"Filling the hole with {model_name}")
    out = inpaint_on_gpu(model_name, img, bool_image(hole), None if sketch is None else bool_image(sketch), bool(best))
    note = f"**{model_name}** filled {int(hole.sum())} pixels ({100 * hole.mean():.1f}% of the image)"
    note += ", guided by the sketch layer" if sketch is not None else ""
    if left_out:
        note += f", from the painted Mask layer (the uploaded mask, {left_out}, is another picture's shape: left out)"
    elif mask is not None:
        note += ", from the uploaded mask file" + (f" (scaled from {scaled})" if scaled else "")
        note += " and the painted Mask layer" if painted else ""
    note += " (average of 8 flipped/rotated passes)." if best else "."
    baseline = opencv_inpaint(img, hole) if compare_opencv else None
    bg = editor["background"]  # a file's path where the request sent one (API calls), else the browser's canvas
    out_file = save_png(out, f"{upload_stem(bg)}-inpainted" if isinstance(bg, str | Path) else "inpainted")
    return (save_png(mark_hole(img, hole), "hole"), out_file), files_or_none(baseline, "opencv"), out_file, note


@refused_when_busy
@friendly
def clear_mask(editor: dict | None):
    """Empty the Mask layer (the Sketch layer stays) and drop an uploaded mask. A Sketch layer not of the picture's
    shape (only a hand-made request sends one) is dropped, not stretched over the picture."""
    if not editor or editor.get("background") is None:
        return editor, None
    bg = open_image(editor["background"]).convert("RGBA")
    given = [open_image(x) for x in (editor.get("layers") or [])[1:2] if x is not None]
    sketch = [x.convert("RGBA").resize(bg.size) for x in given if same_shape(x.size, bg.size)]
    layers = [Image.new("RGBA", bg.size, (0, 0, 0, 0)), *sketch]
    composite = Image.alpha_composite(bg, sketch[0]) if sketch else bg
    return {"background": bg, "layers": layers, "composite": composite}, None


def build_inpaint_tab() -> tuple[gr.Dropdown, gr.Markdown]:
    model0 = default_model("inpaint")
    with gr.Row():
        with gr.Column(scale=1):
            model = gr.Dropdown(model_names("inpaint"), value=model0, label="Model")
            note = gr.Markdown()  # filled on each page load (weights may appear) and on a model change
            gr.Markdown(
                "Upload an image, then paint on the **Mask** layer (layer 1, first in the layer list) over what "
                "should be replaced. Optionally draw guide lines on the **Sketch** layer (layer 2) inside the hole "
                "(the half-transparent red shows them darker; an opaque colour tells them apart better). The brush "
                "has a size control; only where you paint matters, not the colour. (After *Clear mask* the editor "
                "lists both layers as 'Layer 1'; the first is still the mask.)"
            )
            editor = readable(
                original_background(
                    guarded_blobs(
                        gr.ImageEditor(
                            type="pil",
                            image_mode="RGBA",
                            format="png",
                            label="Image and mask",
                            sources=("upload", "clipboard"),
                            layers=gr.LayerOptions(layers=["Mask", "Sketch"], allow_additional_layers=False),
                            # half-opaque red first: what is under the mask stays visible, and sketch strokes
                            # in it (same brush) show darker over it; the opaque colours for the sketch
                            brush=gr.Brush(
                                colors=[("#ff3b30", 0.55), "#1e88e5", "#000000", "#ffffff"],
                                default_color=("#ff3b30", 0.55),
                                default_size=16,
                            ),
                            transforms=(),
                        )
                    )
                )
            )
            with gr.Accordion("Or upload a mask (white = hole)", open=False):
                mask = readable(
                    gr.Image(type="filepath", image_mode=None, format="png", label="Mask (the image's size or shape)")
                )
            with gr.Row():
                invert = gr.Checkbox(False, label="Invert mask")
                compare_opencv = gr.Checkbox(False, label="Also run OpenCV Telea fill")
            best = gr.Checkbox(False, label="Best quality: average 8 flipped/rotated fills (8x the time)")
            with gr.Row():
                clear = gr.Button("Clear mask")
                go = gr.Button("Inpaint", variant="primary")
        with gr.Column(scale=1):
            compare = gr.ImageSlider(label="Hole | filled", image_mode=None, format="png", interactive=False)
            info = gr.Markdown()
            baseline = gr.Image(label="OpenCV Telea", format="png", interactive=False, visible=False)
            out_file = gr.File(label="Filled, full resolution (PNG)", interactive=False)
    scene = example("landscape.png")
    gr.Examples(
        [["inpaint.photo", {"background": scene, "layers": [example("landscape_mask_layer.png")],
                            "composite": example("landscape_masked.png")}, None],
         ["inpaint.photo", {"background": scene, "layers": [], "composite": scene}, example("landscape_mask.png")]],
        inputs=[model, editor, mask],
    )  # fmt: skip
    model.change(model_note, model, note, **UI_ONLY)
    compare_opencv.change(lambda c: gr.Image(visible=c), compare_opencv, baseline, **UI_ONLY)
    # unqueued: a queued version left the browser's editor blank and re-uploading (seen in chromium); its files
    # are checked against the limits from their headers before decoding (original_background). No progress
    # overlay: with it the editor reloaded blank and strokes painted after Clear mask were lost (0 of 6 in
    # headless chromium; "The mask is empty")
    clear.click(clear_mask, editor, [editor, mask], **UI_ONLY, show_progress="hidden")
    # an uploaded mask stays until Clear mask or its ×: dropping it on the editor's upload also dropped an example's
    # mask (the example loads the editor after the mask); one of another shape gives way to painted strokes (the note
    # says so) or is refused with that advice
    go.click(None, None, info, js=CLEAR, **UI_ONLY)  # a run that fails leaves no note about the last picture
    go.click(
        run_inpaint,
        [model, editor, mask, invert, compare_opencv, best],
        [compare, baseline, out_file, info],
        api_name="inpaint",
    )
    return model, note


# ---------------------------------------------------------------- app

with gr.Blocks(title="GenRepair", delete_cache=(KEEP_OUTPUTS_S, KEEP_OUTPUTS_S)) as demo:
    gr.Markdown(
        "# GenRepair\nGenerate emoji, translate between styles, remove noise and fill holes. "
        "Every result downloads as a lossless PNG; each tab is also an API endpoint (*Use via API* at the foot of "
        "the page lists them on a wide screen)."
    )
    with gr.Tabs():
        with gr.Tab("Generate"):
            notes = [build_generate_tab()]
        with gr.Tab("Translate"):
            notes.append(build_translate_tab())
        with gr.Tab("Denoise"):
            notes.append(build_denoise_tab())
        with gr.Tab("Inpaint"):
            notes.append(build_inpaint_tab())
    for model, note in notes:
        demo.load(model_note, model, note, **UI_ONLY)


def launch(share: bool = False) -> None:
    """Serve until stopped (Ctrl-C or SIGTERM), with the GENREPAIR_* and GRADIO_SERVER_* settings."""
    port = os.environ.get("GRADIO_SERVER_PORT")
    demo.queue(
        default_concurrency_limit=concurrency(),
        max_size=env_int("GENREPAIR_QUEUE_SIZE", 32),
    ).launch(
        auth=auth(),
        share=share or env_on("GENREPAIR_SHARE"),
        server_name=os.environ.get("GRADIO_SERVER_NAME"),
        server_port=int(port) if port else None,
        max_file_size=max_file_size(),
        css=CSS,
    )


def delete_gradio_files() -> None:
    """Delete the uploads and results Gradio cached for this app (not the examples). Gradio does this when its
    server shuts down, but gives up on that after 5 s when a request is still running at a stop."""
    try:
        from gradio.route_utils import delete_files_created_by_app
    except ImportError:  # another Gradio: its own shutdown is all there is
        return
    with contextlib.suppress(Exception):  # leaving: nothing to tell anyone
        delete_files_created_by_app(demo, age=None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the GenRepair web app.")
    parser.add_argument("--share", action="store_true", help="create a public gradio.live link (or GENREPAIR_SHARE=1)")
    args = parser.parse_args()
    try:
        check_settings()
    except ValueError as e:
        sys.exit(f"app.py: {e}")
    # SIGTERM (docker stop, systemd, Spaces) stops the server as Ctrl-C does (sys.exit skipped Gradio's clean-up);
    # the uploads and results Gradio cached and the app's output folders are then deleted (atexit)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    atexit.register(delete_gradio_files)
    try:
        launch(args.share)
    except KeyboardInterrupt:  # a stop while Gradio was still starting
        pass
    # A request still running at the stop holds torch's worker threads, whose teardown at interpreter exit
    # aborts the process (exit code -6, "terminate called without an active exception"): clean up, then leave.
    # (With `python -i app.py` the launch returns at once and the prompt keeps the server: nothing to do here.)
    if not sys.flags.interactive:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
