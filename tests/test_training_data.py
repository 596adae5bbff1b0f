"""The training patch sampler: crops, augmentation and the reduced-scale copies; the inpainter's
conversion to 1x1 decoder skips and its adversarial term, through its training command; the denoiser's
training loss."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from genrepair.hub import load_model, read_config, save_model
from genrepair.models import InpaintNet
from genrepair.training import denoise as train_denoise
from genrepair.training import inpaint as train_inpaint
from genrepair.training.common import patch_discriminator
from genrepair.training.data import LUMA, PatchSampler


def _jpeg(path, size, seed):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path, quality=90)
    return path


def test_patch_sampler_scales(tmp_path):
    big = _jpeg(tmp_path / "big.jpg", (200, 300), 0)
    small = _jpeg(tmp_path / "small.jpg", (100, 120), 1)
    sampler = PatchSampler([big, small], 64, scales=(1.0, 0.5), seed=3)
    # small.jpg at 0.5 (50x60) is below the patch size and left out; the others are kept
    assert [im.shape for im in sampler.images] == [(200, 300, 3), (100, 150, 3), (100, 120, 3)]
    batch = sampler.batch(5)
    assert batch.shape == (5, 3, 64, 64) and batch.dtype == torch.float32
    assert 0 <= batch.min() and batch.max() <= 1

    gray = PatchSampler([big], 64, gray=True, scales=(0.5,), seed=3)
    assert [im.shape for im in gray.images] == [(100, 150)]
    assert gray.batch(2).shape == (2, 1, 64, 64)


def test_patch_sampler_larger_size_uses_images_that_fit(tmp_path):
    wide = _jpeg(tmp_path / "wide.jpg", (200, 300), 0)
    narrow = _jpeg(tmp_path / "narrow.jpg", (70, 90), 1)
    sampler = PatchSampler([wide, narrow], 64, seed=3)
    assert sampler.batch(4).shape == (4, 3, 64, 64)
    # at 128 px only wide.jpg fits: every crop still comes out, all of them from it
    big = sampler.batch(6, size=128)
    assert big.shape == (6, 3, 128, 128)
    with pytest.raises(ValueError, match="at least 256 px"):
        sampler.batch(1, size=256)


def test_patch_sampler_is_seeded(tmp_path):
    files = [_jpeg(tmp_path / "a.jpg", (128, 160), 2)]
    a = PatchSampler(files, 48, seed=7).batch(3)
    b = PatchSampler(files, 48, seed=7).batch(3)
    c = PatchSampler(files, 48, seed=8).batch(3)
    assert np.array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())


def test_patch_sampler_permutes_channels(tmp_path):
    path = tmp_path / "flat.png"
    Image.fromarray(np.broadcast_to(np.uint8([10, 128, 250]), (80, 90, 3)).copy()).save(path)

    def orders(batch):
        return {tuple(np.round(c.mean(dim=(1, 2)).numpy() * 255).astype(int)) for c in batch}

    assert orders(PatchSampler([path], 32, seed=1).batch(20)) == {(10, 128, 250)}
    shuffled = orders(PatchSampler([path], 32, seed=1, permute_channels=1.0).batch(20))
    assert len(shuffled) > 1 and all(sorted(o) == [10, 128, 250] for o in shuffled)
    with pytest.raises(ValueError, match="needs color"):
        PatchSampler([path], 32, gray=True, permute_channels=0.5)
    with pytest.raises(ValueError, match="probability"):
        PatchSampler([path], 32, permute_channels=1.5)


def _tiny_photo_root(tmp_path):
    """A data root with three small CBSD432 photos, enough for the inpainting and denoising training commands."""
    folder = tmp_path / "data" / "denoise" / "train" / "color" / "CBSD432"
    folder.mkdir(parents=True)
    for i in range(3):
        _jpeg(folder / f"{i}.jpg", (64, 80), i)


def _train(monkeypatch, tmp_path, trainer, out, *extra):
    """Run a training command for two steps on the tiny data root; returns its --output folder."""
    argv = ["train", "--data-root", str(tmp_path / "data"), "--run-dir", str(tmp_path / f"run-{out}"), "--output"]
    argv += [str(tmp_path / out), "--steps", "2", "--patch", "32", "--batch-size", "2"]
    monkeypatch.setattr(sys, "argv", argv + list(extra))
    trainer.main()
    return tmp_path / out


def _train_inpaint(monkeypatch, tmp_path, out, *extra, shape=("--nf", "8", "--n-blocks", "2")):
    return _train(monkeypatch, tmp_path, train_inpaint, out, *shape, *extra)


def test_inpaint_training_refits_skips_as_one_by_one(monkeypatch, tmp_path):
    """--skip-kernel 1 from a 3x3-skip release trains and exports a 1x1 model; fine-tuning that model keeps
    its layout by default; asking to grow the skips back is refused."""
    _tiny_photo_root(tmp_path)
    torch.manual_seed(0)
    save_model(InpaintNet(nf=8, n_blocks=2), tmp_path / "teacher")
    slim = _train_inpaint(
        monkeypatch,
        tmp_path,
        "slim",
        "--init-from",
        str(tmp_path / "teacher"),
        "--skip-kernel",
        "1",
        "--distill",
        "0.5",
    )
    assert read_config(slim)["skip_kernel"] == 1
    model = load_model(slim)
    assert model.dec0.skip.weight.shape[-2:] == (1, 1)
    again = _train_inpaint(monkeypatch, tmp_path, "again", "--init-from", str(slim))
    assert read_config(again)["skip_kernel"] == 1
    with pytest.raises(SystemExit):
        _train_inpaint(monkeypatch, tmp_path, "grow", "--init-from", str(slim), "--skip-kernel", "3")


def test_inpaint_training_alternates_crop_sizes(monkeypatch, tmp_path):
    """--patch 32,64 takes turns step by step, the 64 px batches holding the pixels of the 32 px ones."""
    _tiny_photo_root(tmp_path)
    seen = []
    make_batch = train_inpaint.make_batch

    def recording(sampler, n, rng, sketch_p=0.5, size=None):
        seen.append((n, size))
        return make_batch(sampler, n, rng, sketch_p, size)

    monkeypatch.setattr(train_inpaint, "make_batch", recording)
    out = _train_inpaint(monkeypatch, tmp_path, "mixed", "--patch", "32,64", "--batch-size", "4", "--steps", "3")
    assert seen == [(4, 32), (1, 64), (4, 32)]
    assert "random 32/64px crops" in (out / "README.md").read_text()
    for bad in ("32,x", "0"):
        with pytest.raises(SystemExit):
            _train_inpaint(monkeypatch, tmp_path, "bad", "--patch", bad)


def test_inpaint_training_loss_choice(monkeypatch, tmp_path):
    """--loss mse fits the squared error in the hole (PSNR's optimum, the mean of the plausible fills): from the
    same weights and batches it moves the weights differently from the default L1; the card names the loss."""
    _tiny_photo_root(tmp_path)
    torch.manual_seed(0)
    save_model(InpaintNet(nf=8, n_blocks=2), tmp_path / "init")
    out = {}
    for loss, words in (("l1", "L1 + gradient"), ("mse", "squared-error + gradient")):
        folder = _train_inpaint(monkeypatch, tmp_path, loss, "--init-from", str(tmp_path / "init"), "--loss", loss)
        assert f"trained with {words} losses" in (folder / "README.md").read_text()
        out[loss] = load_model(folder, device="cpu").state_dict()
    assert any(not torch.equal(out["l1"][k], out["mse"][k]) for k in out["l1"])
    with pytest.raises(SystemExit):
        _train_inpaint(monkeypatch, tmp_path, "bad", "--loss", "l2")


def test_mask_aware_adversarial_losses():
    """The discriminator calls the composite fake only where the hole is; the generator term sees only the hole."""
    disc = patch_discriminator(8)
    real, fake = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    pr, pf = disc(real), disc(fake)
    no_hole, all_hole = torch.zeros(2, 1, 64, 64), torch.ones(2, 1, 64, 64)
    both_real = F.softplus(-pr).mean() + F.softplus(-pf).mean()
    standard = F.softplus(-pr).mean() + F.softplus(pf).mean()
    assert torch.allclose(train_inpaint.discriminator_loss(disc, real, fake, no_hole), both_real)
    assert torch.allclose(train_inpaint.discriminator_loss(disc, real, fake, all_hole), standard)
    assert train_inpaint.generator_adv_loss(disc, fake, no_hole) == 0
    assert torch.allclose(train_inpaint.generator_adv_loss(disc, fake, all_hole), F.softplus(-pf).mean())
    half = torch.zeros(2, 1, 64, 64)
    half[..., :32] = 1  # hole on the left: the generator term is the left cells' mean
    m = train_inpaint.hole_fraction(half, pf)
    assert 0 < m.mean() < 1 and m[..., 0].eq(1).all() and m[..., -1].eq(0).all()
    expected = (m * F.softplus(-pf)).sum() / m.sum()
    assert torch.allclose(train_inpaint.generator_adv_loss(disc, fake, half), expected)


def test_inpaint_training_with_adversarial_term_resumes(monkeypatch, tmp_path):
    """--adv trains a discriminator beside the model, checkpoints both, resumes them, and says so in the card."""
    _tiny_photo_root(tmp_path)
    out = _train_inpaint(monkeypatch, tmp_path, "adv", "--adv", "0.1", "--ndf", "8")
    state = torch.load(tmp_path / "run-adv" / "last.pt", weights_only=True)
    assert state["step"] == 2 and "disc" in state["modules"] and "disc" in state["optims"]
    assert "adversarial term (weight 0.1)" in (out / "README.md").read_text()
    disc_before = state["modules"]["disc"]
    _train_inpaint(monkeypatch, tmp_path, "adv", "--adv", "0.1", "--ndf", "8", "--steps", "3")
    state = torch.load(tmp_path / "run-adv" / "last.pt", weights_only=True)
    assert state["step"] == 3
    assert any(not torch.equal(disc_before[k], state["modules"]["disc"][k]) for k in disc_before)
    assert isinstance(load_model(out), InpaintNet)
    _train_inpaint(monkeypatch, tmp_path, "plain")
    with pytest.raises(SystemExit, match="has no disc"):  # resuming a run without --adv with it
        _train_inpaint(monkeypatch, tmp_path, "plain", "--adv", "0.1", "--steps", "3")
    with pytest.raises(SystemExit, match="also holds disc, which this run would drop"):  # and the other way round
        _train_inpaint(monkeypatch, tmp_path, "adv", "--steps", "4")
    assert "disc" in torch.load(tmp_path / "run-adv" / "last.pt", weights_only=True)["modules"]


def _tiny_emoji_root(root, n=6):
    rng = np.random.default_rng(0)
    keys = [f"k{i}" for i in range(n)]
    (root / "emoji").mkdir(parents=True)
    rows = ["key,split,category"] + [f"{k},train,Symbols" for k in keys]
    (root / "emoji" / "splits.csv").write_text("\n".join(rows) + "\n")
    for style in ("fluentflat", "fluent3d"):
        (root / "emoji" / style).mkdir()
        for k in keys:
            Image.fromarray(rng.integers(0, 256, (40, 40, 4), dtype=np.uint8), "RGBA").save(
                root / "emoji" / style / f"{k}.png"
            )


def test_cyclegan_training_switches_to_resize_convolutions(monkeypatch, tmp_path, capsys):
    """From an official-layout release, --upsample bilinear --distill --ema trains, checkpoints the EMA
    generators, resumes, and exports the EMA weights (--export-only --export-raw: the raw ones) as
    resize-convolution models whose card says so; inconsistent options are refused with a reason."""
    from safetensors.torch import load_file

    from genrepair.models import ResnetGenerator
    from genrepair.training import cyclegan as train_cyclegan

    _tiny_emoji_root(tmp_path / "data")
    torch.manual_seed(0)
    for name in ("cyclegan.flat2fluent3d", "cyclegan.fluent3d2flat"):
        save_model(ResnetGenerator(ngf=4, n_blocks=1), tmp_path / "old" / name)

    def train(out, *extra, run="run"):
        argv = ["cyclegan", "--data-root", str(tmp_path / "data"), "--run-dir", str(tmp_path / run), "--output"]
        argv += [str(tmp_path / out), "--ngf", "4", "--n-blocks", "1", "--ndf", "8"]
        argv += ["--size", "40", "--batch-size", "1", *extra]
        monkeypatch.setattr(sys, "argv", argv)
        train_cyclegan.main()
        return tmp_path / out

    def refused(match, *extra, run="run"):
        with pytest.raises(SystemExit):
            train("refused", *extra, run=run)
        assert match in capsys.readouterr().err

    init = ["--init-from", str(tmp_path / "old" / "cyclegan.flat2fluent3d")]
    new = train("new", *init, "--upsample", "bilinear", "--distill", "5", "--ema", "0.9", "--steps", "2")
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["step"] == 2 and {"G_ab_ema", "G_ba_ema"} <= set(state["modules"])
    new = train("new", *init, "--distill", "5", "--ema", "0.9", "--steps", "3")  # the layout is the run's
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["step"] == 3
    for name, key in (("cyclegan.flat2fluent3d", "G_ab"), ("cyclegan.fluent3d2flat", "G_ba")):
        assert read_config(new / name)["upsample"] == "bilinear"
        assert "resize-convolution decoder and EMA weights" in (new / name / "README.md").read_text()
        assert isinstance(load_model(new / name), ResnetGenerator)
        exported = load_file(str(new / name / "model.safetensors"))
        assert all(torch.equal(v, state["modules"][f"{key}_ema"][k]) for k, v in exported.items())
    raw = train("raw", *init, "--ema", "0.9", "--steps", "3", "--export-only", "--export-raw")
    exported = load_file(str(raw / "cyclegan.flat2fluent3d" / "model.safetensors"))
    assert all(torch.equal(v, state["modules"]["G_ab"][k]) for k, v in exported.items())
    assert "EMA" not in (raw / "cyclegan.flat2fluent3d" / "README.md").read_text()

    refused("keeps EMA generators", *init, "--steps", "3", "--export-only")
    refused("holds bilinear-layout generators", *init, "--ema", "0.9", "--upsample", "transpose")
    refused("--export-raw chooses", *init, "--export-raw", run="fresh")
    refused("--distill needs", "--init-from", str(new / "cyclegan.flat2fluent3d"), "--distill", "5", run="fresh")
    refused("cannot start from resize-convolution", "--init-from", str(new / "cyclegan.flat2fluent3d"),
            "--upsample", "transpose", run="fresh")  # fmt: skip


def test_cyclegan_loss_weights_are_options(monkeypatch, tmp_path):
    """--lambda-cycle and --lambda-identity scale the two L1 terms (0 switches both off) and the card names them."""
    from genrepair.training import cyclegan as train_cyclegan
    from genrepair.training.common import Trainer

    _tiny_emoji_root(tmp_path / "data")
    logged = []
    monkeypatch.setattr(Trainer, "log", lambda self, **scalars: logged.append(scalars))

    def train(run, *extra):
        argv = ["cyclegan", "--data-root", str(tmp_path / "data"), "--run-dir", str(tmp_path / run), "--output"]
        argv += [str(tmp_path / run / "out"), "--ngf", "4", "--n-blocks", "1", "--ndf", "8"]
        monkeypatch.setattr(sys, "argv", argv + ["--size", "40", "--batch-size", "1", "--steps", "1", *extra])
        torch.manual_seed(0)
        train_cyclegan.main()
        return (tmp_path / run / "out" / "cyclegan.flat2fluent3d" / "README.md").read_text(), logged.pop()

    card, scalars = train("official")
    assert scalars["cycle"] > 0 and scalars["idt"] > 0 and "cycle weight" not in card
    card, scalars = train("off", "--lambda-cycle", "0")
    assert scalars["cycle"] == 0 and scalars["idt"] == 0 and "cycle weight 0 and identity 0.5" in card
    card, scalars = train("low", "--lambda-cycle", "5", "--lambda-identity", "0")
    assert scalars["cycle"] > 0 and scalars["idt"] == 0 and "cycle weight 5 and identity 0" in card
    # a resume repeats what chose the data: another --seed re-splits the unpaired halves, another --a another style
    for changed, was in ((("--seed", "1"), "--seed 0"), (("--a", "fluent3d", "--b", "fluentflat"), "--a fluentflat")):
        with pytest.raises(SystemExit, match=f"was trained with {was}.*a resume must use the same data"):
            train("official", "--steps", "2", *changed)
    train("official", "--steps", "2", "--lr", "1e-4")  # other options may change
    card, _ = train("small", "--size", "32")  # the 40 px test emoji trained at 32 px, as the card and config say
    config = json.loads((tmp_path / "small" / "out" / "cyclegan.flat2fluent3d" / "config.json").read_text())
    assert "at 32px" in card and config["image_size"] == 32
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "last.pt").write_text("not a checkpoint")
    with pytest.raises(SystemExit, match="last.pt is damaged or not a training checkpoint"):
        train("broken")


def test_init_from_grows_residual_blocks_as_identity(tmp_path):
    from genrepair.models import NoiseCondUNet
    from genrepair.training.common import init_from

    torch.manual_seed(0)
    small = NoiseCondUNet(in_nc=3, channels=[8, 16], nb=1).eval()
    save_model(small, tmp_path / "small")
    deep = NoiseCondUNet(in_nc=3, channels=[8, 16], nb=3).eval()
    with pytest.raises(RuntimeError, match="Missing key"):
        init_from(deep, tmp_path / "small")  # strict by default
    init_from(deep, tmp_path / "small", grow=True)
    x = torch.rand(1, 3, 24, 40)
    with torch.no_grad():
        torch.testing.assert_close(deep(x, 0.1), small(x, 0.1), rtol=0, atol=1e-6)
    # the new blocks train: their first convolution keeps its random initialisation
    assert deep.body[2].res[0].weight.abs().sum() > 0
    assert deep.body[2].res[2].weight.abs().sum() == 0
    narrower = NoiseCondUNet(in_nc=3, channels=[8, 12], nb=3)
    with pytest.raises(ValueError, match="does not fit the model"):
        init_from(narrower, tmp_path / "small", grow=True)
    # a tensor missing outside a residual block is not something growing can supply
    from safetensors.torch import load_file, save_file

    state = load_file(str(tmp_path / "small" / "model.safetensors"))
    del state["head.weight"]
    (tmp_path / "headless").mkdir()
    save_file(state, str(tmp_path / "headless" / "model.safetensors"))
    with pytest.raises(ValueError, match="lacks tensors outside new residual blocks: head.weight"):
        init_from(NoiseCondUNet(in_nc=3, channels=[8, 16], nb=3), tmp_path / "headless", grow=True)


def _sgd_step(model, x):
    """One training step of a denoiser on ``x`` (to see which weights move)."""
    opt = torch.optim.SGD(model.train().parameters(), lr=0.1)
    model(x, 0.1).sub(x).square().mean().backward()
    opt.step()


def test_init_from_widens_denoiser_levels(tmp_path):
    """Wider levels (and more blocks at once): the released channels come first and ignore the new ones,
    so the wider model computes what the release did; the new channels train."""
    from genrepair.models import NoiseCondUNet
    from genrepair.training.common import init_from

    torch.manual_seed(0)
    small = NoiseCondUNet(in_nc=3, channels=[8, 16], nb=1).eval()
    save_model(small, tmp_path / "small")
    wide = NoiseCondUNet(in_nc=3, channels=[12, 16], nb=2)
    with pytest.raises(RuntimeError, match="size mismatch"):
        init_from(wide, tmp_path / "small")  # strict without grow
    init_from(wide, tmp_path / "small", grow=True)
    torch.testing.assert_close(wide.head.weight[:8], small.head.weight, rtol=0, atol=0)
    assert wide.head.weight[8:].abs().sum() > 0  # new filters keep their initialisation
    assert wide.tail.weight[:, 8:].abs().sum() == 0  # the released outputs ignore the new channels
    x = torch.rand(2, 3, 24, 40)
    with torch.no_grad():
        torch.testing.assert_close(wide.eval()(x, 0.1), small(x, 0.1), rtol=0, atol=1e-6)
    _sgd_step(wide, x)
    assert wide.tail.weight[:, 8:].abs().sum() > 0 and wide.up[0].weight[:, 8:].abs().sum() > 0


def test_init_from_grows_a_denoiser_unet_level(tmp_path):
    """One U-Net level more: the release's bottleneck becomes the deepest encoder stage, the new level
    starts silent, and the grown model computes what the release did, then trains."""
    from genrepair.models import NoiseCondUNet
    from genrepair.training.common import init_from

    torch.manual_seed(0)
    small = NoiseCondUNet(in_nc=3, channels=[8, 16], nb=2, pad_multiple=4).eval()
    save_model(small, tmp_path / "small")
    deep = NoiseCondUNet(in_nc=3, channels=[8, 16, 32], nb=2, pad_multiple=8)
    with pytest.raises(RuntimeError, match="Missing key"):
        init_from(deep, tmp_path / "small")  # strict without grow
    init_from(deep, tmp_path / "small", grow=True)
    torch.testing.assert_close(deep.enc[1][0].res[0].weight, small.body[0].res[0].weight, rtol=0, atol=0)
    x = torch.rand(2, 3, 40, 56)
    with torch.no_grad():
        torch.testing.assert_close(deep.eval()(x, 0.1), small(x, 0.1), rtol=0, atol=1e-6)
    # one optimiser step moves the new level: it is not stuck at zero
    _sgd_step(deep, x)
    assert deep.up[1].weight.abs().sum() > 0 and deep.down[1].weight.grad is not None
    # two levels more is not a growth we can make exact (the renamed bottleneck is widened, the level
    # between has nothing to start from)
    with pytest.raises(ValueError, match="lacks tensors outside new residual blocks: down.1.weight"):
        init_from(NoiseCondUNet(in_nc=3, channels=[8, 16, 32, 64], nb=2), tmp_path / "small", grow=True)


def test_denoise_training_loss_choice(monkeypatch, tmp_path):
    """--loss mse trains on the squared error (what PSNR measures): from the same weights, crops and noise
    it moves the weights differently from the default L1, and the card says which loss was used."""
    from genrepair.models import NoiseCondUNet

    _tiny_photo_root(tmp_path)
    torch.manual_seed(0)
    save_model(NoiseCondUNet(in_nc=3, channels=[8, 16], nb=1, pad_multiple=8), tmp_path / "init")
    out = {}
    for loss in ("l1", "mse"):
        torch.manual_seed(1)  # the same noise for both runs
        shape = ("--channels", "8,16", "--nb", "1", "--init-from", str(tmp_path / "init"))
        out[loss] = load_model(_train(monkeypatch, tmp_path, train_denoise, loss, *shape, "--loss", loss), device="cpu")
        assert f"{loss} loss" in (tmp_path / loss / "README.md").read_text()
    assert not torch.equal(out["l1"].head.weight, out["mse"].head.weight)
    monkeypatch.setattr(sys, "argv", ["denoise", "--loss", "l2"])
    with pytest.raises(SystemExit):
        train_denoise.main()


def test_fine_tuning_takes_the_architecture_from_the_release(monkeypatch, tmp_path):
    """--init-from alone fine-tunes a release whose widths and depth are not the trainer's defaults (the
    denoiser's --channels/--nb, like the inpainter's --nf/--n-blocks, come from its config.json)."""
    from genrepair.models import NoiseCondUNet

    _tiny_photo_root(tmp_path)
    save_model(NoiseCondUNet(in_nc=3, channels=[8, 16], nb=3, pad_multiple=8), tmp_path / "release")
    out = _train(monkeypatch, tmp_path, train_denoise, "tuned", "--init-from", str(tmp_path / "release"))
    assert {k: read_config(out)[k] for k in ("channels", "nb")} == {"channels": [8, 16], "nb": 3}
    grown = ("--init-from", str(tmp_path / "release"), "--nb", "4", "--grow")  # an explicit flag still wins
    assert read_config(_train(monkeypatch, tmp_path, train_denoise, "grown", *grown))["nb"] == 4


def test_gray_denoise_training_can_start_from_a_color_release(monkeypatch, tmp_path):
    """--gray --init-from a color release converts its weights (gray_state_from_color) and trains a 1-channel
    model of the release's shape; the card says where it started."""
    from genrepair.models import NoiseCondUNet

    _tiny_photo_root(tmp_path)
    (tmp_path / "data" / "denoise" / "train" / "gray" / "Train400").mkdir(parents=True)
    save_model(NoiseCondUNet(in_nc=3, channels=[8, 16], nb=2, pad_multiple=8), tmp_path / "color")
    gray = ("--gray", "--cbsd432", "--init-from", str(tmp_path / "color"))
    config = read_config(_train(monkeypatch, tmp_path, train_denoise, "gray", *gray))
    assert (config["in_nc"], config["channels"], config["nb"]) == (1, [8, 16], 2)
    assert "started from a color model's weights" in config["train_data"]
    with pytest.raises(SystemExit):
        _train(monkeypatch, tmp_path, train_denoise, "grown", *gray, "--grow")


