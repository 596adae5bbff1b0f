"""The ``genrepair`` command line. Bad input exits with status 2 and one line on stderr.

A folder in gives a folder out with the same file names, as PNG (with --recursive also its subfolders' images,
in the same subfolders). Input files are never overwritten, other
existing files only with --overwrite. In a batch, a file that is not a readable image is reported and skipped.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import re
import sys
import warnings
from pathlib import Path

from . import __version__

log = logging.getLogger("genrepair")
PACKAGE = Path(__file__).resolve().parent  # warnings raised from here are shown as one line per input
MODEL_HELP = "registry name (see `genrepair list`) or a model folder"
OUTPUT_HELP = "a .png file (one input), or a folder (same names, as PNG)"
# What a folder run takes as pictures: every format Pillow opens (its own readers: .psd, .ico, .qoi, .pcx, ...) but
# those it only names here (EPS needs Ghostscript; BUFR, GRIB, HDF5 and WMF are stubs; MPEG and IPTC are no
# pictures), phones' .mpo, and the photos that get a message of their own when read (HEIC; camera RAW built on TIFF)
NOT_PICTURES = {"EPS", "BUFR", "GRIB", "HDF5", "WMF", "MPEG", "IPTC"}
MORE_EXT = {".mpo", ".heic", ".heif", ".dng", ".nef", ".cr2", ".arw", ".orf", ".rw2", ".pef", ".srw"}


@functools.cache
def image_extensions() -> frozenset[str]:
    from PIL import Image

    Image.init()
    known = Image.registered_extensions()
    return frozenset({e for e, f in known.items() if f in Image.OPEN and f not in NOT_PICTURES} | MORE_EXT)


class CLIError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (the usage itself is under --help)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _inputs(paths: list[str], recursive: bool = False, skip: Path | None = None) -> list[tuple[Path, str]]:
    """(file, relative output name) for each input; folders expand to their images, with ``recursive`` also
    those of their subfolders (output names keep the subfolder path). ``skip`` (the output folder) is not
    searched: outputs written inside an input folder are not inputs of the next run."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            files = _folder_images(p, recursive, skip)
            if not files:
                below = not recursive and _folder_images(p, True, skip)
                raise CLIError(
                    f"{p}: folder holds no images" + (" (its subfolders do: pass --recursive)" if below else "")
                )
            out += [(f, f.relative_to(p).with_suffix(".png").as_posix()) for f in files]
        elif p.is_file():
            out.append((p, p.stem + ".png"))
        else:
            raise CLIError(f"{p}: no such file or folder")
    seen, unique = set(), []
    for f, name in out:  # the same path named twice (or through its folder) is processed once; links are their own
        key = os.path.abspath(f)
        if key not in seen:
            seen.add(key)
            unique.append((f, name))
    return unique


def _folder_images(folder: Path, recursive: bool, skip: Path | None) -> list[Path]:
    """The images in ``folder``, sorted; hidden files and folders are skipped (macOS leaves "._name.jpg" metadata
    files beside photos on shared drives), and so are links to folders (no loops) and ``skip``."""

    def images(names: list[str], where: Path) -> list[Path]:
        files = (where / n for n in names if not n.startswith(".") and Path(n).suffix.lower() in image_extensions())
        return [f for f in files if f.is_file()]

    if not recursive:
        return sorted(images(os.listdir(folder), folder))
    skip = skip.resolve() if skip is not None else None
    found = []
    for where, dirs, names in os.walk(folder):  # links to folders are listed, not followed
        dirs[:] = [d for d in dirs if not d.startswith(".") and (skip is None or Path(where, d).resolve() != skip)]
        found += images(names, Path(where))
    return sorted(found, key=lambda f: f.relative_to(folder).parts)


def _not_png(output: Path) -> str:
    return (
        f"{output}: outputs are PNG; give a .png file name or a folder (a folder name with a dot ends in /: {output}/)"
    )


