"""Train the convolutional VAE on emoji (noto64 train split) or avatars.

nice python -m genrepair.training.vae --dataset emoji --minutes 60   # -> weights/vae.emoji
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..cards import training_card
from ..models import ConvVAE
from .common import Trainer, arch_from_init, base_parser, export, init_from, run_main, settle
from .data import load_avatars, load_emoji


def main() -> None:
    p = base_parser("vae.emoji", __doc__)
    p.add_argument("--dataset", choices=["emoji", "avatars"], default="emoji")
    p.add_argument("--latent-dim", type=int, help="latent size (default: --init-from's, else 64)")
    p.add_argument("--beta", type=float, default=1.0)
    args = p.parse_args()
    arch_from_init(args, latent_dim=64)
    name = f"vae.{args.dataset}"
    settle(args, name)
    if args.dataset == "emoji":
        images = load_emoji(args.data_root, "noto64", "train")[0]
    else:
        images = load_avatars(args.data_root, "train")
    model = ConvVAE(latent_dim=args.latent_dim)
    init_from(model, args.init_from)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr * 5)
    t = Trainer(args, {"model": model}, {"opt": opt})
    while t.running():
        x = images[torch.randint(0, len(images), (args.batch_size,))]
        if torch.rand(()) < 0.5:
            x = x.flip(-1)
        recon, mu, logvar = model(x)
        rec = F.mse_loss(recon, x, reduction="sum") / x.shape[0]
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum() / x.shape[0]
        # KL warm-up over the first 2000 steps avoids posterior collapse early on
        loss = rec + args.beta * min(1.0, t.step / 2000) * kl * 0.01
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        t.step += 1
        t.log(loss=loss.item(), rec=rec.item(), kl=kl.item())
    t.save()
    export(
        model.eval(),
        args.output,
        training_card(
            name,
            "Convolutional VAE, 64x64, for sampling, reconstruction and latent interpolation.",
            f"{args.dataset} train split, transparent pixels composited on white",
            t.command,
            t.step,
            cpu_minutes=t.cpu_seconds() / 60,
        ),
    )


if __name__ == "__main__":
    run_main(main)