def _crops(tmp_path: Path, levels: tuple[int, int], **augment) -> tuple[Path, np.ndarray, np.ndarray]:
    """A random colour photo of values in ``levels``, and the same 32 px crop (seed 1) without and with ``augment``."""
    path = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(*levels, (80, 90, 3), dtype=np.uint8)).save(path)
    plain, changed = (
        PatchSampler([path], 32, seed=1, **kw).batch(1)[0].permute(1, 2, 0).numpy() for kw in ({}, augment)
    )
    return path, plain, changed


def test_patch_sampler_saturates_colors(tmp_path):
    """saturate=1 draws the same crops as the plain sampler (the factor is drawn after the crop) and pushes every
    pixel's color away from its luma by one factor in [1, 2] per crop, clipped to [0, 1]; luma is kept where
    nothing clips. Gray crops and out-of-range chances are refused."""
    path, plain, vivid = _crops(tmp_path, (60, 196), saturate=1.0)
    chroma, vivid_chroma = plain - (plain @ LUMA)[..., None], vivid - (vivid @ LUMA)[..., None]
    unclipped = ((vivid > 0) & (vivid < 1)).all(axis=2)
    assert unclipped.mean() > 0.9
    factor = vivid_chroma[unclipped] / np.where(np.abs(chroma[unclipped]) > 1e-3, chroma[unclipped], np.nan)
    assert 1.1 < np.nanmedian(factor) <= 2.0 and np.nanstd(factor) < 1e-3  # this seed draws 1.45
    np.testing.assert_allclose((vivid @ LUMA)[unclipped], (plain @ LUMA)[unclipped], atol=1e-5)
    assert vivid.min() >= 0 and vivid.max() <= 1
    with pytest.raises(ValueError, match="saturate needs color"):
        PatchSampler([path], 32, gray=True, saturate=0.5)
    with pytest.raises(ValueError, match="saturate is a probability"):
        PatchSampler([path], 32, saturate=-0.1)


