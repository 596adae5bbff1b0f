"""Train the inpainting network on photos/train + CBSD432 with on-the-fly free-form masks.

    nice python -m genrepair.training.inpaint --minutes 120

Sketches are Canny edges of the true image inside the hole, dropped half of the time so the
model works with and without user strokes. Resumable from runs/inpaint.photo/last.pt.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..cards import training_card
from ..models import InpaintNet
from .common import Trainer, base_parser, export, init_from
from .data import PatchSampler, photo_files
from .masks import edge_sketch, random_mask


def make_batch(sampler: PatchSampler, n: int, rng: np.random.Generator, sketch_p: float = 0.5):
    clean = sampler.batch(n)
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


def main() -> None:
    p = base_parser("inpaint.photo", __doc__)
    p.add_argument("--patch", type=int, default=128)
    p.add_argument("--nf", type=int, default=32)
    p.add_argument("--n-blocks", type=int, default=6)
    args = p.parse_args()
    sampler = PatchSampler(photo_files(args.data_root), args.patch, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    model = InpaintNet(nf=args.nf, n_blocks=args.n_blocks, train_data="photos/train (66) + CBSD432 (432)")
    init_from(model, args.init_from)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.99))
    t = Trainer(args, {"model": model}, {"opt": opt})
    while t.running():
        # cosine decay to zero over --steps (a fine-tune from released weights anneals the same way)
        for g in opt.param_groups:
            g["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * min(t.step / args.steps, 1.0)))
        clean, mask, sketch = make_batch(sampler, args.batch_size, rng)
        out = model(clean, mask, sketch)
        hole = (mask.sum() * 3).clamp(min=1)
        l_hole = ((out - clean).abs() * mask).sum() / hole
        # gradient term: keeps edges in the fill sharp rather than averaged away
        gx = lambda x: x[..., :, 1:] - x[..., :, :-1]  # noqa: E731
        gy = lambda x: x[..., 1:, :] - x[..., :-1, :]  # noqa: E731
        l_grad = F.l1_loss(gx(out), gx(clean)) + F.l1_loss(gy(out), gy(clean))
        loss = l_hole + 0.5 * l_grad
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        t.step += 1
        t.log(loss=loss.item(), l_hole=l_hole.item())
    t.save()
    export(
        model.eval(),
        args.output,
        training_card(
            "inpaint.photo",
            "U-Net with Fourier-convolution residual blocks; input image, mask (1 = hole) and optional sketch strokes.",
            "photos/train (66) + CBSD432 (432), random 128px crops, free-form stroke/box masks covering 1-60%, Canny-edge sketches inside the hole dropped half of the time",
            t.command,
            t.step,
            cpu_minutes=t.cpu_seconds() / 60,
        ),
    )


if __name__ == "__main__":
    main()
