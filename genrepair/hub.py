"""Find and load a model's weights: a local folder, weights/<name>/, the Hugging Face cache, the Hub.

Only safetensors are read (never pickles). Hub settings (``HF_ENDPOINT``, ``HF_HUB_CACHE``/``HF_HOME``,
``HF_HUB_OFFLINE``, ``HF_HUB_ETAG_TIMEOUT``) are read from the environment at call time, because
``huggingface_hub.constants`` freezes them at import and the app or a test may set them later.
``HF_HUB_DOWNLOAD_TIMEOUT`` (seconds without data during a download) is read by huggingface_hub at import.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import inspect
import json
import logging
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import torch
from huggingface_hub import constants, get_hf_file_metadata, hf_hub_download, hf_hub_url
from huggingface_hub.errors import LocalEntryNotFoundError
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from . import models
from .device import pick_device
from .registry import REGISTRY

log = logging.getLogger("genrepair")
FILES = ("config.json", "model.safetensors")
PICKLES = ("*.bin", "*.pth", "*.pt", "*.ckpt", "*.pkl")
CLASS_KEY = "_class_name"
_SHA256 = re.compile(r"[0-9a-f]{64}")  # the cache's name for an LFS blob (model.safetensors)
_GIT_SHA1 = re.compile(r"[0-9a-f]{40}")  # ... and for a regular file (config.json): its git blob id


class ModelLoadError(RuntimeError):
    """A model could not be found or read; the message names everything that was tried."""


class CorruptCacheError(ModelLoadError):
    """A file in the Hugging Face cache does not hash to the sha256 the Hub gave for it. ``copy``: the snapshot
    entry, when it is a copy of the file rather than a link to a blob (to remove before fetching it again)."""

    def __init__(self, message: str, copy: Path | None = None) -> None:
        super().__init__(message)
        self.copy = copy


def weights_dir() -> Path:
    """The bundled weights folder (``GENREPAIR_WEIGHTS`` overrides)."""
    own = os.environ.get("GENREPAIR_WEIGHTS")  # "~/models" from an env file (no shell to expand it)
    return Path(own).expanduser() if own else Path(__file__).resolve().parents[1] / "weights"


def _has_files(folder: Path) -> bool:
    return all((folder / f).is_file() for f in FILES)


def _lfs_pointer(folder: Path) -> bool:
    """True when the folder's weights file is a Git LFS pointer (a clone made without git-lfs), not the weights."""
    path = folder / FILES[1]
    try:
        if path.stat().st_size > 1024:
            return False
        with open(path, "rb") as f:
            return f.read(40).startswith(b"version https://git-lfs")
    except OSError:
        return False


LFS_HINT = "a Git LFS pointer, not the weights: run `git lfs install && git lfs pull` in the clone"


ON, OFF = {"1", "ON", "YES", "TRUE"}, {"0", "OFF", "NO", "FALSE"}


def env_on(name: str, default: bool = False, strict: bool = True) -> bool:
    """An on/off environment setting: 1, on, yes or true (any case) is on, 0, off, no or false off; unset or
    empty is ``default``. Another word is refused with the setting's name (``GENREPAIR_ALLOW_ANY_REPO=maybe``
    used to switch repo ids off silently); ``strict=False`` reads it as off, as huggingface_hub does its own."""
    value = os.environ.get(name, "").strip().upper()
    if not value:
        return default
    if strict and value not in ON | OFF:
        raise ValueError(f"{name} must be 1/0, on/off, yes/no or true/false, got {os.environ[name]!r}")
    return value in ON


def _hub_offline() -> bool:
    return env_on("HF_HUB_OFFLINE", strict=False) or constants.HF_HUB_OFFLINE


def _endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", constants.ENDPOINT).rstrip("/")