def test_patch_sampler_raises_fine_chroma_detail(tmp_path):
    """chroma_detail=1 draws the same crops as the plain sampler and multiplies the fine detail of their chroma
    (chroma less its blur) by one factor in [1, 3], keeping luma and the blurred chroma where nothing clips."""
    import cv2

    path, plain, sharp = _crops(tmp_path, (110, 146), chroma_detail=1.0)
    chroma, sharp_chroma = plain - (plain @ LUMA)[..., None], sharp - (sharp @ LUMA)[..., None]
    smooth = cv2.GaussianBlur(chroma, (0, 0), 1.5, borderType=cv2.BORDER_REFLECT)
    assert ((sharp > 0) & (sharp < 1)).all()  # mid-range colours: nothing clips, so the factor shows exactly
    detail, raised = chroma - smooth, sharp_chroma - smooth
    factor = float((raised * detail).sum() / (detail**2).sum())
    assert 1.0 < factor <= 3.0
    np.testing.assert_allclose(raised, factor * detail, atol=2e-5)
    np.testing.assert_allclose(sharp @ LUMA, plain @ LUMA, atol=1e-5)
    with pytest.raises(ValueError, match="chroma_detail needs color"):
        PatchSampler([path], 32, gray=True, chroma_detail=0.5)
    with pytest.raises(ValueError, match="chroma_detail is a probability"):
        PatchSampler([path], 32, chroma_detail=1.5)


