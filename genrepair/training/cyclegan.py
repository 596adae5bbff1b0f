"""Train a CycleGAN pair strictly unpaired (the official recipe, small).

    nice python -m genrepair.training.cyclegan --a fluentflat --b fluent3d --minutes 120
      -> weights/cyclegan.flat2fluent3d and weights/cyclegan.fluent3d2flat

Domain A images come from one half of the train-split emoji keys and domain B from the other
half, so no pair is ever seen together. Transparency: composited on white (see model card).
Recipe: ResnetGenerator, 70x70 PatchGAN, LSGAN, cycle weight 10, identity 0.5, image pool of 50,
linear LR decay over the second half of ``--steps``.
"""

from __future__ import annotations

import itertools
import random

import torch
import torch.nn.functional as F
from torch import nn

from ..cards import training_card
from ..models import ResnetGenerator
from .common import Trainer, base_parser, export, init_from, patch_discriminator
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


def unpaired_keys(root, seed: int = 0) -> tuple[list[str], list[str]]:
    """Split the train keys into two disjoint halves: A from one, B from the other."""
    keys = sorted(k for k, (split, _) in emoji_split(root).items() if split == "train")
    random.Random(seed).shuffle(keys)
    half = len(keys) // 2
    return keys[:half], keys[half:]


def main() -> None:
    p = base_parser("cyclegan", __doc__)
    p.add_argument("--a", default="fluentflat")
    p.add_argument("--b", default="fluent3d")
    p.add_argument("--ngf", type=int, default=24)
    p.add_argument("--n-blocks", type=int, default=6)
    p.add_argument("--ndf", type=int, default=32)
    p.add_argument("--size", type=int, default=128)
    args = p.parse_args()
    a2b, b2a = f"cyclegan.{SHORT[args.a]}2{SHORT[args.b]}", f"cyclegan.{SHORT[args.b]}2{SHORT[args.a]}"
    if str(args.run_dir) == "runs/cyclegan":
        args.run_dir = args.run_dir.parent / a2b
    keys_a, keys_b = unpaired_keys(args.data_root, args.seed)
    A = load_emoji(args.data_root, args.a, "train", set(keys_a))[0] * 2 - 1
    B = load_emoji(args.data_root, args.b, "train", set(keys_b))[0] * 2 - 1
    print(f"domain A {args.a}: {len(A)} images, domain B {args.b}: {len(B)} images (disjoint keys)", flush=True)
    cfg = dict(ngf=args.ngf, n_blocks=args.n_blocks, image_size=args.size, background="white")
    G_ab = ResnetGenerator(**cfg, source_domain=args.a, target_domain=args.b)
    G_ba = ResnetGenerator(**cfg, source_domain=args.b, target_domain=args.a)
    if args.init_from is not None:
        init_from(G_ab, args.init_from.parent / a2b)
        init_from(G_ba, args.init_from.parent / b2a)
    D_a, D_b = patch_discriminator(args.ndf), patch_discriminator(args.ndf)
    opt_g = torch.optim.Adam(itertools.chain(G_ab.parameters(), G_ba.parameters()), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(itertools.chain(D_a.parameters(), D_b.parameters()), lr=args.lr, betas=(0.5, 0.999))
    t = Trainer(args, {"G_ab": G_ab, "G_ba": G_ba, "D_a": D_a, "D_b": D_b}, {"g": opt_g, "d": opt_d})
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
        l_cyc = (F.l1_loss(G_ba(fb), ra) + F.l1_loss(G_ab(fa), rb)) * 10
        l_idt = (F.l1_loss(G_ab(rb), rb) + F.l1_loss(G_ba(ra), ra)) * 10 * 0.5
        opt_g.zero_grad(set_to_none=True)
        (l_gan + l_cyc + l_idt).backward()
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
        t.step += 1
        t.log(g_gan=l_gan.item(), cycle=l_cyc.item(), idt=l_idt.item(), d=l_d.item())
    t.save()
    data = f"Fluent emoji {args.a} and {args.b}, train split, unpaired: disjoint halves of the keys; transparency composited on white"
    for name, g, src, dst in ((a2b, G_ab, args.a, args.b), (b2a, G_ba, args.b, args.a)):
        summary = f"CycleGAN ResnetGenerator (ngf={args.ngf}, {args.n_blocks} blocks), {src} -> {dst}; official recipe at {args.size}px."
        export(
            g.eval(),
            args.output.parent / name,
            training_card(name, summary, data, t.command, t.step, cpu_minutes=t.cpu_seconds() / 60),
        )


if __name__ == "__main__":
    main()