def _cache_dir() -> str:
    """huggingface_hub's cache folder, read now; ``~`` and ``$VAR`` expanded as huggingface_hub does (left as they
    were, ``HF_HOME='$BASE/hf'`` made a folder named ``$BASE`` here and missed the cache)."""
    if os.environ.get("HF_HUB_CACHE"):
        return _expanded(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return os.path.join(_expanded(os.environ["HF_HOME"]), "hub")
    return constants.HF_HUB_CACHE


def _expanded(path: str) -> str:
    return os.path.expandvars(os.path.expanduser(path))


def _etag_timeout() -> float:
    """Seconds to wait for the Hub's answer to a metadata request (huggingface_hub's default: 10)."""
    try:
        seconds = float(os.environ["HF_HUB_ETAG_TIMEOUT"])
    except (KeyError, ValueError):
        seconds = math.nan
    # 0, a negative number, nan or inf: the default, as huggingface_hub reads them (0 failed every download at once)
    return seconds if 0 < seconds < math.inf else float(constants.HF_HUB_ETAG_TIMEOUT or 10)


def one_line(e: BaseException, limit: int = 200) -> str:
    """An error's message on one line, cut at ``limit`` (a KeyError without the quotes str() adds)."""
    text = " ".join(str(e.args[0] if isinstance(e, KeyError) and e.args else e).split()) or type(e).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fetch(
    repo_id: str, revision: str | None, local_only: bool, force: bool = False, expected: dict[str, str] | None = None
) -> Path:
    """``hf_hub_download`` config.json and model.safetensors; return their snapshot folder.

    The cache names LFS blobs by their sha256, so each such blob is hashed: a truncated or overwritten
    cache entry is caught here, not later as a confusing error (or silently wrong weights) in the model.
    A cache entry that is a copy instead of a link (Windows without symlinks, a cache copied with ``cp -L``)
    has no hash in its name: it is checked against ``expected`` (the Hub's ETag, when downloading), against the
    hash recorded beside it when it was last checked, or else against the names of the repo's blobs that a copied
    cache keeps (see :func:`_check_cached`).
    """
    kwargs = dict(
        revision=revision, cache_dir=_cache_dir(), endpoint=_endpoint(), etag_timeout=_etag_timeout(),
        local_files_only=local_only, force_download=force,
    )  # fmt: skip
    paths = [Path(hf_hub_download(repo_id, f, **kwargs)) for f in FILES]
    for path in paths:
        _check_cached(path, (expected or {}).get(path.name))
    return paths[0].parent


def _check_cached(path: Path, expected: str | None) -> None:
    """Raise CorruptCacheError when the cached ``path`` does not hash to what it should."""
    blob = path.resolve()
    data = blob.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if _SHA256.fullmatch(blob.name):
        if digest != blob.name:
            raise CorruptCacheError(f"cached {path.name} fails its sha256 check ({blob})")
        return
    if _GIT_SHA1.fullmatch(blob.name):
        if _git_sha1(data) != blob.name:
            raise CorruptCacheError(f"cached {path.name} fails its git blob check ({blob})")
        return
    # a copy: no hash in its name
    record = path.with_name(f".{path.name}.genrepair-sha256")
    if expected is not None and (_SHA256.fullmatch(expected) or _GIT_SHA1.fullmatch(expected)):
        if expected != (digest if _SHA256.fullmatch(expected) else _git_sha1(data)):
            raise CorruptCacheError(f"cached {path.name} does not hash to the Hub's {expected} ({path})", path)
    elif record.is_file():
        if record.read_text().strip() != digest:
            raise CorruptCacheError(f"cached {path.name} fails its sha256 check against {record.name} ({path})", path)
        return
    else:  # a cache copied with cp -L keeps the repo's blobs, named by their hashes: the copy must be one of them
        blobs = path.parents[2] / "blobs"
        names = {b.name for b in blobs.iterdir()} if blobs.is_dir() else set()
        if not any(_SHA256.fullmatch(n) or _GIT_SHA1.fullmatch(n) for n in names):
            return  # nothing to check it against (a copy made without symlinks is recorded on download)
        if digest not in names and _git_sha1(data) not in names:
            raise CorruptCacheError(f"cached {path.name} matches none of the cache's blobs ({path})", path)
    with contextlib.suppress(OSError):  # a read-only cache is checked each time
        record.write_text(digest)


def _git_sha1(data: bytes) -> str:
    """The id git gives a blob: the Hub's ETag for a regular file, and the name the cache stores it under."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's id, not security


def _download(repo_id: str, revision: str | None) -> Path:
    """Fetch from the Hub (re-downloading a corrupt cached copy once), unless offline; fail fast when it is down.

    One HEAD without retries goes first: when nothing is cached, ``hf_hub_download`` retries 5xx answers and
    timeouts with backoff for a minute or more, which would stall the fallback to other sources.
    """
    if _hub_offline():
        raise ModelLoadError("skipped: HF_HUB_OFFLINE is set")
    url = hf_hub_url(repo_id, FILES[1], revision=revision, endpoint=_endpoint())
    meta = get_hf_file_metadata(url, timeout=_etag_timeout(), endpoint=_endpoint())
    expected = {FILES[1]: meta.etag} if meta.etag else None
    try:
        return _fetch(repo_id, revision, local_only=False, expected=expected)
    except CorruptCacheError as e:
        log.warning("%s: %s; downloading it again", repo_id, e)
        if e.copy is not None:  # huggingface_hub downloads the file again but keeps a snapshot entry that exists
            e.copy.unlink(missing_ok=True)
        return _fetch(repo_id, revision, local_only=False, force=True, expected=expected)


def _attempt(label: str, fetch: Callable[[], Path], tried: list[str]) -> Path | None:
    """Run one source; on failure note why in ``tried`` and return None so the next source is tried."""
    try:
        return fetch()
    except LocalEntryNotFoundError as e:  # huggingface_hub also raises this when the Hub failed; show why
        cause = e.__cause__
        tried.append(f"{label} ({type(cause).__name__}: {one_line(cause)})" if cause else f"{label} (not cached)")
    except ModelLoadError as e:
        tried.append(f"{label} ({e})")
    except Exception as e:  # noqa: BLE001 - network and Hub errors of every kind are reported, not raised
        tried.append(f"{label} ({type(e).__name__}: {one_line(e)})")
    return None


def _check_folder(folder: Path) -> None:
    """Refuse a folder that is not a safetensors model folder, naming what is wrong."""
    if _has_files(folder):
        if _lfs_pointer(folder):
            raise ModelLoadError(f"{folder / FILES[1]} is {LFS_HINT}")
        return
    missing = " and ".join(f for f in FILES if not (folder / f).is_file())
    pickles = sorted(p.name for pattern in PICKLES for p in folder.glob(pattern))
    hint = f"; pickle checkpoints ({', '.join(pickles)}) are never loaded, convert them first" if pickles else ""
    raise ModelLoadError(f"{folder} is not a model folder: it lacks {missing}{hint}")


def resolve(name_or_path: str | os.PathLike, allow_any_repo: bool = True) -> tuple[Path, str]:
    """Return (folder with config.json + model.safetensors, where it came from).

    Order: an explicit folder; ``weights/<name>/``; the Hugging Face cache; a Hub download, so the network is
    used only when no local copy exists, and never with ``HF_HUB_OFFLINE``. With ``GENREPAIR_PREFER_HUB=1`` a
    registry name or a repo id goes to the Hub first, then the cache, then ``weights/<name>/``, warning when it
    falls back. A copy that comes back but does not load: see ``_instead_of_a_broken_copy``.
    """
    name = str(name_or_path)
    hub_id = _hub_repo(name)  # a pasted Hub address, or owner/name@revision
    try:
        path = Path(name_or_path).expanduser()
    except RuntimeError:  # ~someone who is no user here
        raise ModelLoadError(f"{name_or_path}: no such folder (no such user's home)") from None
    known = name in REGISTRY or (weights_dir() / name / "config.json").is_file()
    if path.is_dir() and not (known and not _has_files(path) and not _meant_as_path(name)):
        _check_folder(path)
        return path, f"local folder {path}"
    if path.is_dir():  # a folder here of a model's name that holds no model (a dataset folder): the model
        log.info("%s: the folder %s here is not a model folder; loading the model of that name", name, path)
    elif path.is_file():
        hint = ""
        if any(path.match(pattern) for pattern in PICKLES):
            hint = f"; convert a PyTorch checkpoint first: genrepair convert {path} --arch ARCH -o weights/{path.stem}"
        raise ModelLoadError(f"{path} is a file; a model is a folder holding {' and '.join(FILES)}{hint}")
    spec = REGISTRY.get(name)
    if spec is not None:
        repo_id, revision, bundled = spec.repo_id, spec.revision, weights_dir() / name
    elif hub_id is not None and allow_any_repo:
        (repo_id, revision), bundled = hub_id, None
    elif _meant_as_path(name) and hub_id is None:
        raise ModelLoadError(f"{path}: no such folder (a model is a folder holding {' and '.join(FILES)})")
    elif "/" not in name and (weights_dir() / name / "config.json").is_file():  # a converted or own model there
        folder = weights_dir() / name
        _check_folder(folder)
        return folder, f"folder {folder}"
    elif "/" in name and allow_any_repo:
        repo_id, revision, bundled = name, None, None
    else:
        names = [*REGISTRY, *local_models()]
        folded = {n.casefold(): n for n in names}
        close = difflib.get_close_matches(name.strip().casefold(), list(folded), n=1, cutoff=0.75)
        raise ModelLoadError(
            f"unknown model {name!r}: not a registry name, a model folder or a model folder in {weights_dir()}"
            + (f" (did you mean {folded[close[0]]!r}?)" if close else "")
            + ("" if allow_any_repo else " (Hub repo ids are disabled here; set GENREPAIR_ALLOW_ANY_REPO=1)")
            + f"; valid names: {', '.join(names)}"
            + ("" if "/" in name else "; GENREPAIR_WEIGHTS=DIR looks names up in DIR instead of the bundled folder")
        )
    prefer_hub = env_on("GENREPAIR_PREFER_HUB")  # for a repo id too: a newer commit than the cached one
    tried: list[str] = []
    if bundled is not None and not prefer_hub:
        if _has_files(bundled) and not _lfs_pointer(bundled):
            return bundled, f"bundled folder {bundled}"
        tried.append(f"bundled folder {bundled} ({LFS_HINT if _has_files(bundled) else 'missing'})")

    where = f"{repo_id}@{revision or 'main'}"
    sources = [
        (f"Hugging Face cache {_cache_dir()} for {where}", lambda: _fetch(repo_id, revision, local_only=True)),
        (f"Hub download {_endpoint()}/{where}", lambda: _download(repo_id, revision)),
    ]
    if prefer_hub:
        sources.reverse()
    for label, fetch in sources:
        folder = _attempt(label, fetch, tried)
        if folder is not None and spec is None and label.startswith("Hub download"):
            log.warning("%s: no local folder of that name; downloaded the Hub repo %s", name, where)
        if folder is not None:
            if prefer_hub and tried:
                log.warning("%s: Hub unavailable, using the %s; tried: %s", name, label, "; ".join(tried))
            return folder, label
    if bundled is not None and prefer_hub:
        if _has_files(bundled) and not _lfs_pointer(bundled):
            log.warning("%s: Hub unavailable, falling back to bundled %s; tried: %s", name, bundled, "; ".join(tried))
            return bundled, f"bundled folder {bundled} (Hub unavailable)"
        tried.append(f"bundled folder {bundled} ({LFS_HINT if _has_files(bundled) else 'missing'})")
    raise ModelLoadError(f"could not load {name!r}; tried: " + "; ".join(tried))


# a model page, or one of its files' (the repo is what loads): owner/name[/tree|blob|resolve/REV[/path]][?query]
_HUB_PAGE = re.compile(
    r"(?P<repo>[\w.-]+/[\w.-]+)(?:/(?:tree|blob|resolve)/(?P<rev>[^/?#]+)(?:/(?P<path>[^?#]*))?)?/?(?:[?#].*)?"
)
ROOT_FILES = ("config.json", "model.safetensors", "README.md")  # what an address may name: the repo's root model


def _hub_repo(name: str) -> tuple[str, str | None] | None:
    """(repo id, revision) for a Hub model page's address (``https://huggingface.co/owner/name`` or the
    ``HF_ENDPOINT``'s, with ``/tree/REV`` if given, or a root file's address in it, ``/resolve/REV/model.safetensors``)
    or ``owner/name@REV``; None for anything else. An address in a subfolder is refused: only the root loads."""
    if name.startswith("hf://"):  # huggingface_hub's file-system address: hf://owner/name[@revision]
        if m := re.fullmatch(r"hf://([\w-][\w.-]*/[\w.-]+)(?:@([\w./-]+?))?/?", name):
            if m[1].split("/")[0] not in ("datasets", "spaces"):
                return m[1], m[2]
        raise ModelLoadError(f"{name}: not a model repo's address; hf://owner/name or hf://owner/name@revision is one")
    # an address with or without its scheme (pasted from the browser's address bar, which may hide it)
    sites = {"https://huggingface.co", "https://hf.co", "huggingface.co", "hf.co", _endpoint()}
    for site in sites:
        if name.startswith(site + "/") and (m := _HUB_PAGE.fullmatch(name[len(site) + 1 :])):
            if m["repo"].split("/")[0] in ("spaces", "datasets", "docs", "models"):
                return None  # a Space's or dataset's page: not a model repo
            if (path := unquote(m["path"] or "").strip("/")) and path not in ROOT_FILES:
                raise ModelLoadError(  # a subfolder's model: loading the root's instead would be silently wrong
                    f"{name}: names {path} in the repo {m['repo']}; genrepair loads a repo's root files only "
                    f"({' and '.join(FILES)}), so give the address of a repo that holds the model at its root"
                )
            return m["repo"], None if m["rev"] is None else unquote(m["rev"])  # refs%2Fpr%2F1: refs/pr/1
    if "@" in name and re.fullmatch(r"[\w-][\w.-]*/[\w.-]+@[\w./-]+", name):
        repo, rev = name.split("@", 1)
        return None if _meant_as_path(repo) else (repo, rev)  # weights/zebra2horse@v1 is a missing folder
    return None


def _meant_as_path(name: str) -> bool:
    """A name that can only be a folder (./x, ../x, ~/x, /x, x\\y), or whose first part is a folder here (the
    README's ``weights/horse2zebra`` before converting it): a missing one is an error, never a Hub repo id."""
    if name.startswith((".", "~")) or Path(name).is_absolute() or "\\" in name or name.count("/") > 1:
        return True
    if name.endswith("/"):  # a folder name as tab completion writes it
        return True
    first = Path(name.split("/", 1)[0])  # a folder of model folders here, not just any folder (genrepair/)
    return "/" in name and first.is_dir() and any(first.glob("*/config.json"))


def local_models(folder: Path | None = None) -> dict[str, str]:
    """Model folders under ``weights/`` (or ``folder``) that the registry lacks, e.g. converted official CycleGANs:
    name -> task. They load by name like the registry's; a folder whose config is unreadable is skipped."""
    found = {}
    for cfg in sorted(Path(folder or weights_dir()).glob("*/config.json")):
        if cfg.parent.name in REGISTRY:
            continue
        try:
            task = models.TASK_OF_CLASS.get(read_config(cfg.parent).get("_class_name"))
        except ModelLoadError as e:  # one odd folder (a list, UTF-16 text) must not stop the app or the CLI
            log.warning("skipping %s: %s", cfg.parent, e)
            continue
        if task:
            found[cfg.parent.name] = task
    return found


def read_config(folder: Path) -> dict:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8-sig"))  # Notepad writes a BOM
    except UnicodeDecodeError as e:
        raise ModelLoadError(f"{folder / 'config.json'} is unreadable: not UTF-8 text ({e.reason})") from e
    except (OSError, ValueError, RecursionError) as e:  # ValueError: bad JSON, an integer of over 4300 digits
        raise ModelLoadError(f"{folder / 'config.json'} is unreadable: {one_line(e)}") from e
    if not isinstance(config, dict):
        raise ModelLoadError(f"{folder / 'config.json'} holds a {type(config).__name__}, not a JSON object")
    if not isinstance(config.get(CLASS_KEY, ""), str):
        raise ModelLoadError(f"{folder / 'config.json'}: {CLASS_KEY} must be a string, got {config[CLASS_KEY]!r}")
    if problem := _not_whole("pad_multiple", config.get("pad_multiple", 1), 1):
        raise ModelLoadError(f"{folder / 'config.json'}: {problem}")
    return config


def _not_whole(key: str, value, minimum: int) -> str | None:
    """What is wrong with ``value`` as a whole-number config field (None: nothing). 128.0 is refused, as torch
    would refuse it deep inside a layer, with the spelling that works."""
    if type(value) is float and value.is_integer() and value >= minimum:
        return f"{key} must be a whole number: write {int(value)}, not {value!r}"
    if type(value) is not int or value < minimum:
        return f"{key} must be a whole number of at least {minimum}, got {value!r}"
    return None


def model_class(config: dict, spec_cls: str | None, folder: Path) -> type[torch.nn.Module]:
    cls_name = config.get(CLASS_KEY) or spec_cls
    cls = getattr(models, str(cls_name), None)
    if cls is None or not isinstance(cls, type):
        raise ModelLoadError(
            f"{folder}/config.json names no known architecture ({CLASS_KEY}={cls_name!r}); "
            f"known: {', '.join(models.__all__)}"
        )
    return cls


def _constructor_kwargs(cls: type[torch.nn.Module], config: dict) -> dict:
    """The config entries ``cls`` takes; others (say, from a later version) are ignored with a warning.

    Ignoring is safe because the weights load with ``strict=True``: a key that changed the architecture fails there.
    """
    params = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in config.items() if not k.startswith("_") and (takes_any or k in params)}
    if ignored := sorted(k for k in config if not k.startswith("_") and k not in kwargs):
        log.warning("config keys %s are not arguments of %s; ignoring them", ", ".join(ignored), cls.__name__)
    return kwargs


