"""Train the noise-level-conditioned denoiser on CBSD432 (color) or Train400 (gray).

    nice python -m genrepair.training.denoise --name denoise.color --minutes 120

Resumes from runs/<name>/last.pt; ``--init-from weights/<name>`` fine-tunes released weights.
``--gray --init-from weights/denoise.color`` starts gray training from the color model
(``models.denoisers.gray_state_from_color``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..cards import training_card
from ..models import NoiseCondUNet
from ..models.denoisers import gray_state_from_color
from .common import Trainer, arch_from_init, base_parser, export, init_from, run_main, settle
from .data import PatchSampler, cbsd432, extra_photos


def main() -> None:
    p = base_parser("denoise.color", __doc__)
    p.add_argument("--name", help="model name (default: denoise.gray with --gray, else denoise.color)")
    p.add_argument("--gray", action="store_true")
    p.add_argument("--patch", type=int, default=96)
    p.add_argument(
        "--channels",
        type=lambda v: [int(c) for c in v.split(",")],
        help="widths of the U-Net levels, e.g. 32,64,128 (default: --init-from's, else that)",
    )
    p.add_argument("--nb", type=int, help="residual blocks per U-Net level (default: --init-from's, else 2)")
    p.add_argument(
        "--grow",
        action="store_true",
        help="with --init-from weights that have fewer blocks per level than --nb, one U-Net level fewer than "
        "--channels, or narrower levels: the new parts start so that the model computes what the weights did",
    )
    p.add_argument(
        "--extra-photos", action="store_true", help="also train on photos/train (allowed by the data README)"
    )
    p.add_argument(
        "--cbsd432",
        action="store_true",
        help="with --gray: also train on the 432 full-size BSDS500 photos of train/color/CBSD432, as gray (Train400 "
        "holds 180px crops of 400 of them; no BSD68 image is among them, see the data README)",
    )
    p.add_argument("--scales", default="1", help="image scales to crop from, e.g. 0.5 (Lanczos-reduced JPEGs)")
    p.add_argument(
        "--permute-channels",
        type=float,
        default=0.0,
        help="chance that a color crop's RGB channels come in a random order (0 = never)",
    )
    p.add_argument(
        "--saturate",
        type=float,
        default=0.0,
        help="chance that a color crop's colors are pushed away from its gray by a factor up to 2 (0 = never)",
    )
    p.add_argument(
        "--chroma-detail",
        type=float,
        default=0.0,
        help="chance that a color crop's fine chroma detail is raised by a factor up to 3 (0 = never)",
    )
    p.add_argument(
        "--loss",
        choices=("l1", "mse"),
        default="l1",
        help="training loss; mse is what PSNR measures (e.g. for a final low-LR fine-tune of an L1-trained model)",
    )
    args = p.parse_args()
    if args.patch < 8:  # a conv error deep in the network otherwise
        p.error(f"--patch must be at least 8 pixels, got {args.patch}")
    init_config = arch_from_init(args, channels=[32, 64, 128], nb=2)
    if init_config and init_config.get("_class_name", "NoiseCondUNet") != "NoiseCondUNet":
        p.error(f"--init-from {args.init_from}: holds {init_config['_class_name']}, not a NoiseCondUNet denoiser")
    from_color = bool(init_config) and init_config.get("in_nc", 3) == 3
    if args.gray and from_color and args.grow:
        p.error("--grow and starting gray training from a color model are separate steps")
    args.name = args.name or ("denoise.gray" if args.gray else "denoise.color")
    settle(args, args.name)
    if args.gray:
        files = sorted((args.data_root / "denoise" / "train" / "gray" / "Train400").glob("*.png"))
        train_data = "Train400 (400 gray 180x180 images)"
        if args.cbsd432:
            files += cbsd432(args.data_root)
            train_data += " + CBSD432 (BSDS500 minus the CBSD68/BSD68 test images, as gray)"
    else:
        if args.cbsd432:
            p.error("--cbsd432 adds the color set to gray training; color training uses it already")
        files = cbsd432(args.data_root)
        train_data = "CBSD432 (BSDS500 minus the CBSD68 test images)"
    if args.extra_photos:
        photos = extra_photos(args.data_root)
        files += photos
        train_data += f" + photos/train ({len(photos)} photos)"
    scales = tuple(float(s) for s in args.scales.split(","))
    if scales != (1.0,):
        train_data += f", at scales {args.scales}"
    if args.permute_channels:
        train_data += f", RGB order shuffled in {args.permute_channels:.0%} of crops"
    if args.saturate:
        train_data += f", saturation raised 1-2x in {args.saturate:.0%} of crops"
    if args.chroma_detail:
        train_data += f", fine chroma detail raised 1-3x in {args.chroma_detail:.0%} of crops"
    if args.gray and from_color:
        train_data += "; started from a color model's weights (RGB input weights summed, outputs averaged)"
    sampler = PatchSampler(
        files,
        args.patch,
        gray=args.gray,
        seed=args.seed,
        scales=scales,
        permute_channels=args.permute_channels,
        saturate=args.saturate,
        chroma_detail=args.chroma_detail,
    )
    model = NoiseCondUNet(
        in_nc=1 if args.gray else 3,
        channels=args.channels,
        nb=args.nb,
        pad_multiple=2 ** len(args.channels),  # pixel-unshuffle, then one halving per level
        train_data=train_data,
    )
    if args.gray and from_color:
        from safetensors.torch import load_file

        model.load_state_dict(gray_state_from_color(load_file(str(args.init_from / "model.safetensors"))))
        print(f"initialised from the color model {args.init_from}, its RGB weights summed", flush=True)
    else:
        init_from(model, args.init_from, grow=args.grow)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    t = Trainer(args, {"model": model}, {"opt": opt}, rngs={"sampler": sampler.rng})
    criterion = {"l1": F.l1_loss, "mse": F.mse_loss}[args.loss]
    while t.running():
        clean = sampler.batch(args.batch_size)
        sigma = torch.rand(clean.shape[0]) * 75 / 255
        noisy = clean + torch.randn_like(clean) * sigma[:, None, None, None]
        # a quarter of batches see clipped noise, as real 8-bit photos do
        if torch.rand(()) < 0.25:
            noisy = noisy.clamp(0, 1)
        lr = args.lr * 0.5 * (1 + torch.cos(torch.tensor(min(t.step / args.steps, 1.0) * 3.14159)))
        for g in opt.param_groups:
            g["lr"] = float(lr)
        loss = criterion(model(noisy, sigma), clean)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        t.step += 1
        t.log(loss=loss.item())
    t.save()
    export(
        model.eval(),
        args.output,
        training_card(
            args.name,
            "Noise-level-conditioned denoiser (pixel-unshuffle + residual U-Net), sigma 0-75 on the 0-255 scale.",
            train_data
            + f", random {args.patch}px crops, sigma ~ U[0, 75], 25% of batches with clipped noise, {args.loss} loss",
            t.command,
            t.step,
            cpu_minutes=t.cpu_seconds() / 60,
        ),
    )


if __name__ == "__main__":
    run_main(main)
