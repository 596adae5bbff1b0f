"""What every training script shares: arguments, resumable checkpoints in runs/, TensorBoard, export."""

from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import random
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import numpy as np
import torch
from torch import nn

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def base_parser(name: str, description: str) -> argparse.ArgumentParser:
    from ..cli import _Parser  # a usage error in one line, as the genrepair command reports it

    p = _Parser(description=description)
    p.add_argument("--data-root", type=Path, default=Path(os.environ.get("GENREPAIR_DATA", DEFAULT_DATA)))
    p.add_argument(
        "--run-dir", type=Path, help=f"resumable checkpoints + logs (default: runs/<model name>, e.g. runs/{name})"
    )
    p.add_argument(
        "--output",
        type=Path,
        help=f"model folder to write (default: weights/<model name>, e.g. weights/{name}: REPLACES the release)",
    )
    p.add_argument("--init-from", type=Path, default=None, help="start from this weights/ folder")
    p.add_argument("--steps", type=int, default=100_000, help="stop after this many steps in total")
    p.add_argument("--minutes", type=float, default=60.0, help="stop after this much wall time in this run")
    p.add_argument(
        "--cpu-minutes",
        type=float,
        default=None,
        help="stop once this much process CPU time is spent, over all resumes",
    )
    p.add_argument("--batch-size", type=positive_int, default=16)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--threads", type=positive_int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-every", type=float, default=5.0, help="minutes between checkpoints")
    p.add_argument("--export-only", action="store_true", help="export runs/<name>/last.pt to --output and stop")
    return p


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def settle(args: argparse.Namespace, name: str) -> None:
    """Default ``--run-dir`` runs/<name> and ``--output`` weights/<name> (a given one is kept as it is), and seed
    every random number generator before any model is built, so ``--seed`` fixes a from-scratch run's start."""
    args.run_dir = args.run_dir or Path("runs") / name
    args.output = args.output or Path("weights") / name
    random.seed(args.seed)
    np.random.seed(args.seed % 2**32)
    torch.manual_seed(args.seed)


def run_main(main: Callable[[], None]) -> None:
    """Run a trainer's ``main``; a bad folder, file or option ends it with one line on stderr and exit status 2,
    as the ``genrepair`` command and argparse do, not a traceback (or status 1)."""
    from PIL import UnidentifiedImageError

    from ..hub import ModelLoadError, one_line

    try:
        main()
    except SystemExit as e:
        if not isinstance(e.code, str):  # argparse's own errors (status 2 already), --help, a normal end
            raise
        _refuse(e.code)
    except (ModelLoadError, OSError, UnidentifiedImageError, ValueError, KeyError) as e:
        _refuse(one_line(e, 500))
    except RuntimeError as e:
        if "loading state_dict" not in str(e):
            raise
        _refuse(f"the weights do not fit this run's options (architecture flags, --gray, dataset): {one_line(e, 400)}")


def _refuse(message: str) -> NoReturn:
    print(f"{Path(sys.argv[0]).name}: error: {message.removeprefix('error: ')}", file=sys.stderr)
    sys.exit(2)


def patch_discriminator(ndf: int = 64, n_layers: int = 3) -> nn.Sequential:
    """The official CycleGAN/pix2pix 70x70 PatchGAN (InstanceNorm): one logit per overlapping patch."""
    layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in range(1, n_layers + 1):
        prev, mult = mult, min(2**n, 8)
        stride = 2 if n < n_layers else 1
        layers += [
            nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1),
            nn.InstanceNorm2d(ndf * mult),
            nn.LeakyReLU(0.2, True),
        ]
    layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
    return nn.Sequential(*layers)


