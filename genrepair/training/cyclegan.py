"""Train a CycleGAN pair strictly unpaired (the official recipe, small).

    nice python -m genrepair.training.cyclegan --a fluentflat --b fluent3d --minutes 120
      -> weights/cyclegan.flat2fluent3d and weights/cyclegan.fluent3d2flat (--output DIR: DIR/cyclegan.*)

Domain A images come from one half of the train-split emoji keys and domain B from the other
half, so no pair is ever seen together. Transparency: composited on white (see model card).
Recipe: ResnetGenerator, 70x70 PatchGAN, LSGAN, cycle weight 10, identity 0.5 (``--lambda-cycle``,
``--lambda-identity``), image pool of 50, linear LR decay over the second half of ``--steps``.

Beyond the official recipe: ``--upsample bilinear`` (resize-convolution decoder, no checkerboard dots) and
``--ema`` (export an exponential moving average of each generator's weights). ``--init-from`` a model with the
other decoder layout copies every other weight and starts each resize convolution as the least-squares fit of the
transposed convolution it replaces, on features of training images; the fit cannot follow the transposed layer's
per-pixel-phase pattern (the images come out far from the old model's), so ``--distill W`` adds an L1 term of weight
W towards the old generators' outputs, decaying linearly to 0 over the first half of ``--steps``.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..cards import training_card
from ..hub import read_config
from ..models import ResnetGenerator
from ..models.cyclegan import UPSAMPLE, decoder_layout
from .common import (
    EMA,
    Trainer,
    base_parser,
    export,
    init_from,
    patch_discriminator,
    read_checkpoint,
    run_main,
    settle,
)
from .data import emoji_split, load_emoji

SHORT = {"fluentflat": "flat", "fluent3d": "fluent3d", "fluenthc": "sketch"}


class ImagePool:
    """Return a mix of current and past fakes (Shrivastava et al.), as the official code does."""

    def __init__(self, size: int = 50) -> None:
        self.size, self.images = size, []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        out = []
        for img in images.detach():
            if len(self.images) < self.size:
                self.images.append(img)
                out.append(img)
            elif random.random() < 0.5:
                i = random.randrange(self.size)
                out.append(self.images[i].clone())
                self.images[i] = img
            else:
                out.append(img)
        return torch.stack(out)


def pair_folder(init_from: Path | None, names: tuple[str, str]) -> Path | None:
    """The folder that holds both generators of the pair: ``--init-from`` itself, or its parent when it names one."""
    if init_from is None:
        return None
    for folder in (init_from, init_from.parent if init_from.name in names else None):
        if folder is not None and all((folder / n / "config.json").is_file() for n in names):
            return folder
    raise SystemExit(
        f"--init-from {init_from}: expected a folder holding {names[0]} and {names[1]} (e.g. weights), or one of them"
    )


def unpaired_keys(root, seed: int = 0) -> tuple[list[str], list[str]]:
    """Split the train keys into two disjoint halves: A from one, B from the other."""
    keys = sorted(k for k, (split, _) in emoji_split(root).items() if split == "train")
    random.Random(seed).shuffle(keys)
    half = len(keys) // 2
    return keys[:half], keys[half:]


@torch.no_grad()
def fit_upsampling(student: ResnetGenerator, teacher: ResnetGenerator, x: torch.Tensor) -> None:
    """Copy ``teacher``'s weights into ``student`` (same sizes, other decoder layout) and fit each new upsampling
    convolution by least squares to the teacher's upsampling output, given the student's own input to that layer."""
    if len(student.model) != len(teacher.model):
        raise ValueError(
            f"models differ outside the upsampling layers: {len(student.model)} vs {len(teacher.model)} layers"
        )
    ups = [i for i, m in enumerate(student.model) if type(m) is not type(teacher.model[i])]
    sd = {k: v for k, v in teacher.state_dict().items() if int(k.split(".")[1]) not in ups}
    missing, unexpected = student.load_state_dict(sd, strict=False)
    if unexpected or any(int(k.split(".")[1]) not in ups for k in missing):
        raise ValueError(f"models differ outside the upsampling layers: {missing} {unexpected}")
    xs, xt = x, x
    for i, (ls, lt) in enumerate(zip(student.model, teacher.model)):
        if i in ups:
            if not isinstance(ls, nn.Sequential):
                raise ValueError("fitting a transposed convolution is not supported; fit towards it instead")
            conv, inputs, target = ls[-1], ls[:-1](xs), lt(xt)
            cols = F.unfold(inputs, conv.kernel_size).transpose(1, 2).flatten(0, 1)  # (pixels, c_in * 3 * 3)
            cols = torch.cat([cols, cols.new_ones(len(cols), 1)], 1)
            y = target.permute(0, 2, 3, 1).reshape(-1, conv.out_channels)
            sol = torch.linalg.lstsq(cols, y).solution  # (c_in * 3 * 3 + 1, c_out)
            conv.weight.copy_(sol[:-1].T.reshape(conv.weight.shape))
            conv.bias.copy_(sol[-1])
            err = (ls(xs) - target).pow(2).mean() / target.var()
            print(f"fitted layer {i}: relative squared error {err:.4f}", flush=True)
        xs, xt = ls(xs), lt(xt)


def main() -> None:
    p = base_parser("cyclegan", __doc__)
    p.add_argument("--a", default="fluentflat", choices=sorted(SHORT))
    p.add_argument("--b", default="fluent3d", choices=sorted(SHORT))
    p.add_argument("--ngf", type=int, default=24)
    p.add_argument("--n-blocks", type=int, default=6)
    p.add_argument("--ndf", type=int, default=32)
    p.add_argument("--size", type=int, default=128)
    p.add_argument(
        "--upsample",
        choices=UPSAMPLE,
        help="decoder upsampling (default: the run's, else --init-from's, else transpose)",
    )
    p.add_argument("--ema", type=float, default=0.0, help="EMA decay of exported generator weights (0: no EMA)")
    p.add_argument("--export-raw", action="store_true", help="with --ema: export the raw generators instead")
    p.add_argument("--distill", type=float, default=0.0, help="L1 weight towards --init-from's outputs (see above)")
    p.add_argument("--lambda-cycle", type=float, default=10.0, help="cycle-consistency L1 weight (official: 10)")
    p.add_argument(
        "--lambda-identity",
        type=float,
        default=0.5,
        help="identity L1 weight, relative to --lambda-cycle (official: 0.5)",
    )
    next(
        a for a in p._actions if a.dest == "output"
    ).help = "folder to write both model folders into (default: weights)"
    next(
        a for a in p._actions if a.dest == "run_dir"
    ).help = "resumable checkpoints + logs (default: runs/<first direction>, e.g. runs/cyclegan.flat2fluent3d)"
    next(
        a for a in p._actions if a.dest == "init_from"
    ).help = "the folder holding both generators of the pair (e.g. weights), or one of the two"
    args = p.parse_args()
    if args.a == args.b:  # both directions would be one model folder, the second written over the first
        p.error(f"--a and --b are both {args.a}: a translation needs two styles")
    if args.size < 16 or args.size % 4:
        p.error(f"--size must be a multiple of 4 from 16, got {args.size}")
    a2b, b2a = f"cyclegan.{SHORT[args.a]}2{SHORT[args.b]}", f"cyclegan.{SHORT[args.b]}2{SHORT[args.a]}"
    out_dir = args.output or Path("weights")
    settle(args, a2b)
    init_dir = pair_folder(args.init_from, (a2b, b2a))
    keys_a, keys_b = unpaired_keys(args.data_root, args.seed)
    A = load_emoji(args.data_root, args.a, "train", set(keys_a))[0] * 2 - 1
    B = load_emoji(args.data_root, args.b, "train", set(keys_b))[0] * 2 - 1
    if A.shape[-1] != args.size:  # the emoji are 128 px: --size trains (and the card says) another size
        A, B = (F.interpolate(x, size=(args.size, args.size), mode="bilinear", antialias=True) for x in (A, B))
    print(f"domain A {args.a}: {len(A)} images, domain B {args.b}: {len(B)} images (disjoint keys)", flush=True)
    ckpt = args.run_dir / "last.pt"
    state = read_checkpoint(ckpt) if ckpt.exists() else None
    init_upsample = None
    if args.init_from is not None:
        layouts = {read_config(init_dir / n).get("upsample", "transpose") for n in (a2b, b2a)}
        if len(layouts) > 1:
            p.error(f"the {a2b} and {b2a} in {init_dir} have different decoder layouts")
        init_upsample = layouts.pop()
    saved_upsample = (
        decoder_layout(state["modules"]["G_ab"]) if state is not None and "G_ab" in state["modules"] else None
    )
    args.upsample = args.upsample or saved_upsample or init_upsample or "transpose"
    if saved_upsample not in (None, args.upsample):
        p.error(f"{ckpt} holds {saved_upsample}-layout generators; resume with --upsample {saved_upsample}")
    if state is not None and not args.ema and any(k.endswith("_ema") for k in state["modules"]):
        p.error(f"{ckpt} keeps EMA generators: pass the run's --ema decay (and --export-raw for the raw ones)")
    if args.export_raw and not args.ema:
        p.error("--export-raw chooses between the EMA and the raw generators: it needs --ema")
    if state is None and (init_upsample, args.upsample) == ("bilinear", "transpose"):
        p.error("--upsample transpose cannot start from resize-convolution generators; start from transposed ones")
    distilling = args.distill > 0 and not args.export_only and (state is None or state["step"] < args.steps / 2)
    cfg = dict(ngf=args.ngf, n_blocks=args.n_blocks, image_size=args.size, background="white", upsample=args.upsample)
    G_ab = ResnetGenerator(**cfg, source_domain=args.a, target_domain=args.b)
    G_ba = ResnetGenerator(**cfg, source_domain=args.b, target_domain=args.a)
    teachers = []  # the --init-from generators in their own layout, for --distill
    if args.init_from is not None and (state is None or distilling) and init_upsample != args.upsample:
        for name in (a2b, b2a):
            teachers.append(ResnetGenerator(**{**cfg, "upsample": init_upsample}).eval().requires_grad_(False))
            init_from(teachers[-1], init_dir / name)
    if distilling and not teachers:
        p.error("--distill needs --init-from generators in the other --upsample layout (the ones the run started from)")
    if args.init_from is not None and state is None:  # a resumed run's generators come from its checkpoint
        for g, name, teacher, src in zip((G_ab, G_ba), (a2b, b2a), teachers or (None, None), (A, B)):
            if teacher is None:
                init_from(g, init_dir / name)
            else:
                fit_upsampling(
                    g, teacher, src[torch.randperm(len(src), generator=torch.Generator().manual_seed(0))[:16]]
                )
    D_a, D_b = patch_discriminator(args.ndf), patch_discriminator(args.ndf)
    opt_g = torch.optim.Adam(itertools.chain(G_ab.parameters(), G_ba.parameters()), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(itertools.chain(D_a.parameters(), D_b.parameters()), lr=args.lr, betas=(0.5, 0.999))
    modules = {"G_ab": G_ab, "G_ba": G_ba, "D_a": D_a, "D_b": D_b}
    emas = {k: EMA(modules[k], args.ema) for k in ("G_ab", "G_ba")} if args.ema else {}
    modules_and_emas = modules | {f"{k}_ema": e.model for k, e in emas.items()}
    t = Trainer(args, modules_and_emas, {"g": opt_g, "d": opt_d}, same_data=("seed",))  # seed: the unpaired halves
    pool_a, pool_b = ImagePool(), ImagePool()
    mse = nn.MSELoss()
    bs = args.batch_size
    while t.running():
        frac = max(0.0, (t.step - args.steps / 2) / (args.steps / 2))
        for o in (opt_g, opt_d):
            for g in o.param_groups:
                g["lr"] = args.lr * (1 - frac)
        ra = A[torch.randint(0, len(A), (bs,))]
        rb = B[torch.randint(0, len(B), (bs,))]
        if torch.rand(()) < 0.5:
            ra, rb = ra.flip(-1), rb.flip(-1)
        fb, fa = G_ab(ra), G_ba(rb)
        D_a.requires_grad_(False)
        D_b.requires_grad_(False)
        pa, pb = D_a(fa), D_b(fb)
        l_gan = mse(pb, torch.ones_like(pb)) + mse(pa, torch.ones_like(pa))
        l_cyc = (F.l1_loss(G_ba(fb), ra) + F.l1_loss(G_ab(fa), rb)) * args.lambda_cycle
        l_idt = (F.l1_loss(G_ab(rb), rb) + F.l1_loss(G_ba(ra), ra)) * args.lambda_cycle * args.lambda_identity
        w_distill = args.distill * max(0.0, 1 - t.step / (args.steps / 2))
        l_distill = torch.zeros(())
        if w_distill > 0:
            with torch.no_grad():
                tb, ta = teachers[0](ra), teachers[1](rb)
            l_distill = (F.l1_loss(fb, tb) + F.l1_loss(fa, ta)) * w_distill
        opt_g.zero_grad(set_to_none=True)
        (l_gan + l_cyc + l_idt + l_distill).backward()
        opt_g.step()
        D_a.requires_grad_(True)
        D_b.requires_grad_(True)
        l_d = 0.0
        for D, real, fake in ((D_a, ra, pool_a.query(fa)), (D_b, rb, pool_b.query(fb))):
            pr, pf = D(real), D(fake)
            l_d = l_d + 0.5 * (mse(pr, torch.ones_like(pr)) + mse(pf, torch.zeros_like(pf)))
        opt_d.zero_grad(set_to_none=True)
        l_d.backward()
        opt_d.step()
        for k, e in emas.items():
            e.update(modules[k], t.step)
        t.step += 1
        t.log(g_gan=l_gan.item(), cycle=l_cyc.item(), idt=l_idt.item(), d=l_d.item(), distill=l_distill.item())
    t.save()
    data = f"Fluent emoji {args.a} and {args.b}, train split, unpaired: disjoint halves of the keys; transparency composited on white"
    if emas and not args.export_raw:
        G_ab, G_ba = emas["G_ab"].model, emas["G_ba"].model
    recipe = "official recipe" + (" with a resize-convolution decoder" if args.upsample == "bilinear" else "")
    recipe += f" and EMA weights (decay {args.ema})" if emas and not args.export_raw else ""
    if (args.lambda_cycle, args.lambda_identity) != (10.0, 0.5):
        recipe += f", cycle weight {args.lambda_cycle:g} and identity {args.lambda_identity:g}"
    for name, g, src, dst in ((a2b, G_ab, args.a, args.b), (b2a, G_ba, args.b, args.a)):
        summary = f"CycleGAN ResnetGenerator (ngf={args.ngf}, {args.n_blocks} blocks), {src} -> {dst}; {recipe} at {args.size}px."
        export(
            g.eval(),
            out_dir / name,
            training_card(name, summary, data, t.command, t.step, cpu_minutes=t.cpu_seconds() / 60, run_name=a2b),
        )


if __name__ == "__main__":
    run_main(main)