def test_denoise_training_saturate_is_on_the_card(monkeypatch, tmp_path):
    _tiny_photo_root(tmp_path)
    args = ("--channels", "8,16", "--nb", "1", "--saturate", "0.5", "--chroma-detail", "0.25")
    out = _train(monkeypatch, tmp_path, train_denoise, "vivid", *args)
    card = (out / "README.md").read_text()
    assert "saturation raised 1-2x in 50% of crops" in card and "fine chroma detail raised 1-3x in 25% of crops" in card
    with pytest.raises(ValueError, match="saturate needs color"):
        _train(monkeypatch, tmp_path, train_denoise, "gray", "--gray", "--cbsd432", "--saturate", "0.5")


def test_gray_denoise_training_can_add_cbsd432_as_gray(monkeypatch, tmp_path):
    """--gray --cbsd432 adds the full-size CBSD432 photos, read as gray, to Train400: on a root whose only images
    are CBSD432's it trains a one-channel model and the card names the set; without the flag there is nothing to
    train on, and the flag is refused for color training (which uses the set already)."""
    _tiny_photo_root(tmp_path)
    (tmp_path / "data" / "denoise" / "train" / "gray" / "Train400").mkdir(parents=True)
    shape = ("--gray", "--channels", "8,16", "--nb", "1")
    model = load_model(_train(monkeypatch, tmp_path, train_denoise, "gray", *shape, "--cbsd432"), device="cpu")
    assert model.in_nc == 1
    card = (tmp_path / "gray" / "README.md").read_text()
    assert "CBSD432 (BSDS500 minus the CBSD68/BSD68 test images, as gray)" in card
    with pytest.raises(ValueError, match="no training image"):
        _train(monkeypatch, tmp_path, train_denoise, "none", *shape)
    with pytest.raises(SystemExit):
        _train(monkeypatch, tmp_path, train_denoise, "color", "--channels", "8,16", "--nb", "1", "--cbsd432")