SIZE_LIMITS = {"image_size": 2048, "pad_multiple": 256}  # a translated picture is enlarged to image_size
# blocks per network or level: far above any published design (DnCNN 17-20, DRUNet 4, CycleGAN 9); a config with
# n_blocks 100000 took ~75 s of meta-device construction before the shape check could refuse it
DEPTH_LIMITS = {"n_blocks": 1000, "nb": 1000}
MAX_LEVELS = 8  # U-Net levels (channels lists): DRUNet has 4; each halves the picture, 8 is 1/128


def _check_numbers(cls: type, kwargs: dict, path: Path) -> None:
    """Refuse a non-number where the constructor's default is a number, a fraction or a negative number where it is
    a whole number (sizes and counts), and a noise range that is not positive."""
    params = inspect.signature(cls).parameters
    for key, value in kwargs.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if key == "sigma_max" and not (number and 0 < value < math.inf):  # inf would switch the range check off
            raise ModelLoadError(f"{path}: sigma_max must be a positive number, got {value!r}")
        if key == "background" and value not in ("white", "black"):  # anything else read as black
            raise ModelLoadError(f'{path}: background must be "white" or "black", got {value!r}')
        default = params[key].default if key in params else None
        sizes = isinstance(default, list) and default and all(type(v) is int for v in default)  # channels
        if sizes and not (isinstance(value, list) and value and all(type(v) is int and v > 0 for v in value)):
            raise ModelLoadError(f"{path}: {key} must be a list of whole numbers, like {default}, got {value!r}")
        if sizes and len(value) > MAX_LEVELS:  # 64 levels of 1000 blocks took 96 s to build before any check
            raise ModelLoadError(
                f"{path}: {key} lists {len(value)} levels, over {MAX_LEVELS}; {default} has {len(default)}"
            )
        if key in params and type(params[key].default) in (int, float) and not number:
            raise ModelLoadError(f"{path}: {key} must be a number, got {value!r}")
        if key in params and type(params[key].default) is int and (problem := _not_whole(key, value, 0)):
            raise ModelLoadError(f"{path}: {problem}")
        if key in SIZE_LIMITS and value > SIZE_LIMITS[key]:  # the pipelines size pictures by them, before any limit
            raise ModelLoadError(f"{path}: {key} {value} is over {SIZE_LIMITS[key]}, the most the pipelines take")
        if key in DEPTH_LIMITS and value > DEPTH_LIMITS[key]:
            raise ModelLoadError(f"{path}: {key} {value} is over {DEPTH_LIMITS[key]}, far deeper than any such network")


