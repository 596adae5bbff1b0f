"""Train the inpainting network on photos/train + CBSD432 with on-the-fly free-form masks.

    nice python -m genrepair.training.inpaint --minutes 120

Sketches are Canny edges of the true image inside the hole, dropped half of the time so the
model works with and without user strokes. Resumable from runs/inpaint.photo/last.pt.

``--skip-kernel 1 --init-from weights/inpaint.photo`` turns a model with 3x3 decoder skips into the
faster 1x1 layout: every other weight is copied, each 1x1 skip starts as the least-squares fit of the
3x3 one on real encoder features, and ``--distill`` adds an L1 term towards the original's fill.

``--n-blocks N --grow --init-from weights/inpaint.photo`` deepens the released model: its Fourier blocks
are copied and the new ones are appended after them as the identity (their fusing convolution zeroed),
so training starts from exactly the released model's fills and adds receptive field and depth from there.

``--adv W`` adds LaMa's mask-aware adversarial term (Suvorov et al. 2022) to the L1 + gradient losses: a
PatchGAN learns to call patches of real photos real and patches of the composite fake where they lie in
the hole (real elsewhere), with the non-saturating loss; the generator is pushed on the hole's patches.
L1 alone makes large holes blurry (the mean of the plausible fills); the adversarial term is meant to
trade a little PSNR for texture. On this CPU's budgets it only cost PSNR (README, Training), so the
release is trained without it.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
import torch.nn.functional as F

from ..cards import training_card
from ..hub import load_model
from ..models import InpaintNet
from .common import Trainer, arch_from_init, base_parser, export, init_from, patch_discriminator, run_main, settle
from .data import PatchSampler, photo_files
from .masks import edge_sketch, random_mask


def make_batch(sampler: PatchSampler, n: int, rng: np.random.Generator, sketch_p: float = 0.5, size: int | None = None):
    clean = sampler.batch(n, size)
    size = clean.shape[-1]
    masks, sketches = [], []
    for img in clean:
        masks.append(random_mask(size, rng))
        u8 = (img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        sk = edge_sketch(u8) if rng.random() < sketch_p else np.zeros((size, size), np.float32)
        sketches.append(sk)
    mask = torch.from_numpy(np.stack(masks))[:, None]
    sketch = torch.from_numpy(np.stack(sketches))[:, None] * mask
    return clean, mask, sketch


@torch.no_grad()
def fit_skips(student: InpaintNet, teacher: InpaintNet, clean, mask, sketch) -> None:
    """Make ``student`` (1x1 decoder skips) the teacher (k x k skips) as far as a 1x1 allows: every other
    weight is copied, and each 1x1 skip is the least-squares fit of the teacher's on the skip features of
    this batch (the encoders are then equal, so each fit sees exactly the student's input)."""
    state = {k: v for k, v in teacher.state_dict().items() if not k.endswith("skip.weight")}
    missing, unexpected = student.load_state_dict(state, strict=False)
    if unexpected or not all(k.endswith("skip.weight") for k in missing):
        raise ValueError(f"student and teacher differ beyond the skips: {missing + unexpected}")
    feats = {}
    names = ("dec2", "dec1", "dec0")
    hooks = [getattr(teacher, n).register_forward_hook(lambda m, a, out, n=n: feats.update({n: a[1]})) for n in names]
    teacher(clean, mask, sketch)
    for h in hooks:
        h.remove()
    for n in names:
        f, target = feats[n], getattr(teacher, n).skip(feats[n])
        x = f.permute(0, 2, 3, 1).reshape(-1, f.shape[1]).double()
        x = torch.cat([x, torch.ones_like(x[:, :1])], 1)
        y = target.permute(0, 2, 3, 1).reshape(-1, target.shape[1]).double()
        sol = torch.linalg.lstsq(x, y, driver="gelsd").solution  # (c_in + 1, c_out); some channels are dead
        conv = getattr(student, n).skip
        conv.weight.copy_(sol[:-1].T.reshape(conv.weight.shape))
        conv.bias.copy_(sol[-1])
        rel = (x @ sol - y).norm() / y.norm()
        print(f"{n}: 1x1 skip fitted to the {conv.weight.shape[1]}-channel k x k skip, relative error {rel:.3f}")


def slim_init(model: InpaintNet, folder, sampler, rng, n: int = 16) -> InpaintNet:
    """Initialise ``model`` (1x1 skips) from a release with larger skips; returns that release as the teacher."""
    teacher = load_model(folder, device="cpu", half=False)  # eval mode, frozen
    fit_skips(model, teacher, *make_batch(sampler, n, rng))
    return teacher


def hole_fraction(mask: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """The mask averaged over each discriminator patch's cell: how much of it is hole (0 to 1)."""
    return F.adaptive_avg_pool2d(mask, logits.shape[-2:])


def discriminator_loss(disc, real: torch.Tensor, fake: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Non-saturating loss: real photos real everywhere; the composite fake in the hole, real outside it."""
    pr, pf = disc(real), disc(fake.detach())
    m = hole_fraction(mask, pf)
    return F.softplus(-pr).mean() + (m * F.softplus(pf) + (1 - m) * F.softplus(-pf)).mean()


def generator_adv_loss(disc, fake: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator term on the hole's patches (mean over hole-weighted cells)."""
    pf = disc(fake)
    m = hole_fraction(mask, pf)
    return (m * F.softplus(-pf)).sum() / m.sum().clamp(min=1e-6)


def crop_sizes(value: str) -> list[int]:
    """``--patch``: one size in px, or comma-separated sizes (argparse names this function in its error)."""
    sizes = [int(x) for x in value.split(",")]
    if min(sizes) < 8 or any(s % 8 for s in sizes):
        raise argparse.ArgumentTypeError(f"crop sizes must be positive multiples of 8, got {value}")
    return sizes


def main() -> None:
    p = base_parser("inpaint.photo", __doc__)
    p.add_argument(
        "--patch",
        type=crop_sizes,
        default=[128],
        help="crop size in px, or sizes taking turns step by step (e.g. 128,256); --batch-size is the first's, "
        "the others' batches hold the same number of pixels",
    )
    p.add_argument("--nf", type=int, help="base width (default: --init-from's, else 32)")
    p.add_argument(
        "--n-blocks", type=int, help="Fourier residual blocks at 1/8 resolution (default: --init-from's, else 6)"
    )
    p.add_argument(
        "--grow",
        action="store_true",
        help="with --init-from weights that have fewer blocks than --n-blocks: the new blocks start as the identity",
    )
    p.add_argument(
        "--skip-kernel", type=int, choices=(1, 3), help="decoder skip conv kernel (default: --init-from's, else 3)"
    )
    p.add_argument("--distill", type=float, default=0.0, help="weight of L1 to the --init-from model's fill")
    p.add_argument("--adv", type=float, default=0.0, help="weight of the mask-aware adversarial term (0: none)")
    p.add_argument("--ndf", type=int, default=32, help="discriminator width (with --adv)")
    p.add_argument(
        "--loss",
        choices=("l1", "mse"),
        default="l1",
        help="error of the hole and gradient terms; mse is what PSNR measures (its optimum is the mean of the "
        "plausible fills, L1's their median)",
    )
    args = p.parse_args()
    settle(args, "inpaint.photo")
    init_kernel = arch_from_init(args, nf=32, n_blocks=6, skip_kernel=3).get("skip_kernel", 3)
    sampler = PatchSampler(photo_files(args.data_root), min(args.patch), seed=args.seed)
    batch_sizes = [max(1, round(args.batch_size * (args.patch[0] / s) ** 2)) for s in args.patch]
    rng = np.random.default_rng(args.seed)
    model = InpaintNet(
        nf=args.nf, n_blocks=args.n_blocks, train_data="photos/train (66) + CBSD432 (432)", skip_kernel=args.skip_kernel
    )
    teacher = None
    if init_kernel != args.skip_kernel:
        if args.skip_kernel != 1:
            p.error(f"--init-from has {init_kernel}x{init_kernel} skips; they can only be refitted as 1x1")
        if args.grow:
            p.error("--grow and a --skip-kernel change are separate steps: grow the model in its own run")
        teacher = slim_init(model, args.init_from, sampler, rng)
    else:
        init_from(model, args.init_from, grow=args.grow)
    if args.distill and teacher is None:
        p.error("--distill needs --init-from a model with a different --skip-kernel")
    error = torch.abs if args.loss == "l1" else torch.square
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.99))
    modules, optims = {"model": model}, {"opt": opt}
    disc = None
    if args.adv:
        disc = patch_discriminator(args.ndf)
        modules["disc"], optims["disc"] = disc, torch.optim.Adam(disc.parameters(), lr=args.lr, betas=(0.5, 0.99))
    t = Trainer(args, modules, optims, rngs={"sampler": sampler.rng, "masks": rng})
    while t.running():
        # cosine decay to zero over --steps (a fine-tune from released weights anneals the same way)
        for g in (g for o in optims.values() for g in o.param_groups):
            g["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * min(t.step / args.steps, 1.0)))
        k = t.step % len(args.patch)
        clean, mask, sketch = make_batch(sampler, batch_sizes[k], rng, size=args.patch[k])
        out = model(clean, mask, sketch)
        hole = (mask.sum() * 3).clamp(min=1)
        l_hole = (error(out - clean) * mask).sum() / hole
        # gradient term: keeps edges in the fill sharp rather than averaged away
        gx = lambda x: x[..., :, 1:] - x[..., :, :-1]  # noqa: E731
        gy = lambda x: x[..., 1:, :] - x[..., :-1, :]  # noqa: E731
        l_grad = error(gx(out) - gx(clean)).mean() + error(gy(out) - gy(clean)).mean()
        loss = l_hole + 0.5 * l_grad
        if args.distill:
            with torch.no_grad():
                target = teacher(clean, mask, sketch)
            loss = loss + args.distill * ((out - target).abs() * mask).sum() / hole
        scalars = {}
        if disc is not None:
            disc.requires_grad_(False)
            scalars["g_adv"] = generator_adv_loss(disc, out, mask)
            loss = loss + args.adv * scalars["g_adv"]
            disc.requires_grad_(True)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if disc is not None:
            scalars["d"] = discriminator_loss(disc, clean, out, mask)
            optims["disc"].zero_grad(set_to_none=True)
            scalars["d"].backward()
            optims["disc"].step()
        t.step += 1
        t.log(loss=loss.item(), l_hole=l_hole.item(), **{k: v.item() for k, v in scalars.items()})
    t.save()
    loss_name = {"l1": "L1", "mse": "squared-error"}[args.loss]
    export(
        model.eval(),
        args.output,
        training_card(
            "inpaint.photo",
            f"U-Net with Fourier-convolution residual blocks and {args.skip_kernel}x{args.skip_kernel} decoder skips; "
            f"input image, mask (1 = hole) and optional sketch strokes; trained with {loss_name} + gradient losses"
            + (f" and a mask-aware PatchGAN adversarial term (weight {args.adv:g})." if args.adv else "."),
            f"photos/train (66) + CBSD432 (432), random {'/'.join(map(str, args.patch))}px crops, free-form stroke/box masks covering 1-60%, Canny-edge sketches inside the hole dropped half of the time",
            t.command,
            t.step,
            cpu_minutes=t.cpu_seconds() / 60,
        ),
    )


if __name__ == "__main__":
    run_main(main)
