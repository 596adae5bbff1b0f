"""Train the class-conditional GAN (hinge loss, spectral norm, DiffAugment, EMA generator).

    nice python -m genrepair.training.gan --dataset emoji --minutes 120     # -> weights/gan.emoji
    nice python -m genrepair.training.gan --dataset avatars --minutes 120   # -> weights/gan.avatars

Emoji: noto64 train split, conditioned on the Unicode category. Avatars: unconditional.
Transparent pixels are composited on white. Resumable from runs/<name>/last.pt.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm as sn

from ..cards import training_card
from ..models import CondGenerator
from .common import EMA, Trainer, arch_from_init, base_parser, export, init_from, run_main, settle
from .data import load_avatars, load_emoji
from .diffaug import diff_augment


class Discriminator(nn.Module):
    """SN-ResNet-lite discriminator with a projection head for the class label."""

    def __init__(self, num_classes: int = 0, ndf: int = 32, image_size: int = 64) -> None:
        super().__init__()
        chans = [3, ndf, ndf * 2, ndf * 4, ndf * 8]
        layers: list[nn.Module] = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [
                sn(nn.Conv2d(cin, cout, 3, 1, 1)),
                nn.LeakyReLU(0.2),
                sn(nn.Conv2d(cout, cout, 4, 2, 1)),
                nn.LeakyReLU(0.2),
            ]
        self.features = nn.Sequential(*layers)
        self.linear = sn(nn.Linear(chans[-1], 1))
        self.embed = sn(nn.Embedding(num_classes, chans[-1])) if num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x).sum([2, 3])
        out = self.linear(h).squeeze(1)
        if self.embed is not None and labels is not None:
            out = out + (self.embed(labels) * h).sum(1)
        return out


def main() -> None:
    p = base_parser("gan.emoji", __doc__)
    p.add_argument("--dataset", choices=["emoji", "avatars"], default="emoji")
    p.add_argument("--ngf", type=int, help="generator width (default: --init-from's, else 32)")
    p.add_argument("--ndf", type=int, default=32)
    p.add_argument("--z-dim", type=int, help="latent size (default: --init-from's, else 128)")
    p.add_argument("--export-raw", action="store_true", help="export the raw generator instead of its EMA")
    args = p.parse_args()
    arch_from_init(args, ngf=32, z_dim=128)
    name = f"gan.{args.dataset}"
    settle(args, name)
    if args.dataset == "emoji":
        images, cats, _ = load_emoji(args.data_root, "noto64", "train")
        class_names = sorted(set(cats))
        labels = torch.tensor([class_names.index(c) for c in cats])
        train_data = f"emoji/noto64 train split ({len(images)} images, {len(class_names)} categories)"
    else:
        images = load_avatars(args.data_root, "train")
        class_names, labels = [], torch.zeros(len(images), dtype=torch.long)
        train_data = f"avatars/lorelei train split ({len(images)} images)"
    images = images * 2 - 1
    nc = len(class_names)
    G = CondGenerator(z_dim=args.z_dim, num_classes=nc, ngf=args.ngf, image_size=64, class_names=class_names)
    init_from(G, args.init_from)
    D = Discriminator(nc, args.ndf)
    ema = EMA(G, 0.999)
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.0, 0.99))
    t = Trainer(args, {"G": G, "D": D, "G_ema": ema.model}, {"g": opt_g, "d": opt_d})
    bs = args.batch_size
    while t.running():
        idx = torch.randint(0, len(images), (bs,))
        real, y = images[idx], labels[idx]
        if torch.rand(()) < 0.5:
            real = real.flip(-1)
        yl = y if nc else None
        z = torch.randn(bs, args.z_dim)
        fake = G(z, yl)
        d_loss = F.relu(1 - D(diff_augment(real), yl)).mean() + F.relu(1 + D(diff_augment(fake.detach()), yl)).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = -D(diff_augment(fake), yl).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        ema.update(G, t.step)
        t.step += 1
        t.log(d_loss=d_loss.item(), g_loss=g_loss.item())
    t.save()
    if nc:
        summary = "Class-conditional GAN (conditional BatchNorm ResNet generator, EMA weights), hinge loss, "
        summary += "spectral-norm projection discriminator, DiffAugment."
    else:
        summary = (
            "Unconditional GAN (ResNet generator, EMA weights), hinge loss, spectral-norm discriminator, DiffAugment."
        )
    export(
        G.eval() if args.export_raw else ema.model,
        args.output,
        training_card(
            name,
            summary,
            train_data + "; transparent pixels composited on white",
            t.command,
            t.step,
            cpu_minutes=t.cpu_seconds() / 60,
        ),
    )


if __name__ == "__main__":
    run_main(main)