def test_init_from_grows_the_inpainters_fourier_blocks_as_identity(tmp_path):
    from genrepair.models import InpaintNet
    from genrepair.training.common import init_from

    torch.manual_seed(0)
    small = InpaintNet(nf=8, n_blocks=2, skip_kernel=1).eval()
    save_model(small, tmp_path / "small")
    deep = InpaintNet(nf=8, n_blocks=5, skip_kernel=1).eval()
    init_from(deep, tmp_path / "small", grow=True)
    image, mask = torch.rand(1, 3, 40, 48), (torch.rand(1, 1, 40, 48) > 0.6).float()
    sketch = (torch.rand(1, 1, 40, 48) > 0.9).float()
    with torch.no_grad():
        torch.testing.assert_close(deep(image, mask, sketch), small(image, mask, sketch), rtol=0, atol=1e-6)
    for block in deep.body[2:]:  # the appended blocks train: only their fusing convolution starts at zero
        assert block.local[0].weight.abs().sum() > 0 and block.fourier.conv.weight.abs().sum() > 0
        assert block.fuse.weight.abs().sum() == 0 and block.fuse.bias.abs().sum() == 0
    assert small.body[1].fuse.weight.abs().sum() > 0  # the copied ones keep their weights
    torch.testing.assert_close(deep.body[1].fuse.weight, small.body[1].fuse.weight)