def read_checkpoint(path: Path) -> dict:
    """A run folder's ``last.pt``; one that is damaged (the trainer's own saves are atomic: a copy, a disk fault) is
    named in one line instead of torch's traceback."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError) as e:
        raise SystemExit(
            f"{path} is damaged or not a training checkpoint ({type(e).__name__}): move it away to start over"
        ) from e


DATA_OPTIONS = ("dataset", "a", "b", "gray")  # options that choose what a run trains on: a resume repeats them


class Trainer:
    """Keeps named modules and optimizers, resumes them from ``run_dir/last.pt`` and times the run."""

    def __init__(
        self,
        args: argparse.Namespace,
        modules: dict[str, nn.Module],
        optims: dict[str, torch.optim.Optimizer],
        rngs: dict[str, random.Random | np.random.Generator] | None = None,
        same_data: tuple[str, ...] = (),
    ):
        """``rngs``: the run's own generators (crop sampler, masks), checkpointed with torch's and Python's, so a
        resumed run continues their streams instead of replaying the batches it already trained on.
        ``same_data``: options that choose the training data (beside ``DATA_OPTIONS``), which a resume must repeat
        (cyclegan's --seed picks its unpaired halves: another one showed the model pairs)."""
        torch.set_num_threads(args.threads)
        torch.manual_seed(args.seed)
        self.args = args
        self.modules = modules
        self.optims = optims
        self.rngs = dict(rngs or {})
        self.step = 0
        self.cpu_before = 0.0  # CPU seconds spent by earlier runs of this checkpoint
        self.start = time.time()
        self.cpu_start = time.process_time()
        self.last_save = time.time()
        self.ckpt = args.run_dir / "last.pt"
        if args.export_only and not self.ckpt.exists():  # before making the folder: a typo leaves nothing behind
            raise SystemExit(f"--export-only: no checkpoint {self.ckpt} to export (check --run-dir)")
        args.run_dir.mkdir(parents=True, exist_ok=True)
        if self.ckpt.exists():
            state = read_checkpoint(self.ckpt)
            missing = {k for k in modules if k not in state["modules"]}
            missing |= {k for k in optims if k not in state["optims"]}
            if missing:
                raise SystemExit(
                    f"{self.ckpt} has no {', '.join(sorted(missing))}: it was written by a run with other options; "
                    "resume with the same options or start a new --run-dir"
                )
            if extra := sorted(set(state["modules"]) - set(modules)):  # say, --adv's discriminator, else dropped
                raise SystemExit(
                    f"{self.ckpt} also holds {', '.join(extra)}, which this run would drop: it was written by a run "
                    "with other options (--adv?); resume with the same options or start a new --run-dir"
                )
            self._check_same_data(args, (*DATA_OPTIONS, *same_data))
            for k, m in modules.items():
                m.load_state_dict(state["modules"][k])
            for k, o in optims.items():
                fresh = [g["lr"] for g in o.param_groups]  # this command's --lr wins over the checkpoint's
                o.load_state_dict(state["optims"][k])
                for g, lr in zip(o.param_groups, fresh, strict=True):
                    g["lr"] = lr
            self.step = state["step"]
            self.cpu_before = state.get("cpu_seconds", 0.0)
            self._restore_rngs(state.get("rngs"))
            print(f"resumed {self.ckpt} at step {self.step}", flush=True)
        from torch.utils.tensorboard import SummaryWriter

        # purge_step: steps logged after the last checkpoint by a killed run are dropped, not shown twice
        self.tb = SummaryWriter(str(args.run_dir / "tb"), purge_step=self.step or None)
        cmd_file = args.run_dir / "command.txt"  # every command that trained this checkpoint, one per line
        history = cmd_file.read_text().splitlines() if cmd_file.exists() and self.step > 0 else []
        if not args.export_only:
            (args.run_dir / "args.json").write_text(json.dumps({k: str(v) for k, v in vars(args).items()}, indent=1))
            if not history or history[-1].split("  # from step ")[0] != command():
                history.append(f"{command()}  # from step {self.step}" if history else command())
            cmd_file.write_text("\n".join(history) + "\n")
        self.command = "`, then `".join(history) if history else command()
        self.stop_requested = False
        # SIGTERM (kill, a session ending) and a first Ctrl-C stop at the next step boundary: checkpoint and
        # export still happen; a second Ctrl-C stops at once
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)

    def _request_stop(self, signum, frame) -> None:
        if signum == signal.SIGINT:
            print("stopping after this step (checkpoint and export follow); Ctrl-C again to abort", flush=True)
            signal.signal(signal.SIGINT, signal.default_int_handler)
        self.stop_requested = True

    def _rng_states(self) -> dict:
        states = {"torch": torch.get_rng_state(), "python": random.getstate()}
        for k, r in self.rngs.items():
            states[k] = r.getstate() if isinstance(r, random.Random) else r.bit_generator.state
        return states

    def _check_same_data(self, args: argparse.Namespace, names: tuple[str, ...]) -> None:
        saved = args.run_dir / "args.json"
        try:
            before = json.loads(saved.read_text())
        except (OSError, ValueError):
            return  # a run folder from before args.json was kept
        if changed := [n for n in names if hasattr(args, n) and n in before and before[n] != str(getattr(args, n))]:
            was = ", ".join(f"--{n.replace('_', '-')} {before[n]}" for n in changed)
            raise SystemExit(
                f"{self.ckpt} was trained with {was}; a resume must use the same data (start a new --run-dir, "
                "or --init-from its export, for other data)"
            )

    def _restore_rngs(self, states: dict | None) -> None:
        """Continue every generator's stream; a checkpoint from before they were saved gets fresh ones seeded by
        (--seed, step), which at least does not replay the batches of step 0 on."""
        if states is None:
            seed = self.args.seed * 1_000_003 + self.step
            torch.manual_seed(seed)
            random.seed(seed)
            for r in self.rngs.values():
                if isinstance(r, random.Random):
                    r.seed(seed)
                else:
                    r.bit_generator.state = type(r.bit_generator)(seed).state
            return
        torch.set_rng_state(states["torch"])
        random.setstate(states["python"])
        for k, r in self.rngs.items():
            if isinstance(r, random.Random):
                r.setstate(states[k])
            else:
                r.bit_generator.state = states[k]

    def running(self) -> bool:
        if self.args.export_only or self.stop_requested:
            return False
        if self.step >= self.args.steps or time.time() - self.start > self.args.minutes * 60:
            return False
        budget = getattr(self.args, "cpu_minutes", None)
        if budget is not None and self.cpu_seconds() >= budget * 60:
            return False
        if time.time() - self.last_save > self.args.save_every * 60:
            self.save()
        return True

    def cpu_seconds(self) -> float:
        """Process CPU time spent on this checkpoint in total (equal-CPU comparisons use it)."""
        return self.cpu_before + time.process_time() - self.cpu_start

    def log(self, **scalars: float) -> None:
        for k, v in scalars.items():
            self.tb.add_scalar(k, v, self.step)
        for k, o in self.optims.items():  # the schedule as it ran
            self.tb.add_scalar(f"lr/{k}", o.param_groups[0]["lr"], self.step)
        if self.step % 100 == 0:
            msg = " ".join(f"{k}={v:.4f}" for k, v in scalars.items())
            print(
                f"step {self.step} {time.time() - self.start:.0f}s cpu {self.cpu_seconds() / 60:.1f}min {msg}",
                flush=True,
            )

    def save(self) -> None:
        if self.args.export_only:
            return
        state = {
            "modules": {k: m.state_dict() for k, m in self.modules.items()},
            "optims": {k: o.state_dict() for k, o in self.optims.items()},
            "step": self.step,
            "cpu_seconds": self.cpu_seconds(),
            "rngs": self._rng_states(),
        }
        tmp = self.ckpt.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(self.ckpt)
        self.last_save = time.time()
        print(f"saved {self.ckpt} at step {self.step}", flush=True)


