"""Train the classic DCGAN baseline (Radford et al. 2016 recipe: BCE loss, Adam 2e-4 / beta1 0.5,
batch 128, BatchNorm, no augmentation) on the same data as our GAN, for a given CPU time.

    nice python -m genrepair.training.dcgan --dataset emoji --cpu-minutes 100   # -> weights/dcgan.emoji
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..cards import training_card
from ..models import DCGANGenerator
from .common import Trainer, base_parser, export, init_from, run_main, settle
from .data import load_avatars, load_emoji


def dcgan_discriminator(ndf: int = 64) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
    )  # fmt: skip


def init_weights(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def main() -> None:
    p = base_parser("dcgan.emoji", __doc__)
    p.add_argument("--dataset", choices=["emoji", "avatars"], default="emoji")
    args = p.parse_args()
    name = f"dcgan.{args.dataset}"
    settle(args, name)
    images = (
        load_emoji(args.data_root, "noto64", "train")[0]
        if args.dataset == "emoji"
        else load_avatars(args.data_root, "train")
    ) * 2 - 1
    G, D = DCGANGenerator(), dcgan_discriminator()
    G.apply(init_weights)
    D.apply(init_weights)
    init_from(G, args.init_from)  # a fine-tune keeps the generator; the discriminator starts fresh
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    t = Trainer(args, {"G": G, "D": D}, {"g": opt_g, "d": opt_d})
    bs = args.batch_size
    while t.running():
        real = images[torch.randint(0, len(images), (bs,))]
        fake = G(torch.randn(bs, 100))
        ones, zeros = torch.ones(bs), torch.zeros(bs)
        d_loss = F.binary_cross_entropy_with_logits(D(real).view(-1), ones) + F.binary_cross_entropy_with_logits(
            D(fake.detach()).view(-1), zeros
        )
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = F.binary_cross_entropy_with_logits(D(fake).view(-1), ones)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        t.step += 1
        t.log(d_loss=d_loss.item(), g_loss=g_loss.item())
    t.save()
    export(
        G.eval(),
        args.output,
        training_card(
            name,
            "Classic DCGAN generator (Radford et al. 2016), a baseline.",
            f"{args.dataset} train split on white",
            t.command,
            t.step,
            cpu_minutes=t.cpu_seconds() / 60,
        ),
    )


if __name__ == "__main__":
    run_main(main)
