"""Checkpoints that convert or load but would fail later: refused at ``genrepair convert`` or at load time.

Each case once converted (or loaded) and then crashed with a raw traceback, or ran with wrong weights.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny
from PIL import Image

from genrepair import ModelLoadError, load_model, translate
from genrepair.convert import ConversionError, convert
from genrepair.hub import save_model
from genrepair.models import DnCNN, ResnetGenerator

pytestmark = pytest.mark.usefixtures("isolated_env")


def cyclegan_state(seed: int = 0, **kwargs) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return ResnetGenerator(ngf=4, n_blocks=1, **kwargs).state_dict()


def write_pth(path: Path, obj) -> Path:
    torch.save(obj, path)
    return path


# ---------------------------------------------------------------- convert: values and channels


def test_convert_refuses_nan_or_infinite_weights(tmp_path: Path) -> None:
    for bad in (float("nan"), float("inf")):
        sd = cyclegan_state()
        sd["model.4.weight"] = sd["model.4.weight"].clone()
        sd["model.4.weight"].view(-1)[3] = bad
        src = write_pth(tmp_path / "diverged.pth", sd)
        with pytest.raises(ConversionError, match=r"diverged\.pth: .*model\.4\.weight holds NaN or infinite values"):
            convert(src, "cyclegan", tmp_path / "out")
        assert not (tmp_path / "out").exists()


def test_convert_refuses_integer_weights(tmp_path: Path) -> None:
    """Integers were cast to float and ran as garbage weights; loading refuses them anyway."""
    src = write_pth(tmp_path / "quant.pth", {k: (v * 100).int() for k, v in cyclegan_state().items()})
    with pytest.raises(ConversionError, match=r"quant\.pth: weight model\.1\.weight is stored as torch\.int32"):
        convert(src, "cyclegan", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_convert_accepts_half_precision_and_stale_integer_buffers(tmp_path: Path) -> None:
    sd = {k: v.half() for k, v in cyclegan_state().items()}
    sd["model.2.num_batches_tracked"] = torch.tensor(0)  # an old file's InstanceNorm counter: dropped, not refused
    load_model(convert(write_pth(tmp_path / "half.pth", sd), "cyclegan", tmp_path / "out"))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float8_e4m3fn])
def test_low_precision_weights_convert_and_load(tmp_path: Path, dtype: torch.dtype) -> None:
    """bfloat16 and float8 weights run as float32 (float8 stopped the NaN check with a NotImplementedError)."""
    from safetensors.torch import save_file

    sd = {k: v.to(dtype) if v.is_floating_point() else v for k, v in cyclegan_state().items()}
    folder = convert(write_pth(tmp_path / "low.pth", sd), "cyclegan", tmp_path / "out")
    save_file(sd, str(folder / "model.safetensors"))  # the folder's weights in the low precision itself
    model = load_model(folder)
    want = {k: v.float() for k, v in sd.items()}
    assert all(torch.equal(v, want[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(input_nc=4), r"g\.pth: the generator reads 4 input channels; genrepair translate gives it 1 \(gray\)"),
        (dict(output_nc=4), r"g\.pth: the generator writes 4 output channels; .*1 \(gray\) or 3 \(RGB\)"),
        (dict(input_nc=2, output_nc=2), r"reads 2 input channels"),
    ],
)
def test_convert_refuses_channel_counts_translate_cannot_use(kwargs: dict, message: str, tmp_path: Path) -> None:
    src = write_pth(tmp_path / "g.pth", cyclegan_state(**kwargs))
    with pytest.raises(ConversionError, match=message):
        convert(src, "cyclegan", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_convert_gray_and_color_generators_still_translate(tmp_path: Path) -> None:
    rgb = Image.fromarray((np.random.default_rng(0).random((12, 16, 3)) * 255).astype(np.uint8))
    for i, o in ((1, 1), (1, 3), (3, 1), (3, 3)):
        src = write_pth(tmp_path / f"g{i}{o}.pth", cyclegan_state(input_nc=i, output_nc=o))
        out = translate(load_model(convert(src, "cyclegan", tmp_path / f"m{i}{o}")), rgb)
        assert (out.mode, out.size) == ({1: "L", 3: "RGB"}[o], (16, 12))


def test_convert_refuses_a_denoiser_of_four_channels(tmp_path: Path) -> None:
    src = write_pth(tmp_path / "d.pth", DnCNN(in_nc=4, out_nc=4, nc=8, nb=3).state_dict())
    with pytest.raises(ConversionError, match=r"d\.pth: the denoiser reads 4 channels; genrepair denoise gives it 1"):
        convert(src, "dncnn", tmp_path / "out")


@pytest.mark.parametrize(
    ("cls_name", "kwargs", "message"),
    [
        ("ResnetGenerator", dict(input_nc=4), r"the generator reads 4 input channels; genrepair translate gives it 1"),
        ("ResnetGenerator", dict(output_nc=2), r"the generator writes 2 output channels; genrepair translate saves 1"),
        ("DnCNN", dict(in_nc=2, out_nc=2), r"the denoiser reads 2 channels; genrepair denoise gives it 1"),
        ("DnCNN", dict(in_nc=3, out_nc=1), r"the denoiser reads 3 channels but writes 1; it must give back as many"),
        ("FFDNet", dict(in_nc=1, out_nc=3), r"the denoiser reads 1 channels but writes 3"),
        ("NoiseCondUNet", dict(in_nc=4), r"the denoiser reads 4 channels"),
    ],
)
def test_load_refuses_channel_counts_no_pipeline_runs(tmp_path: Path, cls_name: str, kwargs: dict, message) -> None:
    """What convert refuses, a folder saved by hand too: such models died inside the network on the first image
    (a traceback) or wrote a wrong picture (two output channels saved as gray and alpha)."""
    folder = save_model(tiny(cls_name, **kwargs), tmp_path / "m")
    with pytest.raises(ModelLoadError, match=r"m/config\.json: " + message):
        load_model(folder)


# ---------------------------------------------------------------- convert --overwrite


def test_overwrite_removes_the_old_models_examples_only(tmp_path: Path) -> None:
    out = tmp_path / "model"
    convert(write_pth(tmp_path / "a.pth", cyclegan_state(0)), "cyclegan", out)
    Image.new("RGB", (4, 4)).save(out / "examples.jpg")  # what scripts/make_card_images.py adds
    (out / "notes.txt").write_text("mine")
    (out / "other.jpg").write_bytes(b"not ours")
    convert(write_pth(tmp_path / "b.pth", cyclegan_state(1)), "cyclegan", out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors", "notes.txt",
                                                     "other.jpg"]  # fmt: skip
    assert (out / "notes.txt").read_text() == "mine"


def test_overwrite_keeps_an_examples_jpg_of_a_folder_that_held_no_model(tmp_path: Path) -> None:
    """A project folder's own picture is not a model's: without an old config.json nothing is removed."""
    (tmp_path / "README.md").write_text("# My project\n")
    Image.new("RGB", (4, 4)).save(tmp_path / "examples.jpg")
    convert(write_pth(tmp_path / "a.pth", cyclegan_state()), "cyclegan", tmp_path, overwrite=True)
    assert (tmp_path / "examples.jpg").is_file()
    project = tmp_path / "project"  # its own settings in a config.json: still not a model folder
    project.mkdir()
    (project / "config.json").write_text('{"theme": "dark"}')
    Image.new("RGB", (4, 4)).save(project / "examples.jpg")
    convert(write_pth(tmp_path / "b.pth", cyclegan_state()), "cyclegan", project, overwrite=True)
    assert (project / "examples.jpg").is_file()


def test_a_failed_overwrite_keeps_the_old_examples(tmp_path: Path) -> None:
    out = tmp_path / "model"
    convert(write_pth(tmp_path / "a.pth", cyclegan_state()), "cyclegan", out)
    Image.new("RGB", (4, 4)).save(out / "examples.jpg")
    with pytest.raises(ConversionError):
        convert(write_pth(tmp_path / "bad.pth", {"x": torch.zeros(1)}), "cyclegan", out, overwrite=True)
    assert (out / "examples.jpg").is_file()


def test_convert_will_not_replace_its_input_through_a_link(tmp_path: Path) -> None:
    """A link of another name to the output folder's weights file was converted onto itself with --overwrite."""
    out = tmp_path / "out"
    out.mkdir()
    original = write_pth(out / "model.safetensors", cyclegan_state())  # a .pth saved under the weights' name
    before = original.read_bytes()
    (tmp_path / "h2z.pth").symlink_to(original)
    with pytest.raises(ConversionError, match=r"h2z\.pth: refusing to overwrite the input file"):
        convert(tmp_path / "h2z.pth", "cyclegan", out, overwrite=True)
    assert original.read_bytes() == before
    dangling = tmp_path / "new"
    dangling.mkdir()
    (dangling / "config.json").symlink_to(tmp_path / "gone.json")  # a link to nothing is held too
    with pytest.raises(ConversionError, match=r"new: already holds config\.json; pass --overwrite"):
        convert(write_pth(tmp_path / "a.pth", cyclegan_state()), "cyclegan", dangling)
    assert (dangling / "config.json").is_symlink()