def _targets(
    inputs: list[tuple[Path, str]], output: str, many: bool, protect: list[Path] = (), overwrite: bool = False
) -> list[Path]:
    """Output paths; checked before anything is written: no input is overwritten, no output twice, no
    existing file without ``overwrite``. ``output`` ending in a slash is a folder even with a dot in its name."""
    slash = output.endswith(("/", os.sep))
    output = Path(output)
    folder = many or slash or output.is_dir() or not output.suffix
    if folder and output.exists() and not output.is_dir():
        raise CLIError(f"{output}: exists and is not a folder")
    if not folder and output.suffix.lower() != ".png":
        raise CLIError(_not_png(output))
    if many and not slash and not output.is_dir() and output.suffix.lower() == ".png":
        raise CLIError(f"{output}: several inputs need an output folder, not a .png file name")
    targets = [output / name for _, name in inputs] if folder else [output]
    srcs = [f for f, _ in inputs] + [Path(f) for f in protect]
    seen: dict[str, tuple[Path, Path]] = {}
    for (src, _), t in zip(inputs, targets, strict=True):
        if t.exists() and any(_same_file(t, f) for f in srcs):  # also a hard link, or another case on macOS
            raise CLIError(f"{t}: refusing to overwrite an input file")
        key = str(t.resolve()).casefold()  # names that differ only in case are one file on macOS and Windows
        if key in seen:
            first, t0 = seen[key]
            where = t if t0.resolve() == t.resolve() else f"{t0.name} and {t.name} (one file on macOS and Windows)"
            raise CLIError(f"{first} and {src} would both be written to {where}; rename one")
        seen[key] = (src, t)
    for src, t in seen.values():  # in/shots.jpg -> out/shots.png and in/shots.png/a.png -> out/shots.png/a.png
        if above := next((seen[k] for p in t.parents if (k := str(p.resolve()).casefold()) in seen), None):
            raise CLIError(f"{above[0]} would be written to {above[1]}, a folder that {src} needs; rename one")
    _check_new(targets, overwrite)
    for where in dict.fromkeys(t.parent for t in targets):  # made when its first file is written (_save_png)
        _check_folder(where)
    return targets


def _check_folder(folder: Path) -> None:
    """That ``folder`` can be made: no file stands where it or one of its parents must go."""
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                raise CLIError(f"{folder}: cannot make this folder, {above} is a file")
            break