CHANNELS = (1, 3)  # what the pipelines hand a model and take back: gray or RGB


def channel_problem(model: torch.nn.Module) -> str | None:
    """Why no pipeline can run ``model`` with its channel counts (None: one can), for ``load_model`` and
    ``genrepair convert`` alike. Such a model failed inside the network on its first image, or wrote a wrong
    picture (two output channels saved as gray and alpha); what its extra channels mean is not in the file."""
    cfg = getattr(model, "_hub_mixin_config", None) or {}  # the constructor's arguments, defaults included
    if isinstance(model, models.ResnetGenerator):
        for side, verb, does in (("input", "reads", "gives it"), ("output", "writes", "saves")):
            if (n := cfg.get(f"{side}_nc", 3)) not in CHANNELS:
                return (
                    f"the generator {verb} {n} {side} channels; genrepair translate {does} 1 (gray) or 3 (RGB), "
                    "so it could not run"
                )
    elif models.TASK_OF_CLASS.get(type(model).__name__) == "denoise" and "in_nc" in cfg:
        n_in, n_out = cfg["in_nc"], cfg.get("out_nc", cfg["in_nc"])  # NoiseCondUNet gives back what it reads
        if n_in not in CHANNELS:
            return (
                f"the denoiser reads {n_in} channels; genrepair denoise gives it 1 (gray) or 3 (RGB), "
                "so it could not run"
            )
        if n_out != n_in:
            return f"the denoiser reads {n_in} channels but writes {n_out}; it must give back as many as it reads"
    return None