def command() -> str:
    """The command line that ran this training, for the model card."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    return f"python -m {spec.name if spec else sys.argv[0]} {' '.join(sys.argv[1:])}".strip()


def _check_init_folder(folder) -> None:
    """An ``--init-from`` folder that is not there (`weights/x` given outside the checkout, say) is named as such."""
    from ..hub import weights_dir

    if not Path(folder).is_dir():
        raise ValueError(
            f"--init-from {folder}: no such folder here ({Path.cwd()}); give the model folder's path "
            f"(the bundled ones are in {weights_dir()})"
        )


def arch_from_init(args, **defaults) -> dict:
    """Architecture flags left unset (None) take the ``--init-from`` folder's config.json value, else the
    default given here: fine-tuning a release needs no copy of its architecture on the command line.
    Returns that config ({} without ``--init-from``)."""
    from ..hub import read_config

    config = {}
    if args.init_from:
        _check_init_folder(args.init_from)
        config = read_config(args.init_from)
    for key, default in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, config.get(key, default))
    return config


def init_from(model: nn.Module, folder: Path | None, grow: bool = False) -> None:
    """Load release weights (safetensors) into ``model`` strictly, to fine-tune from them.

    ``grow=True`` lets ``model`` be a deeper copy of the released one (for the denoiser also one with a
    U-Net level more or wider levels, see ``NoiseCondUNet.fit_shallower`` and ``fit_narrower``): residual
    blocks (modules with a ``start_as_identity`` method: the denoiser's ``ResBlock``, the inpainter's ``FFCBlock``) that the
    weights do not have start as the identity (their last convolution zeroed), so the grown model computes
    exactly what the released one did and training adds depth from there. Anything else that does not
    match (a renamed or reshaped tensor, or a missing tensor outside a residual block) is still an error.
    """
    if folder is None:
        return
    from safetensors.torch import load_file

    _check_init_folder(folder)

    state = load_file(str(Path(folder) / "model.safetensors"))
    if not grow:
        model.load_state_dict(state, strict=True)
        print(f"initialised from {folder}", flush=True)
        return
    fresh: tuple[str, ...] = ()
    if hasattr(model, "fit_shallower"):  # the denoiser can also grow a U-Net level
        state, fresh = model.fit_shallower(state)
    if hasattr(model, "fit_narrower"):  # and widen its levels
        state = model.fit_narrower(state)
    own = model.state_dict()
    bad = [k for k, v in state.items() if k not in own or own[k].shape != v.shape]
    if bad:
        raise ValueError(f"{folder} does not fit the model (unknown or reshaped: {', '.join(bad[:5])})")
    new_blocks = {
        name: m
        for name, m in model.named_modules()
        if hasattr(m, "start_as_identity") and not any(k.startswith(name + ".") for k in state)
    }
    missing = [
        k
        for k in own
        if k not in state and not k.startswith(fresh) and not any(k.startswith(n + ".") for n in new_blocks)
    ]
    if missing:
        raise ValueError(f"{folder} lacks tensors outside new residual blocks: {', '.join(missing[:5])}")
    model.load_state_dict(state, strict=False)
    for m in new_blocks.values():
        m.start_as_identity()
    print(
        f"initialised from {folder}; {len(new_blocks)} new residual blocks start as the identity"
        + (f", {' and '.join(f.rstrip('.') for f in fresh)} are new" if fresh else ""),
        flush=True,
    )


class EMA:
    """Exponential moving average of a model's weights (buffers copied)."""

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int | None = None) -> None:
        # warm-up: early on the average must not be dominated by the random initialisation
        n = self.updates if step is None else step
        decay = min(self.decay, (1 + n) / (10 + n))
        self.updates += 1
        for e, p in zip(self.model.parameters(), model.parameters()):
            e.lerp_(p, 1 - decay)
        for e, b in zip(self.model.buffers(), model.buffers()):
            e.copy_(b)


def export(model: nn.Module, output: Path, card: str) -> None:
    """Write config.json + model.safetensors (via the Hub mixin) and our model card README.md."""
    from ..hub import save_model

    save_model(model, output, card)
    print(f"exported {output}", flush=True)