def _make_folder(folder: Path) -> None:
    """``folder`` and its parents, with a message that names a file standing in the way."""
    _check_folder(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CLIError(f"cannot make the folder {folder}: {e.strerror or e}") from e


def _check_new(targets: list[Path], overwrite: bool) -> None:
    if folders := [t for t in targets if t.is_dir()]:
        raise CLIError(f"{folders[0]}: is a folder; an output file cannot replace it")
    if existing := [] if overwrite else [t for t in targets if t.exists()]:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise CLIError(f"{existing[0]}: already exists{more}; pass --overwrite to replace it")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _save_png(img, dst: Path) -> None:
    """Write next to ``dst`` and rename over it: an interrupted run never leaves half a PNG, and a file
    that ``dst`` was a hard link to keeps its content."""
    from .imageio import write_png

    _make_folder(dst.parent)  # only now: a run that fails before its first output leaves no empty folder
    tmp = dst.with_name(f".{dst.name[:100]}.{os.getpid()}.tmp")  # a 250-byte name stays within a name's 255
    try:
        write_png(img, tmp)  # 16 bits a channel where the input had them
        os.replace(tmp, dst)
    except OSError as e:  # a read-only or full disk: name the output, not the temporary file
        raise CLIError(f"cannot write {dst}: {e.strerror or e}") from e
    finally:
        tmp.unlink(missing_ok=True)


def _map_images(args, fn, protect: list[Path] = ()) -> None:
    from tqdm import tqdm

    from .imageio import ImageInputError

    inputs = _inputs(args.inputs, getattr(args, "recursive", False), skip=Path(args.output))
    many = len(inputs) > 1 or any(Path(p).is_dir() for p in args.inputs)
    targets = _targets(inputs, str(args.output), many, protect, args.overwrite)
    skipped = 0
    # a bar for a batch, in a terminal only (disable=None): in a log or a pipe it would mix with the paths printed
    bar = tqdm(list(zip(inputs, targets, strict=True)), disable=True if len(inputs) < 2 else None, desc=args.command)
    for (src, _), dst in bar:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                img = fn(src)
        except ImageInputError as e:
            if not str(e).startswith(f"{src.name}:"):  # a fault found in the pixels (NaN, say): name the file
                e = ImageInputError(f"{src.name}: {e}")
            if not many:
                raise e from None
            tqdm.write(f"genrepair: skipped: {e}", file=sys.stderr)
            skipped += 1
            continue
        ours = [w for w in caught if Path(w.filename).resolve().is_relative_to(PACKAGE)]
        for message in dict.fromkeys(str(w.message) for w in ours):  # each once, named by its file
            tqdm.write(f"genrepair: warning: {src.name}: {message}", file=sys.stderr)
        for w in caught:
            if w not in ours:  # another library's: as Python shows them
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        _save_png(img, dst)
        print(dst)
    if skipped == len(inputs):
        raise CLIError(f"all {skipped} inputs skipped (listed above); nothing was written")
    if skipped:
        raise CLIError(f"{skipped} of {len(inputs)} inputs skipped (listed above); the others were written")


def cmd_list(args) -> None:
    from .hub import _has_files, _lfs_pointer, local_models, weights_dir
    from .registry import list_models

    folder = weights_dir()
    for s in list_models(args.task):  # a Git LFS pointer is not the weights: load_model goes to the cache or Hub
        local = s.name.startswith("classic.") or (_has_files(folder / s.name) and not _lfs_pointer(folder / s.name))
        where = "" if local else f" (not in {folder}: from the Hugging Face cache or Hub)"
        print(f"{s.name}\t{s.task}\t{s.description}{where}")
    for name, task in local_models().items():  # converted or own models under weights/, loaded by name too
        if args.task in (None, task):
            print(f"{name}\t{task}\tmodel folder {folder / name} (not in the registry)")


TRUNCATION_OFF = 1e9  # generate's default: no latent value is resampled


def cmd_generate(args) -> None:
    from . import generate, load_model
    from .pipelines import MAX_SAMPLES, TRUNCATION_HAS_EFFECT_BELOW, is_label_index

    out = Path(args.output)
    # as for the other commands: a name with a suffix is a file (a PNG), unless it is a folder or ends in a slash
    one_file = bool(out.suffix) and not out.is_dir() and not str(args.output).endswith(("/", os.sep))
    if one_file and out.suffix.lower() != ".png":
        raise CLIError(_not_png(out))
    if one_file and args.n != 1:
        raise CLIError(f"{out}: generate writes {args.n} files; give a folder (or --n 1)")
    if not one_file and out.exists() and not out.is_dir():
        raise CLIError(f"{out}: exists and is not a folder")
    if not 1 <= args.n <= MAX_SAMPLES:  # before listing the file names
        raise CLIError(f"n must be between 1 and {MAX_SAMPLES}, got {args.n}")
    model = load_model(args.model, device=args.device)
    truncated = args.truncation < TRUNCATION_HAS_EFFECT_BELOW  # 1e6 gives the images that no truncation gives
    if hasattr(model, "sample") and truncated:  # as --label is refused for them
        raise CLIError(f"{args.model} takes no --truncation: a procedural generator has no latent vector to truncate")
    stem = Path(args.model).name  # a registry name, or the folder name of a model path
    if label := (args.label or "").strip():  # a second category with the same seed must not clash with the first
        names = list(getattr(model, "class_names", None) or [])
        if is_label_index(label) and 0 <= int(label) < len(names):
            label = names[int(label)]  # `--label 3` is named like `--label "Animals & Nature"`
        stem += "_" + (re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "label")
    if truncated:  # nor another truncation of the same seeds
        stem += f"_trunc{args.truncation:g}"
    paths = [out] if one_file else [out / f"{stem}_seed{args.seed}_{i:03d}.png" for i in range(args.n)]
    _check_new(paths, args.overwrite)
    images = generate(model, args.n, args.seed, label=args.label, truncation=args.truncation)
    for img, path in zip(images, paths, strict=True):
        _save_png(img, path)
        print(path)


def cmd_translate(args) -> None:
    from . import load_model, translate

    model = load_model(args.model, device=args.device)
    _map_images(args, lambda p: translate(model, p, ensemble=args.ensemble))


def cmd_denoise(args) -> None:
    from . import denoise, load_model
    from .hub import ModelLoadError
    from .pipelines import looks_gray

    sigma = None if args.sigma is None or args.sigma.strip().lower() == "auto" else _float(args.sigma, "--sigma")

    def report(p, name, img):
        log.info("%s: %s, sigma %.1f", p, name, img.info["genrepair_sigma"])  # shown with -v
        if sigma is None and img.info.get("genrepair_unchanged") and not img.info.get("genrepair_sigma_unmeasured"):
            log.warning(
                "%s: the noise level reads sigma %.1f, below 1: nothing to remove, written unchanged (give --sigma "
                "to denoise it anyway)",
                p, img.info["genrepair_sigma"],
            )  # fmt: skip
        if grain := img.info.get("genrepair_sigma_shared"):  # only in automatic mode
            log.warning(
                "%s: grain its colour channels share reads sigma %.0f, which the automatic level (%.1f) leaves; if the "
                "output still looks grainy, try --sigma %.0f or a little less",
                p, grain, img.info["genrepair_sigma"], grain,
            )  # fmt: skip
        return img

    if args.model is not None:
        model = load_model(args.model, device=args.device)
        _check_sigma(sigma, [model])
        _map_images(args, lambda p: report(p, args.model, denoise(model, p, sigma=sigma, ensemble=args.ensemble)))
        return
    # no --model: the gray model for gray pictures (a color model loses 0.4-5 dB on them). Both are loaded before
    # anything is written; one that cannot be loaded leaves its pictures to the other, with a warning.
    models, failed = {}, {}
    for name in ("denoise.color", "denoise.gray"):
        try:
            models[name] = load_model(name, device=args.device)
        except ModelLoadError as e:
            failed[name] = e
    if not models:
        raise failed["denoise.color"]
    _check_sigma(sigma, models.values())
    for name, e in failed.items():
        log.warning("%s is not available (%s); its pictures go to the other model", name, str(e)[:200])

    def run(p):
        wanted = "denoise.gray" if looks_gray(p) else "denoise.color"
        name = wanted if wanted in models else next(iter(models))
        return report(p, name, denoise(models[name], p, sigma=sigma, ensemble=args.ensemble))

    _map_images(args, run)


def _check_sigma(sigma: float | None, models) -> None:
    """A given --sigma within every model's range, before any folder is made or image read."""
    from .pipelines import check_sigma

    for model in models if sigma is not None else ():
        try:
            check_sigma(sigma, float(getattr(model, "sigma_max", 75.0)))
        except ValueError as e:
            raise CLIError(f"--{e}") from None


def cmd_inpaint(args) -> None:
    from . import inpaint, load_model
    from .pipelines import read_mask

    model = load_model(args.model, device=args.device)
    args.inputs = [args.image]
    side_inputs = [Path(f) for f in (args.mask, args.sketch) if f is not None]

    hole = read_mask(args.mask)
    hole = ~hole if args.invert_mask else hole
    if not hole.any():  # before any folder is made (the Python API gives the image back)
        raise CLIError(f"{args.mask}: the mask is empty (no white pixels): nothing to fill; white = hole")
    _map_images(args, lambda p: inpaint(model, p, hole, args.sketch, ensemble=args.ensemble), protect=side_inputs)


def cmd_convert(args) -> None:
    from .convert import convert
    from .hub import weights_dir

    out = convert(args.src, args.arch, args.output, overwrite=args.overwrite)
    print(out)
    # README's `--output weights/NAME`, run in another folder than the checkout: not where names are looked up
    if out.parent.name == "weights" and out.resolve().parent != weights_dir().resolve():
        print(f"genrepair: note: load it as -m {out}; by name ({out.name}) models are looked up in {weights_dir()} "
              "(GENREPAIR_WEIGHTS=DIR looks in DIR instead)", file=sys.stderr)  # fmt: skip


PUSHED = ("config.json", "model.safetensors", "README.md", "examples.jpg")  # a model folder's files, nothing else


def cmd_push(args) -> None:
    from huggingface_hub import HfApi, get_session

    from .hub import ModelLoadError, _build, _check_folder, one_line

    folder = Path(args.folder)
    if not folder.is_dir():
        raise CLIError(
            f"{folder}: no such folder; push takes a model folder (config.json, model.safetensors, README.md)"
        )
    for f in ("config.json", "model.safetensors", "README.md"):
        if not (folder / f).is_file():
            raise CLIError(f"{folder}: missing {f}; push needs a full model folder")
    try:  # as load_model would, on the CPU: a repo that does not load must not be published
        _check_folder(folder)
        _build(folder, f"folder {folder}", folder.name, None)
    except ModelLoadError as e:
        raise CLIError(f"refusing to push {folder}: {e}") from e
    api = HfApi()
    # huggingface_hub's (httpx) client waits forever by default: a Hub (or proxy) that accepts the connection and
    # never answers hung `push`. The limit is per read or write, so a large file that keeps moving is not cut off.
    get_session().timeout = args.timeout
    try:
        api.create_repo(args.repo_id, exist_ok=True, private=args.private)
        info = api.upload_folder(
            folder_path=str(folder), repo_id=args.repo_id, commit_message=args.message, allow_patterns=list(PUSHED)
        )
    except Exception as e:  # noqa: BLE001 - network, auth and Hub errors of every kind: one line, exit 2
        text = one_line(e, 300)
        hint = "; log in with `hf auth login` or set HF_TOKEN" if re.search(r"\b40[13]\b", text) else ""
        raise CLIError(f"push to {args.repo_id} failed: {type(e).__name__}: {text}{hint}") from e
    print(getattr(info, "commit_url", info))


def cmd_eval(args) -> None:
    from importlib import import_module

    from .cards import update_card
    from .hub import one_line, weights_dir

    mod = import_module(f"genrepair.evaluation.{args.task}")
    if (args.model or args.gray_model) and args.task not in ("denoise", "inpaint"):
        raise CLIError(f"--model / --gray-model apply to 'denoise' and 'inpaint', not {args.task!r}")
    if args.gray_model and args.task != "denoise":
        raise CLIError("--gray-model applies to 'denoise' only")
    if (args.model or args.gray_model) and args.update_cards:
        raise CLIError(
            "--update-cards writes the bundled models' cards; it cannot be combined with --model / --gray-model"
        )
    if args.device not in (None, "cpu") and args.from_json is None:
        print("genrepair: note: evaluation runs on the CPU (its tables report CPU time); --device is ignored",
              file=sys.stderr)  # fmt: skip
    if args.json and args.from_json is None:
        _check_writable(Path(args.json))  # before the run: an hour's results must not be lost at the end
    if args.from_json is None:
        _check_eval_models(args)
    if args.from_json is not None:
        result = _read_results(Path(args.from_json), args.task)
        print(result.get("table", ""))
    else:
        result = {"task": args.task, **mod.run(args)}
    if args.json and args.from_json is None:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))
    if args.update_cards:
        try:
            sections = mod.card_sections(result)  # all of them before any card is written
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise CLIError(f"{args.from_json or 'the results'}: incomplete {args.task} results ({one_line(e)})") from e
        for name, (tags, metrics, section) in sections.items():
            if (weights_dir() / name).is_dir():
                update_card(weights_dir() / name, tags, metrics, section)
                print(f"updated {weights_dir() / name / 'README.md'}")


