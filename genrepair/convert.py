"""Convert official CycleGAN and KAIR/DPIR ``.pth`` checkpoints into ``weights/<name>/`` folders.

The only place in genrepair that reads pickles, and only with ``torch.load(weights_only=True)``.
Sizes (ngf, blocks, layers, channels) are read from tensor shapes, never guessed from file names.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from .hub import channel_problem, one_line, save_model, weights_dir
from .models import DnCNN, DRUNet, FFDNet, ResnetGenerator
from .models.cyclegan import decoder_layout
from .registry import REGISTRY

log = logging.getLogger("genrepair")
ARCHES = ("cyclegan", "dncnn", "ffdnet", "drunet")
_STALE = ("running_mean", "running_var", "num_batches_tracked")
OUTPUTS = ("config.json", "model.safetensors", "README.md")
# files genrepair writes into a model folder that describe that model and that a conversion does not write
# (scripts/make_card_images.py): --overwrite removes them, or the new model would be pushed with the old pictures
DESCRIBE_OLD = ("examples.jpg",)
WRAPPERS = ("state_dict", "params_ema", "params", "model")  # checked in this order, each inside the one before


class ConversionError(ValueError):
    """The file is not a checkpoint of the requested architecture."""


def read_state_dict(src: str | Path) -> dict[str, torch.Tensor]:
    """The state dict a checkpoint file holds (see ``read_checkpoint``)."""
    return read_checkpoint(src)[0]


def read_checkpoint(src: str | Path) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The state dict a checkpoint file holds and the keys it was found under (``[]``: the file is one).

    Training checkpoints wrap it: ``state_dict`` (Lightning), ``params_ema``/``params`` (BasicSR, KAIR), ``model``.
    With both, ``params_ema`` (the EMA weights) is read, as BasicSR's test configs do: they are the better ones.
    """
    src = Path(src)
    if src.is_dir():
        raise ConversionError(f"{src}: is a folder; give the checkpoint file (.pth)")
    if not src.is_file():
        raise ConversionError(f"{src}: no such file")
    if _safetensors(src):  # a safetensors file named .pth: read as what it is, not refused as a pickle
        try:
            obj = load_file(str(src))
        except (SafetensorError, OSError) as e:
            why = f"the file is a damaged or truncated safetensors file ({one_line(e, 120)})"
            raise ConversionError(f"{src.name}: refused: {why}") from e
    else:
        obj = _load_pickle(src)
    keys = []
    for key in WRAPPERS:
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            keys.append(key)
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConversionError(f"{src.name}: expected a dict of tensors (a state_dict)")
    return {re.sub(r"^(module\.|_orig_mod\.)+", "", k): v for k, v in obj.items()}, keys


def _safetensors(src: Path) -> bool:
    """The file is laid out as safetensors, whatever its name: an 8-byte little-endian header length (at most
    safetensors' 100 MB; a zip or a pickle reads as far more), then the JSON header."""
    try:
        with open(src, "rb") as f:
            head = f.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:] == b"{" and int.from_bytes(head[:8], "little") <= 100_000_000