def test_inpaint_training_grows_from_a_release(monkeypatch, tmp_path, capsys):
    _tiny_photo_root(tmp_path)
    torch.manual_seed(0)
    save_model(InpaintNet(nf=8, n_blocks=2, skip_kernel=1), tmp_path / "small")
    init = ("--init-from", str(tmp_path / "small"), "--n-blocks", "3")
    with pytest.raises(RuntimeError, match="Missing key"):  # deeper without --grow: refused, not half-loaded
        _train_inpaint(monkeypatch, tmp_path, "refused", *init)
    deep = _train_inpaint(monkeypatch, tmp_path, "deep", *init, "--grow")
    assert read_config(deep)["n_blocks"] == 3 and len(load_model(deep).body) == 3
    # fine-tuning the grown release needs no --nf / --n-blocks: they default to --init-from's
    _train_inpaint(monkeypatch, tmp_path, "tuned", "--init-from", str(deep), shape=())
    assert {k: read_config(tmp_path / "tuned")[k] for k in ("nf", "n_blocks", "skip_kernel")} == {
        "nf": 8, "n_blocks": 3, "skip_kernel": 1}  # fmt: skip
    save_model(InpaintNet(nf=8, n_blocks=2, skip_kernel=3), tmp_path / "wide-skips")
    with pytest.raises(SystemExit):  # growing and re-fitting the skips at once is refused
        _train_inpaint(monkeypatch, tmp_path, "both", "--init-from", str(tmp_path / "wide-skips"), "--n-blocks", "3",
                       "--grow", "--skip-kernel", "1")  # fmt: skip
    assert "separate steps" in capsys.readouterr().err


