"""Convert official CycleGAN and KAIR/DPIR ``.pth`` checkpoints into ``weights/<name>/`` folders.

The only place in genrepair that reads pickles, and only with ``torch.load(weights_only=True)``.
Sizes (ngf, blocks, layers, channels) are read from tensor shapes, never guessed from file names.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError

from .hub import one_line, save_model
from .models import DnCNN, DRUNet, FFDNet, ResnetGenerator
from .models.cyclegan import decoder_layout

ARCHES = ("cyclegan", "dncnn", "ffdnet", "drunet")
_STALE = ("running_mean", "running_var", "num_batches_tracked")
OUTPUTS = ("config.json", "model.safetensors", "README.md")


class ConversionError(ValueError):
    """The file is not a checkpoint of the requested architecture."""


def read_state_dict(src: str | Path) -> dict[str, torch.Tensor]:
    src = Path(src)
    if src.is_dir():
        raise ConversionError(f"{src}: is a folder; give the checkpoint file (.pth)")
    if not src.is_file():
        raise ConversionError(f"{src}: no such file")
    try:
        obj = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - unpickling refuses anything but plain tensors/containers
        # torch's own message advises weights_only=False; say what was found instead
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        why = (
            f"it pickles a Python object ({found.group(1)}); only plain tensors are read (weights_only=True)"
            if found
            else "not a PyTorch checkpoint that loads with weights_only=True"
        )
        raise ConversionError(f"{src.name}: refused: {why}") from e
    for key in ("state_dict", "params", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConversionError(f"{src.name}: expected a dict of tensors (a state_dict)")
    return {re.sub(r"^(module\.|_orig_mod\.)+", "", k): v for k, v in obj.items()}


def _count(sd: dict, pattern: str) -> int:
    return sum(1 for k in sd if re.fullmatch(pattern, k))


def build(arch: str, sd: dict[str, torch.Tensor]) -> torch.nn.Module:
    """Instantiate ``arch`` with sizes read from ``sd`` and load it strictly."""
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
            convs = sorted(int(k.split(".")[1]) for k in sd if re.fullmatch(r"model\.\d+\.weight", k))
            first, last = sd[f"model.{convs[0]}.weight"], sd[f"model.{convs[-1]}.weight"]
            if first.shape[1] != last.shape[0]:  # x - net(x) needs as many outputs as inputs
                raise ConversionError(
                    f"not a dncnn checkpoint: {first.shape[1]} input but {last.shape[0]} output channels "
                    "(an FFDNet? try --arch ffdnet)"
                )
            model = DnCNN(in_nc=first.shape[1], out_nc=last.shape[0], nc=first.shape[0], nb=len(convs))
        elif arch == "ffdnet":
            convs = sorted(int(k.split(".")[1]) for k in sd if re.fullmatch(r"model\.\d+\.weight", k))
            first, last = sd[f"model.{convs[0]}.weight"], sd[f"model.{convs[-1]}.weight"]
            if first.shape[1] < 5 or (first.shape[1] - 1) % 4 or last.shape[0] % 4:
                raise ConversionError(
                    f"not an ffdnet checkpoint: {first.shape[1]} input / {last.shape[0]} output channels, expected "
                    "4*C+1 / 4*C (a DnCNN? try --arch dncnn)"
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
        article = "an" if arch[:1] in "aeiouf" else "a"  # "an ffdnet": the letter is read "ef"
        why = f"missing tensor {e.args[0]!r}" if isinstance(e, KeyError) else one_line(e, 600)
        guess = guess_arch(sd)
        hint = f" (its tensors look like {guess}'s: try --arch {guess})" if guess not in (None, arch) else ""
        raise ConversionError(f"not {article} {arch} checkpoint: {why}{hint}") from e
    return model.eval()


def guess_arch(sd: dict[str, torch.Tensor]) -> str | None:
    """The architecture a state dict's key names point to, for the error of a wrong ``--arch``."""
    if "m_head.weight" in sd:
        return "drunet"
    if any(".conv_block." in k for k in sd):
        return "cyclegan"
    first = sd.get("model.0.weight")
    if first is not None and first.ndim == 4:  # KAIR's flat stacks: FFDNet takes 4*C+1 channels
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
    if src.resolve().parent == output.resolve() and src.name in ("config.json", "model.safetensors", "README.md"):
        raise ConversionError(f"{src}: refusing to overwrite the input file; choose another --output folder")
    held = [n for n in OUTPUTS if (output / n).exists()]
    if held and not overwrite:
        raise ConversionError(f"{output}: already holds {', '.join(held)}; pass --overwrite to replace it")
    model = build(arch, read_state_dict(src))
    n_params = sum(p.numel() for p in model.parameters())
    card = f"""---
library_name: genrepair
tags: [genrepair, {arch}]
---
# {output.name}

Converted with `genrepair convert {src.name} --arch {arch}` from an official `{arch}` checkpoint
({n_params:,} parameters). The weights are the original authors'; see their license.
Source file: `{src.name}`.
"""
    return _save_whole(model, output, card)


def _save_whole(model: torch.nn.Module, output: Path, card: str) -> Path:
    """Write the files into a temporary folder inside ``output``, then move them in: a failed write (a full
    disk) leaves a model that was there as it was, and no half-written one."""
    existed = output.is_dir()
    try:
        output.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=output))  # inside: only the folder must be writable
    except OSError as e:
        raise ConversionError(f"{output}: cannot write there ({one_line(e)})") from e
    try:
        save_model(model, staging, card)
        for name in OUTPUTS:
            os.replace(staging / name, output / name)
    except (OSError, SafetensorError) as e:
        shutil.rmtree(staging, ignore_errors=True)
        if not existed:
            shutil.rmtree(output, ignore_errors=True)  # only the staging folder was in it
        raise ConversionError(f"{output}: could not write the model ({one_line(e)})") from e
    shutil.rmtree(staging, ignore_errors=True)
    return output