def _load_pickle(src: Path):
    """``torch.load(weights_only=True)``; its errors say what the file is (torch's own advise weights_only=False)."""
    try:
        return torch.load(src, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - unpickling refuses anything but plain tensors/containers
        text = str(e)
        found = re.search(r"unsupported (?:global: )?GLOBAL (\S+)", text, re.IGNORECASE)  # torch's wording varies
        damaged = re.search(
            r"PytorchStreamReader|central directory|corrupt|truncat|ran out of input|EOF|negative seek", text, re.I
        )
        if found:
            why = f"it pickles a Python object ({found.group(1)}); only plain tensors are read (weights_only=True)"
        elif _torchscript(src):
            why = "a TorchScript file (torch.jit.save), which is code; give the state_dict saved with torch.save"
        elif damaged or isinstance(e, OSError) or src.stat().st_size == 0:  # a half-written file: Errno 22 on seek
            why = f"the file is damaged, truncated or not a PyTorch checkpoint ({one_line(e, 120)})"
        else:
            why = "not a PyTorch checkpoint that loads with weights_only=True"
        raise ConversionError(f"{src.name}: refused: {why}") from e


_FIRST_KEY = {"cyclegan": r"model\.1\.weight", "dncnn": r"model\.\d+\.weight", "ffdnet": r"model\.\d+\.weight",
              "drunet": r"m_head\.weight"}  # fmt: skip


def _strip_prefix(sd: dict, arch: str) -> dict:
    """``sd`` without a prefix that every key shares (a training wrapper's attribute: Lightning's ``model.``, a
    GAN trainer's ``netG.``), when the official layout's first key shows only without it."""
    probe, keys, removed = _FIRST_KEY.get(arch), dict(sd), []
    while probe is not None and len(removed) < 3 and not any(re.fullmatch(probe, k) for k in keys):
        heads = {k.split(".", 1)[0] for k in keys}
        if len(heads) != 1 or any("." not in k for k in keys):
            return sd  # no shared prefix: the errors below name the keys as they are
        removed.append(heads.pop())
        keys = {k.split(".", 1)[1]: v for k, v in keys.items()}
    if removed and any(re.fullmatch(probe, k) for k in keys):
        log.info("removed the prefix %s. that every key shares", ".".join(removed))
        return keys
    return sd


def _article(arch: str) -> str:
    return "an" if arch[:1] in "aeiouf" else "a"  # "an ffdnet": the letter is read "ef"


def _torchscript(src: Path) -> bool:
    """A zip archive holding TorchScript code (``torch.jit.save``), which ``torch.load`` refuses."""
    import zipfile

    try:
        with zipfile.ZipFile(src) as z:
            return any(n.split("/", 1)[-1].startswith(("code/", "constants.pkl")) for n in z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def _try_instead(sd: dict, arch: str, otherwise: str | None = None) -> str:
    """The hint for a checkpoint that is not ``arch``: what its key names point to, else ``otherwise`` (or none)."""
    heads = sorted({k.split(".", 1)[0] for k in sd if "." in k})
    if len(heads) > 1 and all(h.startswith("net") for h in heads):  # a GAN trainer's networks saved together
        return f" (it holds several networks, {', '.join(heads)}: save one's state_dict on its own)"
    first = next((v for k, v in sd.items() if re.fullmatch(r"(netD\.)?model\.0\.weight", k)), None)
    if first is not None and first.ndim == 4 and tuple(first.shape[2:]) == (4, 4):
        return " (its 4x4 convolutions are a PatchGAN discriminator's: convert the generator, latest_net_G_A.pth)"
    guess = guess_arch(sd)
    if guess not in (None, arch):
        return f" (its tensors look like {guess}'s: try --arch {guess})"
    return f" ({otherwise})" if otherwise else ""


def _kair_convs(sd: dict, arch: str) -> list[int]:
    """The layer numbers of KAIR's flat ``model.N.weight`` stack, refusing a file that has none (naming what it has)."""
    convs = sorted(int(k.split(".")[1]) for k in sd if re.fullmatch(r"model\.\d+\.weight", k))
    if not convs:
        sample = ", ".join(sorted(sd)[:3])
        raise ConversionError(
            f"not {_article(arch)} {arch} checkpoint: no model.N.weight tensors (KAIR's layout); "
            f"its keys start {sample}" + _try_instead(sd, arch, "a prefix other than module. to remove?")
        )
    return convs


def _count(sd: dict, pattern: str) -> int:
    return sum(1 for k in sd if re.fullmatch(pattern, k))


def build(arch: str, sd: dict[str, torch.Tensor], name: str = "") -> torch.nn.Module:
    """Instantiate ``arch`` with sizes read from ``sd`` and load it strictly; refuse what would load but not run
    (``name``, the file's, starts those messages)."""
    sd = _strip_prefix(sd, arch)
    try:
        if arch == "cyclegan":
            sd = {k: v for k, v in sd.items() if not k.endswith(_STALE)}
            # the dropout variant shifts a block's second conv from conv_block.5 to conv_block.6
            sd = {re.sub(r"conv_block\.6\.", "conv_block.5.", k): v for k, v in sd.items()}
            ngf = sd["model.1.weight"].shape[0]
            n_blocks = _count(sd, r"model\.\d+\.conv_block\.1\.weight")
            last = max(int(k.split(".")[1]) for k in sd if re.fullmatch(r"model\.\d+\.weight", k))
            model = ResnetGenerator(
                input_nc=sd["model.1.weight"].shape[1],
                output_nc=sd[f"model.{last}.weight"].shape[0],
                ngf=ngf,
                n_blocks=n_blocks,
                upsample=decoder_layout(sd),  # a genrepair resize-convolution model saved as .pth converts too
            )
        elif arch == "dncnn":
            convs = _kair_convs(sd, arch)
            first, last = sd[f"model.{convs[0]}.weight"], sd[f"model.{convs[-1]}.weight"]
            if first.shape[1] != last.shape[0]:  # x - net(x) needs as many outputs as inputs
                raise ConversionError(
                    f"not a dncnn checkpoint: {first.shape[1]} input but {last.shape[0]} output channels"
                    + _try_instead(sd, arch, "an FFDNet? try --arch ffdnet")
                )
            model = DnCNN(in_nc=first.shape[1], out_nc=last.shape[0], nc=first.shape[0], nb=len(convs))
        elif arch == "ffdnet":
            convs = _kair_convs(sd, arch)
            first, last = sd[f"model.{convs[0]}.weight"], sd[f"model.{convs[-1]}.weight"]
            if first.shape[1] < 5 or (first.shape[1] - 1) % 4 or last.shape[0] % 4:
                raise ConversionError(
                    f"not an ffdnet checkpoint: {first.shape[1]} input / {last.shape[0]} output channels, expected "
                    "4*C+1 / 4*C" + _try_instead(sd, arch, "a DnCNN? try --arch dncnn")
                )
            model = FFDNet(in_nc=(first.shape[1] - 1) // 4, out_nc=last.shape[0] // 4, nc=first.shape[0], nb=len(convs))
        elif arch == "drunet":
            head = sd["m_head.weight"]
            nc = [head.shape[0]] + [sd[f"m_down{i}.{j}.weight"].shape[0] for i in (1, 2, 3)
                                    for j in [_count(sd, rf"m_down{i}\.\d+\.res\.0\.weight")]]  # fmt: skip
            nb = _count(sd, r"m_down1\.\d+\.res\.0\.weight")
            bias = any(k.endswith(".bias") for k in sd)
            model = DRUNet(in_nc=head.shape[1] - 1, out_nc=sd["m_tail.weight"].shape[0], nc=nc, nb=nb, bias=bias)
        else:
            raise ConversionError(f"unknown --arch {arch!r}; valid: {', '.join(ARCHES)}")
        model.load_state_dict(sd, strict=True)
    except ConversionError:
        raise
    except (KeyError, IndexError, RuntimeError, ValueError) as e:
        why = f"missing tensor {e.args[0]!r}" if isinstance(e, KeyError) else one_line(e, 600)
        raise ConversionError(f"not {_article(arch)} {arch} checkpoint: {why}{_try_instead(sd, arch)}") from e
    _check_usable(model, sd, f"{name}: " if name else "")
    return model.eval()


def _check_usable(model: torch.nn.Module, sd: dict[str, torch.Tensor], where: str) -> None:
    """Refuse weights that load strictly but that ``load_model`` refuses or the pipelines cannot run.

    ``load_state_dict`` casts integers to float without a word (a quantized file would run as garbage), and NaN
    only shows when the converted folder is loaded; a model of other channel counts than the pipelines hand over
    (1 gray, 3 RGB) would fail inside the network on its first image: ``hub.channel_problem`` refuses it here, as
    ``load_model`` does, rather than guess what its extra channels mean (alpha, a mask, a label map).
    """
    own = model.state_dict()
    if ints := [k for k, v in sd.items() if k in own and own[k].is_floating_point() and not v.is_floating_point()]:
        raise ConversionError(
            f"{where}weight {ints[0]} is stored as {sd[ints[0]].dtype}, not a float type (a quantized "
            "checkpoint?); give the float one: integer values would be cast to float and run as garbage"
        )
    if bad := [k for k, v in sd.items() if v.is_floating_point() and not torch.isfinite(v.float()).all()]:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise ConversionError(
            f"{where}weight {bad[0]}{more} holds NaN or infinite values (a diverged training run or a damaged file)"
        )
    if problem := channel_problem(model):  # load_model refuses the same models
        raise ConversionError(f"{where}{problem}")


def guess_arch(sd: dict[str, torch.Tensor]) -> str | None:
    """The architecture a state dict's key names point to, for the error of a wrong ``--arch``."""
    if "m_head.weight" in sd:
        return "drunet"
    if any(".conv_block." in k for k in sd):
        return "cyclegan"
    first = sd.get("model.0.weight")
    if first is not None and first.ndim == 4 and tuple(first.shape[2:]) == (3, 3):  # KAIR's flat stacks: FFDNet
        # takes 4*C+1 channels
        return "ffdnet" if first.shape[1] in (5, 13) else "dncnn"
    return None


def convert(src: str | Path, arch: str, output: str | Path, overwrite: bool = False) -> Path:
    """Convert an official checkpoint into a model folder (config.json, model.safetensors, model card).
    A folder that already holds any of those files (a project's README.md too) is written only with ``overwrite``."""
    src, output = Path(src), Path(output)
    if arch not in ARCHES:
        raise ConversionError(f"unknown --arch {arch!r}; valid: {', '.join(ARCHES)}")
    if output.exists() and not output.is_dir():
        raise ConversionError(f"{output}: exists and is not a folder; --output names the model folder to write")
    if any(src.resolve() == (output / n).resolve() for n in OUTPUTS):  # through a link of another name too
        raise ConversionError(f"{src}: refusing to overwrite the input file; choose another --output folder")
    out = output.resolve()
    if out.parent == weights_dir().resolve() and out.name in REGISTRY and not overwrite:  # load_model reads it first
        raise ConversionError(
            f"{output}: it would replace the registry model {out.name}; choose another folder name or pass --overwrite"
        )
    held = [n for n in OUTPUTS if os.path.lexists(output / n)]  # a dangling link is held too
    if held and not overwrite:
        raise ConversionError(f"{output}: already holds {', '.join(held)}; pass --overwrite to replace it")
    sd, keys = read_checkpoint(src)
    model = build(arch, sd, src.name)
    n_params = sum(p.numel() for p in model.parameters())
    entry = ""
    if keys:
        ema = " (the EMA weights, which BasicSR's tests read)" if keys[-1] == "params_ema" else ""
        entry = f"Weights: the file's `{'` > `'.join(keys)}` entry{ema}.\n"
    card = f"""---
library_name: genrepair
tags: [genrepair, {arch}]
---
# {output.name}

Converted with `genrepair convert {src.name} --arch {arch}` from an official `{arch}` checkpoint
({n_params:,} parameters). The weights are the original authors'; see their license.
Source file: `{src.name}`.
{entry}"""
    # the old model's pictures, only where a model was (a project folder's own examples.jpg is not ours)
    stale = [output / n for n in DESCRIBE_OLD if _held_a_model(output) and (output / n).is_file()]
    _save_whole(model, output, card)
    for path in stale:  # after the new model is in: a failed write keeps the old model whole
        path.unlink(missing_ok=True)
        log.warning("removed %s: it showed the model this conversion replaced", path)
    return output


def _held_a_model(folder: Path) -> bool:
    """The folder held a genrepair model: weights and a config naming its class (a project's own config.json
    and pictures are not ours to remove)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and "_class_name" in config and (folder / "model.safetensors").is_file()


def _save_whole(model: torch.nn.Module, output: Path, card: str) -> Path:
    """Write the files into a temporary folder inside ``output``, then move them in: a failed write (a full
    disk) leaves a model that was there as it was, and no half-written one."""
    existed = output.is_dir()
    try:
        output.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=output))  # inside: only the folder must be writable
    except OSError as e:
        raise ConversionError(f"{output}: cannot write there ({one_line(e)})") from e
    moved = False
    try:
        save_model(model, staging, card)
        for name in OUTPUTS:
            os.replace(staging / name, output / name)
        moved = True
    except (OSError, SafetensorError) as e:
        raise ConversionError(f"{output}: could not write the model ({one_line(e)})") from e
    finally:  # Ctrl-C too: no hidden copy of the model is left behind
        shutil.rmtree(staging, ignore_errors=True)
        if not moved and not existed:
            shutil.rmtree(output, ignore_errors=True)  # only the staging folder was in it
    return output