def test_convert_will_not_replace_a_registry_model_by_its_name(tmp_path: Path, caplog) -> None:
    """A DnCNN converted to $GENREPAIR_WEIGHTS/denoise.gray silently took the U-Net's place under that name."""
    from genrepair.hub import weights_dir

    src = write_pth(tmp_path / "dn.pth", DnCNN(in_nc=1, out_nc=1, nc=8, nb=3).state_dict())
    with pytest.raises(ConversionError, match=r"it would replace the registry model denoise\.gray; choose another"):
        convert(src, "dncnn", weights_dir() / "denoise.gray")
    assert not (weights_dir() / "denoise.gray").exists()
    convert(src, "dncnn", weights_dir() / "denoise.gray", overwrite=True)  # asked for: done, and said at load
    with caplog.at_level(logging.WARNING, logger="genrepair"):
        assert type(load_model("denoise.gray")).__name__ == "DnCNN"
    assert "holds a DnCNN, not the registry model's NoiseCondUNet" in caplog.text


def test_convert_reads_a_safetensors_file_and_names_a_truncated_one(tmp_path: Path) -> None:
    """A safetensors file named .pth was refused as "not a PyTorch checkpoint", and a half-written .pth (OSError
    Errno 22 from torch) was too: neither said what the file is."""
    from safetensors.torch import save_file

    sd = cyclegan_state()
    save_file(sd, str(tmp_path / "g.pth"))
    model = load_model(convert(tmp_path / "g.pth", "cyclegan", tmp_path / "out"))
    assert all(torch.equal(v, sd[k]) for k, v in model.state_dict().items())
    whole = write_pth(tmp_path / "whole.pth", sd).read_bytes()
    (tmp_path / "half.pth").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ConversionError, match=r"half\.pth: refused: the file is damaged, truncated or not a PyTorch"):
        convert(tmp_path / "half.pth", "cyclegan", tmp_path / "out2")
    (tmp_path / "cut.pth").write_bytes((tmp_path / "g.pth").read_bytes()[:200])
    with pytest.raises(ConversionError, match=r"cut\.pth: refused: the file is a damaged or truncated safetensors"):
        convert(tmp_path / "cut.pth", "cyclegan", tmp_path / "out3")