def _build(folder: Path, how: str, name: str, spec_cls: str | None) -> torch.nn.Module:
    """The model ``folder`` describes, with its weights: every way a folder can be wrong is a ModelLoadError."""
    config = read_config(folder)
    cls = model_class(config, spec_cls, folder)
    kwargs = _constructor_kwargs(cls, config)
    _check_numbers(cls, kwargs, folder / "config.json")
    try:
        with torch.random.fork_rng(devices=[]):  # the random init is replaced by the weights: leave the user's RNG be
            with torch.device("meta"):  # no memory: the sizes are compared with the file's before any is allocated
                _check_shapes(cls(**kwargs).state_dict(), folder / "model.safetensors", name, how, cls.__name__)
            model = cls(**kwargs)
    except ModelLoadError:
        raise
    except Exception as e:  # noqa: BLE001 - whatever the constructor makes of odd values, name the config
        raise ModelLoadError(f"{folder / 'config.json'} does not describe a {cls.__name__}: {one_line(e)}") from e
    if problem := channel_problem(model):  # before the weights are read: the config alone decides it
        raise ModelLoadError(f"{folder / 'config.json'}: {problem}")
    if spec_cls and cls.__name__ != spec_cls:  # a converted model saved under a registry name's folder
        log.warning(
            "%s: %s holds a %s, not the registry model's %s; it replaces that model under this name",
            name, folder, cls.__name__, spec_cls,
        )  # fmt: skip
    need, pad = getattr(model, "size_multiple", 1), getattr(model, "pad_multiple", 1)
    if pad % need:  # a smaller multiple fails inside the network on the first image whose sides do not divide
        raise ModelLoadError(
            f"{folder / 'config.json'}: pad_multiple {pad} is not a multiple of {need}: this {cls.__name__} halves "
            f"the image {need.bit_length() - 1} times, so the sides it is given must divide by {need}"
        )
    try:
        state = load_file(str(folder / "model.safetensors"))
    except (SafetensorError, OSError) as e:
        raise ModelLoadError(f"{name!r} from {how} does not load as {cls.__name__}: {one_line(e, 300)}") from e
    own = model.state_dict()
    if ints := [k for k, v in state.items() if k in own and own[k].is_floating_point() and not v.is_floating_point()]:
        raise ModelLoadError(
            f"{name!r} from {how}: weight {ints[0]} is stored as {state[ints[0]].dtype}, not a float type"
        )
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError) as e:
        raise ModelLoadError(f"{name!r} from {how} does not load as {cls.__name__}: {one_line(e, 300)}") from e
    if bad := [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v.float()).all()]:
        raise ModelLoadError(
            f"{name!r} from {how}: {len(bad)} weight tensors hold NaN or infinite values ({bad[0]}, ...)"
        )
    return model