def _results_task(result: dict) -> str | None:
    """The task a results file was written for: its "task" entry, or for files written before it was recorded,
    recognised by its keys."""
    if "task" in result:
        return result["task"]
    keys = [str(k) for k in result]
    if "protocol" in keys or "color_model" in keys:
        return "denoise"
    if any(k.startswith(("256:", "512:")) for k in keys):
        return "inpaint"
    if any(" -> " in k for k in keys):
        return "translate"
    if any(k.startswith(("emoji:", "avatars:")) for k in keys):
        return "generate"
    return None


def _read_results(path: Path, task: str) -> dict:
    """A results file of ``genrepair eval TASK --json``, refused when it is not one or holds another task's."""
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise CLIError(f"cannot read results from {path}: {e}") from None
    if not isinstance(result, dict) or (found := _results_task(result)) is None:
        raise CLIError(f"{path}: not a results file of `genrepair eval {task} --json`")
    if found != task:
        raise CLIError(f"{path}: holds results of `genrepair eval {found}`, not {task}")
    return result


def _check_writable(path: Path) -> None:
    if path.is_dir():
        raise CLIError(f"--json {path}: is a folder; give a file name")
    if blocking := next((p for p in path.parents if p.is_file()), None):
        raise CLIError(f"--json {path}: {blocking} is a file, not a folder")
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a"):
            pass
    except OSError as e:
        raise CLIError(f"--json {path}: cannot write there ({e.strerror or e})") from None
    if not existed:
        path.unlink()