# ---------------------------------------------------------------- BasicSR / KAIR training checkpoints


def test_convert_prefers_params_ema_and_says_so(tmp_path: Path) -> None:
    plain, ema = DnCNN(in_nc=1, out_nc=1, nc=8, nb=3).state_dict(), DnCNN(in_nc=1, out_nc=1, nc=8, nb=3).state_dict()
    src = write_pth(tmp_path / "net_g_latest.pth", {"params": plain, "params_ema": ema})
    out = convert(src, "dncnn", tmp_path / "out")
    got = load_model(out).state_dict()
    assert all(torch.equal(got[k], ema[k]) for k in ema)
    assert not torch.equal(got["model.0.weight"], plain["model.0.weight"])
    assert "`params_ema`" in (out / "README.md").read_text()
    only = convert(write_pth(tmp_path / "p.pth", {"params": plain}), "dncnn", tmp_path / "only")
    assert torch.equal(load_model(only).state_dict()["model.0.weight"], plain["model.0.weight"])
    assert "`params`" in (only / "README.md").read_text()


# ---------------------------------------------------------------- load: configs that crashed later


def edited(model_dirs: dict[str, Path], key: str, tmp_path: Path, **changes) -> Path:
    folder = tmp_path / key
    shutil.copytree(model_dirs[key], folder)
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, **changes}))
    return folder