def _check_shapes(own: dict[str, torch.Tensor], path: Path, name: str, how: str, cls_name: str) -> None:
    """Refuse weights whose names or shapes (from the file's header) differ from what the config builds, before
    the model is built for real: a config.json of ``ngf: 4096`` asked for 4.8 GB before the weights were read."""
    try:
        with safe_open(str(path), "pt") as f:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118 - not a dict
    except (SafetensorError, OSError) as e:
        raise ModelLoadError(
            f"{name!r} from {how} does not load as {cls_name}: {one_line(e, 300)}{_pickle_hint(path)}"
        ) from e
    missing = [k for k in own if k not in shapes]
    extra = [k for k in shapes if k not in own]
    wrong = [k for k in own if k in shapes and tuple(own[k].shape) != shapes[k]]
    if missing or extra or wrong:
        if wrong:
            first = f"weight {wrong[0]} is {list(shapes[wrong[0]])} in the file, {list(own[wrong[0]].shape)} here"
        else:
            first = f"missing weight {missing[0]}" if missing else f"unexpected weight {extra[0]}"
        counts = f"{len(missing)} missing, {len(extra)} unexpected, {len(wrong)} of another shape"
        raise ModelLoadError(
            f"{name!r} from {how} does not load as {cls_name}: config.json does not match the weights ({first}; "
            f"{counts})"
        )