def test_a_resumed_run_continues_its_random_streams_and_takes_the_new_lr(monkeypatch, tmp_path):
    """Steps 3-4 of a run stopped after step 2 and resumed see new crops and noise (not step 1-2's again), the
    same ones as an uninterrupted 4-step run; the resume's --lr is used, and the card lists both commands."""
    from genrepair.models import NoiseCondUNet

    _tiny_photo_root(tmp_path)
    save_model(NoiseCondUNet(in_nc=3, channels=[8, 16], nb=1, pad_multiple=8), tmp_path / "init")
    seen = []
    real_batch = PatchSampler.batch
    monkeypatch.setattr(PatchSampler, "batch", lambda self, n: seen.append(real_batch(self, n)) or seen[-1])
    lrs = []
    real_step = torch.optim.AdamW.step
    monkeypatch.setattr(
        torch.optim.AdamW, "step", lambda self, *a: lrs.append(self.param_groups[0]["lr"]) or real_step(self, *a)
    )
    shape = ("--channels", "8,16", "--nb", "1", "--init-from", str(tmp_path / "init"))
    _train(monkeypatch, tmp_path, train_denoise, "whole", *shape, "--steps", "4")
    whole = [b.clone() for b in seen]
    seen.clear()
    _train(monkeypatch, tmp_path, train_denoise, "parts", *shape, "--steps", "2")
    lrs.clear()
    out = _train(monkeypatch, tmp_path, train_denoise, "parts", *shape, "--steps", "4", "--lr", "1e-3")
    assert len(seen) == 4 and torch.equal(seen[0], whole[0]) and torch.equal(seen[1], whole[1])
    assert torch.equal(seen[2], whole[2]) and torch.equal(seen[3], whole[3])
    assert not torch.equal(seen[2], seen[0])
    assert lrs[0] > 2e-4  # the cosine schedule from the resume's --lr 1e-3 (the first run's was 2e-4)
    card = (out / "README.md").read_text()
    assert card.count("`, then `") == 1 and "--lr 1e-3  # from step 2" in card
    out = _train(monkeypatch, tmp_path, train_denoise, "parts", *shape, "--steps", "4", "--lr", "1e-3")  # again
    assert (out / "README.md").read_text().count("`, then `") == 1  # the same command is listed once