@pytest.mark.parametrize(
    ("key", "pad", "need"),
    [("denoise", 1, 4), ("denoise", 2, 4), ("denoise", 6, 4), ("inpaint", 1, 8), ("inpaint", 4, 8), ("cyclegan", 2, 4)],
)
def test_load_refuses_a_pad_multiple_the_network_cannot_use(model_dirs, tmp_path: Path, key, pad, need) -> None:
    folder = edited(model_dirs, key, tmp_path, pad_multiple=pad)
    with pytest.raises(ModelLoadError, match=rf"config\.json: pad_multiple {pad} is not a multiple of {need}"):
        load_model(folder)


def test_load_accepts_a_larger_multiple_of_what_the_network_needs(model_dirs, tmp_path: Path) -> None:
    assert load_model(edited(model_dirs, "denoise", tmp_path, pad_multiple=16)).pad_multiple == 16
    # denoise.gray's architecture (three channel levels): 8 is what it needs
    folder = save_model(tiny("NoiseCondUNet", in_nc=1, channels=[8, 16, 32]), tmp_path / "gray")
    with pytest.raises(ModelLoadError, match=r"pad_multiple 4 is not a multiple of 8"):
        load_model(edited({"gray": folder}, "gray", tmp_path / "x", pad_multiple=4))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(num_classes=-2), r"config\.json: num_classes must be a whole number of at least 0, got -2"),
        (dict(class_names=["a", "b", "c", "d"]), r"class_names has 4 names but num_classes is 3"),
        (dict(class_names=["a", "b"]), r"class_names has 2 names but num_classes is 3"),
        (dict(class_names="cat"), r"class_names must be a list of names, got 'cat'"),
        (dict(image_size=48), r"image_size must be 32, 64 or 128, got 48"),
        (dict(z_dim=16.0), r"config\.json: z_dim must be a whole number: write 16, not 16\.0"),
        (dict(ngf=True), r"ngf must be a number, got True"),
        (dict(ngf=4.5), r"ngf must be a whole number of at least 0, got 4\.5"),
    ],
)
def test_load_refuses_generator_configs_that_failed_later(model_dirs, tmp_path: Path, changes, message) -> None:
    with pytest.raises(ModelLoadError, match=message):
        load_model(edited(model_dirs, "gan", tmp_path, **changes))


@pytest.mark.parametrize(
    ("key", "changes", "message"),
    [
        ("denoise", dict(sigma_max=float("inf")), r"sigma_max must be a positive number, got inf"),
        (
            "denoise",
            dict(channels="32,64,128"),
            r"channels must be a list of whole numbers, like \[32, 64, 128\], got '32,",
        ),
        ("denoise", dict(channels=[8, 16.5]), r"channels must be a list of whole numbers"),
        ("cyclegan", dict(background="White"), r'background must be "white" or "black", got \'White\''),
    ],
)
def test_load_refuses_config_values_that_ran_wrong(model_dirs, tmp_path: Path, key, changes, message) -> None:
    """sigma_max Infinity switched the sigma check off; a misspelt background ran as black; channels as a string
    failed inside the constructor with "not all arguments converted during string formatting"."""
    with pytest.raises(ModelLoadError, match=message):
        load_model(edited(model_dirs, key, tmp_path, **changes))


def test_weights_folder_setting_and_folder_names_as_tab_completion_writes_them(model_dirs, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(model_dirs["denoise"], home / "models" / "mine")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GENREPAIR_WEIGHTS", "~/models")  # as an env file writes it: no shell expands the ~
    assert load_model("mine").pad_multiple == load_model(model_dirs["denoise"]).pad_multiple
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelLoadError, match=r"h2z: no such folder"):
        load_model("h2z/")  # a missing folder, not a Hub repo id to validate
    shutil.copytree(model_dirs["denoise"], tmp_path / "h2z")
    assert load_model("h2z/") is not None


def test_generator_class_names_may_be_left_out(tmp_path: Path) -> None:
    """No names: labels are class numbers (and an unconditional generator has none)."""
    for n in (0, 3):
        folder = save_model(tiny("CondGenerator", num_classes=n, class_names=[]), tmp_path / str(n))
        assert load_model(folder).num_classes == n