def _check_eval_models(args) -> None:
    """Load --model / --gray-model first: a model for another task, or a gray one where a color one is
    measured, is refused before any measuring (not after the first set has run)."""
    from .hub import load_model
    from .pipelines import _check_task

    for flag, name, channels in (("--model", args.model, 3), ("--gray-model", args.gray_model, 1)):
        if name is None:
            continue
        model = load_model(name, device="cpu")
        _check_task(model, args.task)
        if args.task == "denoise" and getattr(model, "in_nc", channels) != channels:
            other = "--gray-model" if flag == "--model" else "--model"
            kind = "color" if channels == 3 else "gray"
            raise CLIError(f"{flag} {name}: eval denoise measures a {kind} model there; this one has "
                           f"{model.in_nc} channel(s) (pass it as {other})")  # fmt: skip


def _float(v: str, flag: str) -> float:
    try:
        return float(v)
    except ValueError:
        raise CLIError(f"{flag} must be a number or 'auto', got {v!r}") from None


def positive(v: str) -> float:
    """argparse type of --truncation and --timeout (argparse names it in the error): a number above 0; NaN used
    to pass."""
    t = float(v)
    if not t > 0:
        raise ValueError(v)
    return t


def build_parser() -> argparse.ArgumentParser:
    from .convert import ARCHES

    p = _Parser(prog="genrepair", description=__doc__.replace("``", ""))  # reST quotes read oddly in a terminal
    device_help = "cpu, cuda, cuda:1, mps (default: best available)"
    p.add_argument("--device", default=None, help=device_help)
    verbose_help = "also log what is loaded and the sigma used"
    p.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    p.add_argument("--version", action="version", version=f"genrepair {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    dev = argparse.ArgumentParser(add_help=False)  # --device and -v also after the command name
    dev.add_argument("--device", default=argparse.SUPPRESS, help=device_help)
    dev.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=verbose_help)
    runs = argparse.ArgumentParser(add_help=False, parents=[dev])
    runs.add_argument("--overwrite", action="store_true", help="replace existing output files (never an input file)")

    s = sub.add_parser("list", help="list registry models and model folders under weights/", parents=[dev])
    s.add_argument("--task", default=None, choices=["generate", "translate", "denoise", "inpaint"])
    s.set_defaults(fn=cmd_list)

    s = sub.add_parser("generate", help="sample images from a generator", parents=[runs])
    s.add_argument("-m", "--model", default="gan.emoji", help=MODEL_HELP)
    s.add_argument("--n", type=int, default=16, help="number of images, 1-256 (default 16)")
    s.add_argument("--seed", type=int, default=0, help="image i uses seed + i: the same seed, the same images")
    s.add_argument(
        "--label",
        default=None,
        help="a class of a conditional model, e.g. 'Animals & Nature' (a wrong one lists the valid ones)",
    )
    s.add_argument(
        "--truncation", type=positive, default=TRUNCATION_OFF,
        help="resample latent values beyond this many standard deviations (e.g. 1.5: cleaner, less varied)",
    )  # fmt: skip
    s.add_argument("-o", "--output", required=True, help="folder for the PNG files, or one .png file name with --n 1")
    s.set_defaults(fn=cmd_generate)

    for name, fn, default, model_help in (
        ("translate", cmd_translate, "cyclegan.flat2fluent3d", f"{MODEL_HELP} (default: cyclegan.flat2fluent3d)"),
        ("denoise", cmd_denoise, None, f"{MODEL_HELP} (default: denoise.gray for gray images, else denoise.color)"),
    ):
        s = sub.add_parser(name, help=f"{name} images (files or folders)", parents=[runs])
        s.add_argument("inputs", nargs="+", help="image files and/or folders of images")
        s.add_argument("-m", "--model", default=default, help=model_help)
        s.add_argument("-o", "--output", required=True, help=OUTPUT_HELP)
        s.add_argument(
            "-r", "--recursive", action="store_true",
            help="also the images in the folders' subfolders, written to the same subfolders under --output",
        )  # fmt: skip
        if name == "denoise":
            s.add_argument("--sigma", default="auto", help="noise level, 0-75 on the 0-255 scale, or 'auto' (default)")
            s.add_argument(
                "--ensemble", type=int, default=1, choices=(1, 2, 4, 8),
                help="average this many flipped/rotated passes (8: +0.1-0.2 dB for 6-9x the time)",
            )  # fmt: skip
        else:
            s.add_argument(
                "--ensemble", type=int, default=1, choices=(1, 2),
                help="2: average with the translation of the mirrored image (cleaner, 2x the time)",
            )  # fmt: skip
        s.set_defaults(fn=fn)

    s = sub.add_parser("inpaint", help="fill the holes of a mask (white = hole)", parents=[runs])
    s.add_argument("image", help="the picture to repair (any format Pillow reads; the result is a PNG)")
    s.add_argument(
        "--mask", required=True,
        help="same size as the image; white = the hole to fill (with transparency: the opaque part, or the "
        "transparent part of a mostly opaque mask, as OpenAI's edit masks)",
    )  # fmt: skip
    s.add_argument("--invert-mask", action="store_true", help="fill where the mask is black (or its other part)")
    s.add_argument(
        "--sketch", default=None,
        help="optional: white strokes on black (or opaque on transparent) where edges should run inside the hole",
    )  # fmt: skip
    s.add_argument("-m", "--model", default="inpaint.photo", help=f"{MODEL_HELP} (default: inpaint.photo)")
    s.add_argument("-o", "--output", required=True, help=OUTPUT_HELP)
    s.add_argument(
        "--ensemble", type=int, default=1, choices=(1, 2, 4, 8),
        help="average the fills of this many flipped/rotated passes (8: +0.1-0.2 dB in the hole for 8x the time)",
    )  # fmt: skip
    s.set_defaults(fn=cmd_inpaint)

    s = sub.add_parser("convert", help="official CycleGAN / KAIR .pth -> weights folder", parents=[dev])
    s.add_argument("src")
    s.add_argument("--arch", required=True, choices=ARCHES)
    s.add_argument("-o", "--output", required=True, help="the model folder to write")
    s.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the config.json, model.safetensors or README.md a folder holds",
    )
    s.set_defaults(fn=cmd_convert)

    s = sub.add_parser(
        "push", help="publish a model folder's files (" + ", ".join(PUSHED) + ") to the Hub", parents=[dev]
    )
    s.add_argument("folder")
    s.add_argument("--repo-id", required=True)
    s.add_argument("--private", action="store_true")
    s.add_argument("--message", default="Upload genrepair model")
    s.add_argument(
        "--timeout",
        type=positive,
        default=120.0,
        help="seconds to wait on a silent connection to the Hub API before giving up (default 120; hf_xet's "
        "large-file transfers keep their own timeouts)",
    )
    s.set_defaults(fn=cmd_push)

    s = sub.add_parser("eval", help="print a task's evaluation table", parents=[dev])
    s.add_argument("task", choices=["denoise", "inpaint", "generate", "translate"])
    s.add_argument("--json", default=None, help="also write the results to this JSON file")
    s.add_argument(
        "--data-root",
        default=None,
        help="the shared data folder (default: $GENREPAIR_DATA, else ../shared/data beside the repository)",
    )
    s.add_argument("--quick", action="store_true", help="a small subset, for a smoke test")
    s.add_argument(
        "-m", "--model", default=None,
        help="denoise/inpaint: evaluate this registry name or model folder (default: bundled)",
    )  # fmt: skip
    s.add_argument("--gray-model", default=None, help="denoise: the grayscale model (default: denoise.gray)")
    s.add_argument("--threads", type=int, default=0, help="CPU threads (default: torch's choice)")
    s.add_argument("--update-cards", action="store_true", help="write the results into weights/<name>/README.md")
    s.add_argument(
        "--from-json", type=Path, help="do not measure: reuse a JSON file an earlier run wrote (with --update-cards)"
    )
    s.set_defaults(fn=cmd_eval)
    return p