def _pickle_hint(path: Path) -> str:
    """For a PyTorch checkpoint saved under the safetensors file's name (a zip archive, or an old-style pickle)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return ""
    if head.startswith((b"PK\x03\x04", b"\x80")):
        return (
            f"; {path.name} is a PyTorch checkpoint (pickle), not safetensors: convert it with genrepair convert "
            "FILE --arch ARCH --output FOLDER"
        )
    return ""


def load_model(
    name_or_path: str | os.PathLike,
    device: str | torch.device | None = None,
    half: bool | None = None,
    allow_any_repo: bool | None = None,
) -> torch.nn.Module:
    """Load a registry name, a model folder or (if allowed) a Hub repo id, in eval mode on ``device``.

    Weights load with ``strict=True``. ``half=None`` (the default) means half precision on CUDA and float32 elsewhere;
    ``half=True`` or ``False`` forces it (half on a CPU is slow and rarely what you want).
    Models whose class sets ``prefers_channels_last`` get channels-last weights (faster convolutions).
    """
    if allow_any_repo is None:
        allow_any_repo = env_on("GENREPAIR_ALLOW_ANY_REPO", default=True)
    name = str(name_or_path)
    spec = REGISTRY.get(name)
    if spec is not None and spec.cls == "classic":  # numpy generators: no device
        from .classic import ClassicGenerator

        return ClassicGenerator(name.split(".", 1)[1])
    dev = pick_device(device)  # an unusable device is refused before anything is found or downloaded
    folder, how = resolve(name_or_path, allow_any_repo=allow_any_repo)
    try:
        model = _build(folder, how, name, spec.cls if spec else None)
    except ModelLoadError as e:
        model, how = _instead_of_a_broken_copy(e, how, name, spec)
    log.info("loaded %s (%s) from %s", name, type(model).__name__, how)
    use_half = (dev.type == "cuda") if half is None else half
    model = model.to(dev).eval().requires_grad_(False)
    if use_half:
        model = model.half()
    if getattr(model, "prefers_channels_last", False):
        model = model.to(memory_format=torch.channels_last)
    model.genrepair_name = name  # type: ignore[attr-defined]
    model.genrepair_source = how  # type: ignore[attr-defined]
    return model


def _instead_of_a_broken_copy(error: ModelLoadError, how: str, name: str, spec) -> tuple[torch.nn.Module, str]:
    """A cached copy that does not load: the Hub's current one (a repo fixed since it was cached; the cache came
    first and its broken copy was final); then, for a registry name, the bundled folder. Else ``error``, with
    what was tried after it."""
    cls = spec.cls if spec else None
    tried: list[str] = []
    where = (spec.repo_id, spec.revision) if spec else _hub_repo(name) or (name, None)
    if how.startswith("Hugging Face cache") and not _hub_offline():
        label = f"Hub download {_endpoint()}/{where[0]}@{where[1] or 'main'}"
        if (fresh := _attempt(label, lambda: _download(*where), tried)) is not None:
            try:
                model = _build(fresh, label, name, cls)
                log.warning("%s: the copy from the %s does not load (%s); using the %s", name, how, error, label)
                return model, label
            except ModelLoadError as e:
                tried.append(f"{label} ({e})")
    bundled = weights_dir() / name
    if spec is not None and how.startswith(("Hub download", "Hugging Face cache")) and _has_files(bundled):
        if not _lfs_pointer(bundled):
            log.warning("%s: the copy from the %s does not load (%s); using bundled %s", name, how, error, bundled)
            how = f"bundled folder {bundled} (the Hub's copy does not load)"
            return _build(bundled, how, name, spec.cls), how
        tried.append(f"bundled folder {bundled} ({LFS_HINT})")
    if not tried:
        raise error
    raise ModelLoadError(f"{error}; then tried: {'; '.join(tried)}") from error


def save_model(model: torch.nn.Module, folder: str | os.PathLike, card: str | None = None) -> Path:
    """Write config.json (with ``_class_name``), model.safetensors and a README model card.

    The files are written in a hidden sibling folder first and then renamed into ``folder`` one by one: a run killed
    while saving (the training scripts export to ``weights/<name>`` by default) left the release without its
    config.json, as ``save_pretrained`` deletes it before writing the weights."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name[:100]}.", suffix=".saving", dir=folder.parent))
    try:
        channels_last = any(p.dim() == 4 and not p.is_contiguous() for p in model.parameters())
        model.to(memory_format=torch.contiguous_format)  # safetensors stores contiguous tensors only
        model.save_pretrained(staging)  # type: ignore[attr-defined]
        if channels_last:
            model.to(memory_format=torch.channels_last)
        cfg_path = staging / "config.json"
        cfg = json.loads(cfg_path.read_text())
        cfg[CLASS_KEY] = type(model).__name__
        cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
        if card is not None:
            (staging / "README.md").write_text(card)
        shutil.copymode(staging / "config.json", staging / "model.safetensors")  # written 0600 by a temp file
        for name in FILES[::-1] + (("README.md",) if card is not None else ()):  # weights, config, card
            os.replace(staging / name, folder / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