def test_load_reads_a_config_saved_with_a_byte_order_mark(model_dirs, tmp_path: Path) -> None:
    """Windows Notepad saves UTF-8 with a BOM."""
    folder = tmp_path / "bom"
    shutil.copytree(model_dirs["denoise"], folder)
    text = (folder / "config.json").read_text()
    (folder / "config.json").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert type(load_model(folder)).__name__ == "NoiseCondUNet"


def test_a_checkpoint_file_given_as_the_model_says_how_to_convert_it(tmp_path: Path) -> None:
    src = write_pth(tmp_path / "horse2zebra.pth", cyclegan_state())
    with pytest.raises(
        ModelLoadError, match=r"horse2zebra\.pth is a file; .*genrepair convert .* --arch ARCH -o weights/horse2zebra$"
    ):
        load_model(src)


def test_an_interrupted_convert_leaves_no_hidden_copy(tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C while the files were written left ``.convert-*`` with a whole model in it (130 MB for a DRUNet)."""
    import genrepair.convert as conv

    def interrupted(model, folder, card):
        (Path(folder) / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(conv, "save_model", interrupted)
    with pytest.raises(KeyboardInterrupt):
        convert(write_pth(tmp_path / "a.pth", cyclegan_state()), "cyclegan", tmp_path / "new")
    assert not (tmp_path / "new").exists()
    (tmp_path / "old").mkdir()
    with pytest.raises(KeyboardInterrupt):
        convert(write_pth(tmp_path / "a.pth", cyclegan_state()), "cyclegan", tmp_path / "old")
    assert list((tmp_path / "old").iterdir()) == []


def test_convert_says_what_a_wrong_file_is(tmp_path: Path) -> None:
    """A discriminator sent the user round --arch cyclegan -> dncnn -> ffdnet -> dncnn; two generators saved
    together read as "missing tensor"; a TorchScript file as "not a PyTorch checkpoint"."""
    from genrepair.training.common import patch_discriminator

    official = {f"model.{k}": v for k, v in patch_discriminator(ndf=4).state_dict().items()}  # the official names
    netd = write_pth(tmp_path / "latest_net_D_A.pth", official)
    for arch in ("cyclegan", "dncnn", "ffdnet"):
        with pytest.raises(ConversionError, match="4x4 convolutions are a PatchGAN discriminator's: convert the gen"):
            convert(netd, arch, tmp_path / "out")
    both = {f"{net}.{k}": v for net in ("netG_A", "netG_B") for k, v in cyclegan_state().items()}
    with pytest.raises(ConversionError, match=r"holds several networks, netG_A, netG_B: save one's state_dict"):
        convert(write_pth(tmp_path / "both.pth", both), "cyclegan", tmp_path / "out")
    scripted = tmp_path / "scripted.pth"
    torch.jit.save(torch.jit.script(DnCNN(in_nc=1, out_nc=1, nc=4, nb=3)), scripted)
    with pytest.raises(ConversionError, match=r"scripted\.pth: refused: a TorchScript file"):
        convert(scripted, "dncnn", tmp_path / "out")


def test_a_save_stopped_halfway_leaves_the_folder_as_it_was(tmp_path: Path, monkeypatch) -> None:
    """save_pretrained deletes config.json before writing the weights: a training export killed there left
    weights/<name> without its config. Now the files are made beside it and renamed in at the end."""
    folder = save_model(tiny("NoiseCondUNet"), tmp_path / "mine", card="first\n")
    before = {f.name: f.read_bytes() for f in folder.iterdir()}
    newer = tiny("NoiseCondUNet", seed=1)

    def stopped(self, where):
        (Path(where) / "config.json").write_text("{}")
        raise KeyboardInterrupt  # a Ctrl-C (or a kill) in the middle of writing

    monkeypatch.setattr(type(newer), "save_pretrained", stopped)
    with pytest.raises(KeyboardInterrupt):
        save_model(newer, folder, card="second\n")
    assert {f.name: f.read_bytes() for f in folder.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["mine"], "no half-written folder left beside it"
    load_model(folder)
    monkeypatch.undo()
    save_model(newer, folder, card="second\n")
    assert (folder / "README.md").read_text() == "second\n" and load_model(folder) is not None
    assert (folder / "model.safetensors").stat().st_mode == (folder / "config.json").stat().st_mode