def test_training_refuses_what_would_lose_work(monkeypatch, tmp_path, capsys):
    """--export-only with no checkpoint does not export untrained weights; --gray's default name is
    denoise.gray (it used to write over denoise.color); an explicit --output is used as given."""
    _tiny_photo_root(tmp_path)
    monkeypatch.chdir(tmp_path)
    argv = ["denoise", "--data-root", str(tmp_path / "data"), "--export-only", "--run-dir", str(tmp_path / "typo")]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit, match="no checkpoint .*typo/last.pt to export"):
        train_denoise.main()
    assert not (tmp_path / "weights").exists() and not (tmp_path / "typo").exists()
    gray_root = tmp_path / "data" / "denoise" / "train" / "gray" / "Train400"
    gray_root.mkdir(parents=True)
    for i in range(2):
        Image.fromarray(np.random.default_rng(i).integers(0, 256, (60, 60), dtype=np.uint8)).save(
            gray_root / f"{i}.png"
        )
    argv = ["denoise", "--data-root", str(tmp_path / "data"), "--gray", "--steps", "1", "--patch", "32"]
    monkeypatch.setattr(sys, "argv", argv + ["--batch-size", "2", "--channels", "8,16", "--nb", "1"])
    train_denoise.main()
    assert (tmp_path / "runs" / "denoise.gray" / "last.pt").is_file()
    assert read_config(tmp_path / "weights" / "denoise.gray")["in_nc"] == 1
    assert not (tmp_path / "weights" / "denoise.color").exists()
    monkeypatch.setattr(
        sys, "argv", argv + ["--batch-size", "2", "--channels", "8,16", "--nb", "1", "--output", "mine"]
    )
    train_denoise.main()
    assert read_config(tmp_path / "mine")["in_nc"] == 1


def test_a_first_ctrl_c_stops_at_the_step_boundary(tmp_path):
    """SIGINT, like SIGTERM, asks the loop to stop so the checkpoint and export still happen; a second one aborts."""
    import argparse
    import signal

    from genrepair.training.common import Trainer

    args = argparse.Namespace(
        threads=1, seed=0, run_dir=tmp_path / "run", export_only=False, steps=10, minutes=1, save_every=5
    )
    model = torch.nn.Linear(2, 2)
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        t = Trainer(args, {"m": model}, {"o": torch.optim.SGD(model.parameters(), lr=0.1)})
        assert t.running()
        signal.raise_signal(signal.SIGINT)
        assert not t.running()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


def test_init_from_a_missing_folder_says_so(tmp_path, monkeypatch):
    """A relative `--init-from weights/...` from outside the checkout said "config.json is unreadable: [Errno 2]"."""
    import argparse

    from genrepair.training.common import arch_from_init

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"--init-from weights/denoise.color: no such folder here \(.*\); give the"):
        arch_from_init(argparse.Namespace(init_from="weights/denoise.color", nb=None), nb=4)


@pytest.mark.parametrize(
    ("trainer", "args", "message"),
    [
        ("denoise", ["--init-from", "nowhere"], "--init-from nowhere: no such folder here"),
        ("inpaint", ["--steps", "1"], "no training images found: check --data-root"),
        ("cyclegan", ["--init-from", "nowhere"], "--init-from nowhere: expected a folder holding"),
        ("gan", ["--bogus"], "unrecognized arguments: --bogus"),
        ("denoise", ["--patch", "0"], "--patch must be at least 8 pixels, got 0"),  # was a conv error
        ("cyclegan", ["--a", "fluentflat", "--b", "fluentflat"], "--a and --b are both fluentflat"),
        (
            "denoise",
            ["--gray", "--init-from", str(Path(__file__).parents[1] / "weights" / "inpaint.photo")],
            "holds InpaintNet, not a NoiseCondUNet denoiser",  # was the bare key name: "error: head.weight"
        ),
    ],
)
def test_trainers_refuse_bad_input_with_one_line_and_status_2(tmp_path, trainer, args, message):
    """As the genrepair command does: one line on stderr (no traceback), exit status 2 (a refusal was status 1)."""
    import subprocess

    cmd = [sys.executable, "-m", f"genrepair.training.{trainer}", "--data-root", str(tmp_path / "data"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr  # a bad option printed argparse's usage too
    assert lines[0].startswith(f"{trainer}.py: error: ") and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and list(tmp_path.iterdir()) == [], "a refused run leaves nothing behind"


def test_empty_emoji_and_avatar_folders_are_named(tmp_path):
    """splits.csv present, images missing: torch.stack's 'expects a non-empty TensorList' named nothing."""
    from genrepair.training.data import load_avatars, load_emoji

    (tmp_path / "emoji" / "fluentflat").mkdir(parents=True)
    (tmp_path / "emoji" / "splits.csv").write_text("key,split,category\nu1f600,train,Smileys & Emotion\n")
    (tmp_path / "avatars").mkdir()
    (tmp_path / "avatars" / "splits.csv").write_text("file,split\na1,test\n")
    with pytest.raises(ValueError, match=r"emoji/fluentflat: no train images of splits.csv's keys there"):
        load_emoji(tmp_path, "fluentflat", "train")
    with pytest.raises(ValueError, match=r"avatars/splits.csv: no train images listed"):
        load_avatars(tmp_path, "train")