def _expand_home(args: argparse.Namespace) -> None:
    """``~/x`` in a file or folder argument means the home folder, also where the shell did not expand it
    (``--output=~/x``, quoted): never a folder named ``~`` here (which a later ``rm -rf ~`` would regret)."""
    for key in ("output", "mask", "sketch", "src", "json", "from_json", "data_root", "image", "folder"):
        value = getattr(args, key, None)
        if isinstance(value, str | Path) and str(value).startswith("~"):
            setattr(args, key, type(value)(os.path.expanduser(str(value))))
    if isinstance(getattr(args, "inputs", None), list):
        args.inputs = [os.path.expanduser(v) if isinstance(v, str) and v.startswith("~") else v for v in args.inputs]


def main(argv: list[str] | None = None) -> int:
    from .convert import ConversionError
    from .hub import ModelLoadError
    from .imageio import ImageInputError

    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):  # no command at all: the overview, not an error
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    _expand_home(args)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    if args.device and args.command != "eval":  # eval measures on the CPU and says so; --from-json measures nothing
        try:
            from .device import pick_device

            pick_device(args.device)
        except (RuntimeError, ValueError) as e:
            print(f"genrepair: error: {e}", file=sys.stderr)
            return 2
    try:
        args.fn(args)
    except BrokenPipeError:  # `genrepair list | head`: the reader has gone, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CLIError, ImageInputError, ModelLoadError, ConversionError, ValueError, KeyError, OSError) as e:
        text = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)  # str(KeyError) adds quotes
        msg = text.strip().splitlines()[0] if text.strip() else type(e).__name__
        print(f"genrepair: error: {msg}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError) as e:
        from .device import is_out_of_memory

        if not is_out_of_memory(e):
            raise
        print("genrepair: error: out of memory; try a smaller image (on a GPU: or --device cpu)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
