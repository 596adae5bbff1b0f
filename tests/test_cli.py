"""The ``genrepair`` command line: outputs, exit codes, one-line errors, and inputs left untouched."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import assert_unchanged, exif_rotated_jpeg, photo, png16_rgb, snapshot, tiny
from PIL import Image, features

from genrepair import REGISTRY, save_model
from genrepair.cli import main

pytestmark = pytest.mark.usefixtures("isolated_env")


def cli(*args: str | Path) -> int:
    """``main`` in this process; argparse's own errors (SystemExit) count as an exit status too."""
    try:
        return main([str(a) for a in args])
    except SystemExit as e:
        return int(e.code)


def run_module(*args: str | Path) -> subprocess.CompletedProcess:
    """``python -m genrepair ...`` in a fresh process (the environment is the isolated one)."""
    cmd = [sys.executable, "-m", "genrepair", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=120)


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
    assert lines[0].startswith("genrepair: error: ") or lines[0].startswith("genrepair "), lines[0]
    return lines[0]


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A folder of images in several formats, plus a file that is not an image (to be skipped)."""
    folder = tmp_path / "in"
    folder.mkdir()
    photo(40, 30, seed=1).save(folder / "a.jpg", quality=90)
    photo(33, 21, seed=2).save(folder / "b.png")
    photo(17, 9, seed=3).convert("L").save(folder / "c.bmp")
    img = photo(20, 20, seed=4)
    img.putalpha(128)
    img.save(folder / "d.webp", lossless=True)
    (folder / "notes.txt").write_text("not an image")
    return folder


# ---------------------------------------------------------------- commands that work


def test_list_in_a_subprocess() -> None:
    proc = run_module("list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    weights = os.environ["GENREPAIR_WEIGHTS"]  # the isolated, empty folder: the learned models come from the Hub
    hub = f" (not in {weights}: from the Hugging Face cache or Hub)"
    assert lines == [
        f"{s.name}\t{s.task}\t{s.description}{'' if s.name.startswith('classic.') else hub}" for s in REGISTRY.values()
    ]
    proc = run_module("list", "--task", "denoise")
    assert [line.split("\t")[0] for line in proc.stdout.splitlines()] == ["denoise.color", "denoise.gray"]


def test_generate_classic(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert cli("generate", "--model", "classic.noise", "--n", "3", "--seed", "5", "--output", out) == 0
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"classic.noise_seed5_{i:03d}.png" for i in range(3)]
    assert capsys.readouterr().out.splitlines() == [str(f) for f in files]
    first = [f.read_bytes() for f in files]
    assert cli("generate", "--model", "classic.noise", "--n", "3", "--seed", "5", "--output", out, "--overwrite") == 0
    assert [f.read_bytes() for f in files] == first, "the same seed must write the same images"


def test_generate_from_a_model_folder(model_dirs, tmp_path: Path) -> None:
    before = snapshot(model_dirs["gan"])
    out = tmp_path / "samples"
    assert cli("generate", "--model", model_dirs["gan"], "--n", "2", "--label", "dog", "--output", out) == 0
    assert sorted(f.name for f in out.iterdir()) == ["gan_dog_seed0_000.png", "gan_dog_seed0_001.png"]  # label named
    assert Image.open(out / "gan_dog_seed0_000.png").size == (32, 32)
    one = tmp_path / "one" / "sample.png"
    assert cli("generate", "--model", model_dirs["gan"], "--n", "1", "--label", "dog", "--output", one) == 0
    assert np.array_equal(np.asarray(Image.open(one)), np.asarray(Image.open(out / "gan_dog_seed0_000.png")))
    by_number = tmp_path / "by-number"  # classes cat, dog, owl: label 1 is dog, and its files are named so
    assert cli("generate", "--model", model_dirs["gan"], "--n", "1", "--label", "1", "--output", by_number) == 0
    assert [f.name for f in by_number.iterdir()] == ["gan_dog_seed0_000.png"]
    args = ("generate", "--model", model_dirs["gan"], "--n", "1", "--label", "dog", "--output", out)
    assert cli(*args, "--truncation", "0.7") == 0  # another truncation of the same seed: a file of its own
    assert sorted(f.name for f in out.glob("*seed0_000.png")) == [
        "gan_dog_seed0_000.png",
        "gan_dog_trunc0.7_seed0_000.png",
    ]
    assert cli(*args, "--truncation", "1e6", "--overwrite") == 0  # no effect at 1e6: the untruncated file
    assert len(list(out.glob("*seed0_000.png"))) == 2
    spaced = tmp_path / "spaced"  # " 1" is label 1 for the file name and for the images alike
    assert cli("generate", "--model", model_dirs["gan"], "--n", "1", "--label", " 1", "--output", spaced) == 0
    assert [f.read_bytes() for f in spaced.iterdir()] == [(by_number / "gan_dog_seed0_000.png").read_bytes()]
    assert sorted(p.name for p in model_dirs["gan"].parent.iterdir() if p.is_file()) == [], "wrote beside the model"
    assert_unchanged(before)


def test_denoise_folder_to_folder(model_dirs, inputs: Path, tmp_path: Path, capsys) -> None:
    before = snapshot(inputs)
    out = tmp_path / "out"
    for sigma, again in (("auto", ()), ("15", ("--overwrite",))):
        assert cli("denoise", inputs, "--model", model_dirs["denoise"], "--sigma", sigma, "--output", out, *again) == 0
        assert sorted(f.name for f in out.iterdir()) == ["a.png", "b.png", "c.png", "d.png"]
        for f in out.iterdir():
            src = next(inputs.glob(f.stem + ".*"))
            with Image.open(f) as got, Image.open(src) as ref:
                assert got.format == "PNG" and got.size == ref.size
                assert got.mode == {"L": "L", "RGBA": "RGBA"}.get(ref.mode, "RGB")
        assert_unchanged(before)
    assert len(capsys.readouterr().out.splitlines()) == 8
    one, eight = tmp_path / "one.png", tmp_path / "eight.png"
    assert cli("denoise", inputs / "b.png", "--model", model_dirs["denoise"], "--sigma", "15", "--output", one) == 0
    args = ("denoise", inputs / "b.png", "--model", model_dirs["denoise"], "--sigma", "15", "--ensemble", "8")
    assert cli(*args, "--output", eight) == 0
    with Image.open(one) as a, Image.open(eight) as b:
        assert a.size == b.size and np.asarray(a).tobytes() != np.asarray(b).tobytes()


def test_denoise_auto_names_grain_the_channels_share(model_dirs, tmp_path: Path, caplog) -> None:
    """Automatic mode leaves grain the colour channels share (it reads near 0): the CLI says what it reads."""
    rng = np.random.default_rng(0)
    clean = np.asarray(photo(96, 96, seed=5)).astype(float)
    Image.fromarray(np.clip(np.round(clean + rng.normal(0, 15, (96, 96, 1))), 0, 255).astype(np.uint8)).save(
        tmp_path / "grainy.png"
    )
    Image.fromarray(np.clip(np.round(clean + rng.normal(0, 15, clean.shape)), 0, 255).astype(np.uint8)).save(
        tmp_path / "noisy.png"
    )
    args = ("denoise", "--model", model_dirs["denoise"], "--output", tmp_path / "out")
    assert cli(*args, tmp_path / "grainy.png", tmp_path / "noisy.png") == 0
    said = [r.getMessage() for r in caplog.records if "grain" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(str(tmp_path / "grainy.png")), said
    level = re.search(r"reads sigma (\d+), which the automatic level \(([\d.]+)\) leaves", said[0])
    assert abs(int(level.group(1)) - 15 * np.sqrt(3)) < 6 and float(level.group(2)) < 10, said[0]
    assert f"try --sigma {level.group(1)}" in said[0]


def test_denoise_auto_says_when_there_is_nothing_to_remove(model_dirs, tmp_path: Path, caplog) -> None:
    """A clean picture reads under one level in automatic mode and is written as it is, which the CLI says."""
    clean = np.asarray(photo(96, 96, seed=5)).astype(float)
    yy, xx = np.mgrid[0:96, 0:96]
    smooth = (128 + 60 * np.sin(xx / 9.0)[..., None] * np.cos(yy[..., None] / 13.0 + np.arange(3))).round()
    Image.fromarray(smooth.astype(np.uint8)).save(tmp_path / "clean.png")
    Image.fromarray(np.clip(clean, 0, 255).astype(np.uint8)).save(tmp_path / "grain.png")  # sigma ~5
    args = ("denoise", "--model", model_dirs["denoise"], "--output", tmp_path / "out")
    assert cli(*args, tmp_path / "clean.png", tmp_path / "grain.png") == 0
    said = [r.getMessage() for r in caplog.records if "nothing to remove" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(str(tmp_path / "clean.png")), said
    with Image.open(tmp_path / "clean.png") as a, Image.open(tmp_path / "out" / "clean.png") as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
    caplog.clear()
    assert cli(*args, "--sigma", "0", "--overwrite", tmp_path / "grain.png") == 0  # by hand: no word about it
    assert not [r for r in caplog.records if "nothing to remove" in r.getMessage()]
    with Image.open(tmp_path / "grain.png") as a, Image.open(tmp_path / "out" / "grain.png") as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_denoise_writes_a_16_bit_rgb_png_at_16_bits(model_dirs, tmp_path: Path) -> None:
    import cv2

    arr = np.random.default_rng(0).integers(0, 65536, (12, 16, 3), dtype=np.uint16)
    src = png16_rgb(tmp_path / "scan16.png", arr)
    assert cli("denoise", src, "--model", model_dirs["denoise"], "--sigma", "10", "--output", tmp_path / "out.png") == 0
    out = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    assert out is not None and out.dtype == np.uint16 and out.shape == (12, 16, 3)
    assert len(np.unique(out & 255)) > 16  # the low bytes are computed, not zero or copied from the high ones


def test_translate_file_to_file(model_dirs, tmp_path: Path) -> None:
    src = exif_rotated_jpeg(tmp_path / "photo.jpg")
    before = snapshot(src)
    assert cli("translate", src, "--model", model_dirs["cyclegan"], "--output", tmp_path / "result.png") == 0
    with Image.open(tmp_path / "result.png") as out:
        assert out.size == (20, 30)  # EXIF rotation applied
    assert_unchanged(before)
    args = ("translate", src, "--model", model_dirs["cyclegan"], "--ensemble", "2", "--output", tmp_path / "two.png")
    assert cli(*args) == 0
    with Image.open(tmp_path / "result.png") as one, Image.open(tmp_path / "two.png") as two:
        assert one.size == two.size and np.asarray(one).tobytes() != np.asarray(two).tobytes()


def test_short_options_are_the_long_ones(model_dirs, tmp_path: Path) -> None:
    src = tmp_path / "photo.png"
    photo(24, 16).save(src)
    assert cli("denoise", src, "-m", model_dirs["denoise"], "--sigma", "15", "-o", tmp_path / "short.png") == 0
    assert (
        cli("denoise", src, "--model", model_dirs["denoise"], "--sigma", "15", "--output", tmp_path / "long.png") == 0
    )
    with Image.open(tmp_path / "short.png") as a, Image.open(tmp_path / "long.png") as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_inpaint(model_dirs, tmp_path: Path) -> None:
    src = tmp_path / "photo.png"
    photo(48, 40).save(src)
    mask = tmp_path / "mask.png"
    m = Image.new("L", (48, 40), 0)
    m.paste(255, (10, 10, 20, 30))
    m.save(mask)
    before = snapshot(src, mask)
    assert cli("inpaint", src, "--mask", mask, "--model", model_dirs["inpaint"], "--output", tmp_path / "o.png") == 0
    out = np.asarray(Image.open(tmp_path / "o.png"))
    keep = np.asarray(m) == 0
    assert np.array_equal(out[keep], np.asarray(Image.open(src))[keep])
    assert_unchanged(before)
    args = ("inpaint", src, "--mask", mask, "--model", model_dirs["inpaint"], "--ensemble", "8")
    assert cli(*args, "--output", tmp_path / "eight.png") == 0
    eight = np.asarray(Image.open(tmp_path / "eight.png"))
    assert np.array_equal(eight[keep], out[keep]) and not np.array_equal(eight, out)
    assert (
        cli("inpaint", src, "--mask", mask, "--invert-mask", "--model", model_dirs["inpaint"], "-o", tmp_path / "i.png")
        == 0
    )
    inverted = np.asarray(Image.open(tmp_path / "i.png"))
    original = np.asarray(Image.open(src))
    assert np.array_equal(inverted[~keep], original[~keep]) and not np.array_equal(inverted[keep], original[keep])
    Image.new("L", (48, 40), 0).save(mask)  # an empty mask: refused (the Python API hands the image back)
    assert cli("inpaint", src, "--mask", mask, "--model", model_dirs["inpaint"], "-o", tmp_path / "new" / "e.png") == 2
    assert not (tmp_path / "new").exists()


def test_convert(tmp_path: Path) -> None:
    from genrepair import load_model
    from genrepair.models import DnCNN

    torch.manual_seed(0)
    model = DnCNN(in_nc=1, out_nc=1, nc=8, nb=4).eval()
    src = tmp_path / "dncnn_tiny.pth"
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, src)
    before = snapshot(src)
    assert cli("convert", src, "--arch", "dncnn", "--output", tmp_path / "dncnn.tiny") == 0
    x = torch.rand(1, 1, 9, 11)
    torch.testing.assert_close(load_model(tmp_path / "dncnn.tiny")(x), model(x), rtol=0, atol=0)
    assert_unchanged(before)
    folder = tmp_path / "dncnn.tiny"
    assert {f.name: f.stat().st_mode & 0o777 for f in folder.iterdir()}["model.safetensors"] == (
        (folder / "config.json").stat().st_mode & 0o777
    )  # not the 0600 of a temporary file


def test_convert_does_not_replace_a_model_without_overwrite(tmp_path: Path, capsys) -> None:
    from genrepair.models import DnCNN

    src = tmp_path / "dncnn_tiny.pth"
    torch.save(DnCNN(in_nc=1, out_nc=1, nc=8, nb=4).state_dict(), src)
    folder = tmp_path / "mine"
    assert cli("convert", src, "--arch", "dncnn", "--output", folder) == 0
    (folder / "README.md").write_text("my own notes")
    before = snapshot(folder)
    assert cli("convert", src, "--arch", "dncnn", "--output", folder) == 2
    assert "mine: already holds config.json, model.safetensors, README.md; pass --overwrite" in one_error_line(
        capsys.readouterr().err
    )
    assert_unchanged(before)
    assert cli("convert", src, "--arch", "dncnn", "--output", folder, "--overwrite") == 0
    assert (folder / "README.md").read_text() != "my own notes"


def test_existing_outputs_are_replaced_only_with_overwrite(model_dirs, tmp_path: Path, capsys) -> None:
    """Writing into a folder that already holds a different picture of the output's name (holiday.jpg in,
    holiday.png already there) must not destroy it silently."""
    folder = tmp_path / "album"
    folder.mkdir()
    photo(12, 10, seed=1).save(folder / "holiday.jpg")
    photo(12, 10, seed=2).save(folder / "holiday.png")
    before = snapshot(folder)
    args = ("denoise", folder / "holiday.jpg", "--model", model_dirs["denoise"], "--sigma", "5", "-o", folder)
    assert cli(*args) == 2
    assert "holiday.png: already exists; pass --overwrite to replace it" in one_error_line(capsys.readouterr().err)
    assert_unchanged(before)
    assert cli(*args, "--overwrite") == 0
    assert snapshot(folder) != before
    gen = ("generate", "--model", model_dirs["gan"], "--n", "2", "-o", tmp_path / "g")
    assert cli(*gen) == 0
    capsys.readouterr()
    assert cli(*gen) == 2
    assert "already exists (and 1 more); pass --overwrite" in one_error_line(capsys.readouterr().err)
    assert cli(*gen, "--overwrite") == 0


def test_a_batch_skips_unreadable_and_hidden_files(model_dirs, tmp_path: Path, capsys) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    photo(12, 10, seed=1).save(folder / "a.png")
    (folder / "._a.png").write_bytes(b"\0\5\x16\7 macOS metadata")  # sorts first; never an input
    (folder / "b.png").write_bytes(b"")
    photo(12, 10, seed=3).save(folder / "c.jpg")
    Image.fromarray(np.full((6, 6), np.nan, np.float32)).save(folder / "d.tif")  # refused when its pixels are read
    assert cli("denoise", folder, "--model", model_dirs["denoise"], "--sigma", "5", "-o", out) == 2
    err = capsys.readouterr().err
    assert "skipped: b.png: the file is empty" in err and "._a" not in err
    assert "skipped: d.tif: the image has 36 NaN or infinite pixel values" in err
    assert "2 of 4 inputs skipped (listed above); the others were written" in err.splitlines()[-1]
    assert sorted(f.name for f in out.iterdir()) == ["a.png", "c.png"]


def test_output_folder_names(model_dirs, tmp_path: Path, capsys) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    photo(8, 8, seed=1).save(a)
    photo(8, 8, seed=2).save(b)
    den = ("denoise", a, b, "--model", model_dirs["denoise"], "--sigma", "5")
    assert cli(*den, "-o", tmp_path / "result.png") == 2
    assert "result.png: several inputs need an output folder, not a .png file name" in capsys.readouterr().err
    assert not (tmp_path / "result.png").exists()
    assert cli(*den, "-o", f"{tmp_path / 'results.v2'}{os.sep}") == 0  # a trailing slash names a folder
    assert sorted(f.name for f in (tmp_path / "results.v2").iterdir()) == ["a.png", "b.png"]
    (tmp_path / "plain").write_text("a file without a suffix")
    capsys.readouterr()
    assert cli(*den, "-o", tmp_path / "plain") == 2
    assert "plain: exists and is not a folder" in one_error_line(capsys.readouterr().err)
    for out in (a / "x.png", a / "sub" / "x.png"):  # a file where a folder must be made: named, nothing written
        assert cli("denoise", a, "--model", model_dirs["denoise"], "--sigma", "5", "-o", out) == 2
        assert f"cannot make this folder, {a} is a file" in one_error_line(capsys.readouterr().err)
    assert cli("denoise", a, "--model", model_dirs["denoise"], "--sigma", "76", "-o", tmp_path / "new" / "") == 2
    assert "--sigma must be between 0 and 75" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "new").exists()  # checked before the folder is made


# ---------------------------------------------------------------- bad input: exit 2, one line


@pytest.fixture
def bad(tmp_path: Path, model_dirs) -> dict[str, Path]:
    text = tmp_path / "text.png"
    text.write_text("this is not a PNG")
    good = tmp_path / "good.png"
    photo(24, 16).save(good)
    mask = tmp_path / "mask.png"
    Image.new("L", (24, 16), 255).save(mask)
    small = tmp_path / "small.png"
    Image.new("L", (5, 5), 255).save(small)  # a mask of the wrong size (not empty: that is refused first)
    broken = {}
    for name, config in (("listconfig", "[1, 2]"), ("pad0", None)):
        folder = tmp_path / "models" / name
        shutil.copytree(model_dirs["denoise"], folder)
        if config is None:
            cfg = json.loads((folder / "config.json").read_text())
            config = json.dumps({**cfg, "pad_multiple": 0})
        (folder / "config.json").write_text(config)
        broken[name] = folder
    return {"text": text, "good": good, "mask": mask, "small": small, **model_dirs, **broken}


CASES = {
    "unknown model": (
        lambda b, o: ["denoise", b["good"], "--model", "denoise.nope", "--output", o],
        r"unknown model 'denoise\.nope'.*valid names",
    ),
    "missing file": (
        lambda b, o: ["denoise", b["good"].with_name("missing.png"), "--model", b["denoise"], "--output", o],
        r"missing\.png: no such file",
    ),
    "text named .png": (
        lambda b, o: ["denoise", b["text"], "--model", b["denoise"], "--output", o],
        r"text\.png: not a recognised image file",
    ),
    "sigma abc": (
        lambda b, o: ["denoise", b["good"], "--model", b["denoise"], "--sigma", "abc", "--output", o],
        r"--sigma must be a number or 'auto', got 'abc'",
    ),
    "translate ensemble 8": (
        lambda b, o: ["translate", b["good"], "--model", b["cyclegan"], "--ensemble", "8", "--output", o],
        r"--ensemble: invalid choice: 8",
    ),
    "ensemble 3": (
        lambda b, o: ["denoise", b["good"], "--model", b["denoise"], "--ensemble", "3", "--output", o],
        r"--ensemble: invalid choice: 3",
    ),
    "sigma 500": (
        lambda b, o: ["denoise", b["good"], "--model", b["denoise"], "--sigma", "500", "--output", o],
        r"sigma must be between 0 and 75",
    ),
    "output is the input": (
        lambda b, o: ["denoise", b["good"], "--model", b["denoise"], "--output", b["good"]],
        r"good\.png: refusing to overwrite an input file",
    ),
    "output is the mask": (
        lambda b, o: ["inpaint", b["good"], "--mask", b["mask"], "--model", b["inpaint"], "--output", b["mask"]],
        r"mask\.png: refusing to overwrite an input file",
    ),
    "output folder holds the input": (
        lambda b, o: ["denoise", b["good"], "--model", b["denoise"], "--output", b["good"].parent],
        r"good\.png: refusing to overwrite an input file",
    ),
    "output not png": (
        lambda b, o: ["denoise", b["good"], "--model", b["denoise"], "--output", o.with_suffix(".jpg")],
        r"out\.jpg: outputs are PNG; give a \.png file name or a folder",
    ),
    "mask size": (
        lambda b, o: ["inpaint", b["good"], "--mask", b["small"], "--model", b["inpaint"], "--output", o],
        r"mask is 5x5 but the image is 24x16",
    ),
    "generate n": (
        lambda b, o: ["generate", "--model", b["gan"], "--n", "0", "--output", o],
        r"n must be between 1 and 256",
    ),
    "generate n huge": (
        lambda b, o: ["generate", "--model", b["gan"], "--n", "1000000000", "--output", o],
        r"n must be between 1 and 256, got 1000000000",
    ),
    "bad label": (
        lambda b, o: ["generate", "--model", b["gan"], "--label", "fish", "--output", o],
        r"unknown label 'fish'; valid: cat, dog, owl",
    ),
    "truncation for a procedural generator": (
        lambda b, o: ["generate", "--model", "classic.noise", "--truncation", "1.5", "--output", o],
        r"classic.noise takes no --truncation",
    ),
    "unknown arch": (
        lambda b, o: ["convert", b["good"], "--arch", "swinir", "--output", o],
        r"invalid choice: 'swinir'",
    ),
    "missing --output": (lambda b, o: ["denoise", b["good"]], r"required: -o/--output"),
    "results not JSON": (
        lambda b, o: ["eval", "translate", "--from-json", b["text"], "--update-cards"],
        r"cannot read results from .*text\.png",
    ),
    "eval --model on generate": (
        lambda b, o: ["eval", "generate", "--model", b["gan"]],
        r"--model / --gray-model apply to 'denoise' and 'inpaint', not 'generate'",
    ),
    "eval --model with --update-cards": (
        lambda b, o: ["eval", "inpaint", "--model", b["inpaint"], "--update-cards"],
        r"--update-cards writes the bundled models' cards; it cannot be combined with --model",
    ),
    "model of another task": (
        lambda b, o: ["translate", b["good"], "--model", b["denoise"], "--output", o],
        r"is a denoise model, not a translate model; use it with genrepair.denoise\(\) or `genrepair denoise`",
    ),
    "generate into a .png": (
        lambda b, o: ["generate", "--model", b["gan"], "--n", "2", "--output", o.with_suffix(".png")],
        r"out\.png: generate writes 2 files; give a folder \(or --n 1\)",
    ),
    "generate into a .jpg": (
        lambda b, o: ["generate", "--model", b["gan"], "--n", "1", "--output", o.with_suffix(".jpg")],
        r"out\.jpg: outputs are PNG; give a \.png file name or a folder",
    ),
    "config not an object": (
        lambda b, o: ["denoise", b["good"], "--model", b["listconfig"], "--output", o],
        r"config\.json holds a list, not a JSON object",
    ),
    "pad_multiple 0": (
        lambda b, o: ["denoise", b["good"], "--model", b["pad0"], "--output", o],
        r"pad_multiple must be a whole number of at least 1, got 0",
    ),
    "convert a folder": (
        lambda b, o: ["convert", b["good"].parent, "--arch", "dncnn", "--output", o],
        r"is a folder; give the checkpoint file \(\.pth\)",
    ),
    "not a checkpoint": (
        lambda b, o: ["convert", b["good"], "--arch", "dncnn", "--output", o],
        r"good\.png: refused: not a PyTorch checkpoint",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line(case: str, bad, tmp_path: Path, capsys) -> None:
    args, message = CASES[case]
    before = snapshot(tmp_path)
    out = tmp_path / "out"
    assert cli(*args(bad, out)) == 2
    line = one_error_line(capsys.readouterr().err)
    assert re.search(message, line), line
    assert_unchanged(before)
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("case", ["text named .png", "sigma 500", "output is the input"])
def test_bad_input_in_a_subprocess(case: str, bad, tmp_path: Path) -> None:
    args, message = CASES[case]
    before = snapshot(tmp_path)
    proc = run_module(*args(bad, tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert re.search(message, one_error_line(proc.stderr))
    assert_unchanged(before)


def test_a_failed_run_leaves_no_empty_folder(model_dirs, tmp_path: Path, capsys) -> None:
    """Folders are made when the first output is written: an unreadable input left `deep/a/b/` behind."""
    text = tmp_path / "t.png"
    text.write_text("not an image")
    out = tmp_path / "deep" / "a" / "b"
    assert cli("denoise", text, "--model", model_dirs["denoise"], "--sigma", "5", "-o", f"{out}/") == 2
    assert "not a recognised image file" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "deep").exists()
    photo(8, 8).save(tmp_path / "x.png")
    assert cli("denoise", tmp_path / "x.png", "--model", model_dirs["denoise"], "--sigma", "5", "-o", f"{out}/") == 0
    assert (out / "x.png").is_file()


def test_convert_into_a_weights_folder_that_names_do_not_reach_says_so(tmp_path: Path, capsys) -> None:
    """README's `--output weights/NAME` run outside the checkout: that `weights/` is not where names are looked up."""
    from genrepair.models import DnCNN

    src = tmp_path / "dncnn_tiny.pth"
    torch.save(DnCNN(in_nc=1, out_nc=1, nc=8, nb=4).state_dict(), src)
    assert cli("convert", src, "--arch", "dncnn", "--output", tmp_path / "weights" / "mine") == 0
    note = capsys.readouterr().err
    assert f"load it as -m {tmp_path / 'weights' / 'mine'}" in note and os.environ["GENREPAIR_WEIGHTS"] in note


def test_two_inputs_with_one_stem_are_refused(model_dirs, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    photo(8, 8).save(folder / "x.png")
    photo(8, 8).save(folder / "x.jpg")
    before = snapshot(folder)
    assert cli("denoise", folder, "--model", model_dirs["denoise"], "--output", tmp_path / "out") == 2
    err = one_error_line(capsys.readouterr().err)
    assert f"{Path('in', 'x.jpg')} and " in err and f"{Path('in', 'x.png')} would both be written to" in err
    assert not (tmp_path / "out").exists()
    assert_unchanged(before)


def test_an_output_that_is_the_folder_of_another_is_refused(model_dirs, tmp_path: Path, capsys) -> None:
    """in/shots.jpg goes to out/shots.png, which in/shots.png/a.png needs as a folder: refused before any write."""
    folder = tmp_path / "in"
    (folder / "shots.png").mkdir(parents=True)
    photo(8, 8).save(folder / "shots.png" / "a.png")
    photo(8, 8).save(folder / "shots.jpg")
    before = snapshot(folder)
    assert cli("denoise", folder, "-r", "--model", model_dirs["denoise"], "--output", tmp_path / "out") == 2
    err = one_error_line(capsys.readouterr().err)
    assert f"{Path('in', 'shots.jpg')} would be written to " in err and "a folder that " in err
    assert not (tmp_path / "out").exists()
    assert_unchanged(before)


def test_names_that_differ_only_in_case_are_refused(model_dirs, tmp_path: Path, capsys) -> None:
    """x.png and X.png are one file on macOS and Windows: two inputs that would be written there are refused."""
    for sub, name in (("a", "x.jpg"), ("b", "X.jpg")):
        (tmp_path / sub).mkdir()
        photo(8, 8).save(tmp_path / sub / name)
    args = ("denoise", tmp_path / "a" / "x.jpg", tmp_path / "b" / "X.jpg", "--model", model_dirs["denoise"])
    assert cli(*args, "--output", tmp_path / "out") == 2
    assert "would both be written to x.png and X.png" in one_error_line(capsys.readouterr().err)


def test_a_hard_link_to_the_input_is_not_overwritten(model_dirs, tmp_path: Path, capsys) -> None:
    """An output name that is a hard link to the input is the input: refused, the input unchanged."""
    src = tmp_path / "photo.png"
    photo(12, 10).save(src)
    (tmp_path / "out").mkdir()
    os.link(src, tmp_path / "out" / "photo.png")
    before = snapshot(tmp_path)
    assert cli("denoise", src, "--model", model_dirs["denoise"], "--sigma", "5", "--output", tmp_path / "out") == 2
    assert "refusing to overwrite an input file" in one_error_line(capsys.readouterr().err)
    assert_unchanged(before)


def test_device_may_follow_the_command(model_dirs, tmp_path: Path) -> None:
    src = tmp_path / "photo.png"
    photo(12, 10).save(src)
    args = ("denoise", src, "--model", model_dirs["denoise"], "--sigma", "5", "-o", tmp_path / "o.png")
    assert cli(*args, "--device", "cpu") == 0
    assert cli("--device", "cpu", "generate", "--model", model_dirs["gan"], "--n", "1", "-o", tmp_path / "g") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g", "o.png", "photo.png"]  # no temporary files left


def test_a_folder_of_avif_and_jfif_photos(model_dirs, tmp_path: Path) -> None:
    """Formats Pillow reads that phones and browsers produce (AVIF, JPEG saved as .jfif) count as images."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    if not features.check("avif"):  # Pillow before 11.3 (or built without libavif) cannot read AVIF
        pytest.skip("this Pillow has no AVIF support")
    photo(24, 16, seed=1).save(folder / "phone.avif")
    photo(20, 12, seed=2).save(folder / "download.jfif", format="JPEG")
    assert cli("denoise", folder, "--model", model_dirs["denoise"], "--sigma", "10", "--output", out) == 0
    assert sorted(f.name for f in out.iterdir()) == ["download.png", "phone.png"]
    assert Image.open(out / "phone.png").size == (24, 16)


def test_a_folder_run_takes_every_picture_pillow_opens(model_dirs, tmp_path: Path, capsys) -> None:
    """Icons, PCX, TGA, QOI and phones' .mpo files are pictures too (they were left out without a word); an iPhone
    HEIC photo is reported with its advice rather than skipped silently; other files stay out."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for i, ext in enumerate((".ico", ".pcx", ".tga", ".qoi", ".mpo", ".png")):
        photo(16, 16, seed=i).save(folder / f"p{i}{ext}")
    (folder / "iphone.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))
    (folder / "notes.txt").write_text("not a picture")
    assert cli("denoise", folder, "--model", model_dirs["denoise"], "--sigma", "10", "--output", out) == 2
    assert sorted(f.name for f in out.iterdir()) == [f"p{i}.png" for i in range(6)]
    err = capsys.readouterr().err
    assert "iphone.heic: a HEIC/HEIF photo" in err and "notes.txt" not in err


def test_output_into_the_input_folder_writes_new_files_only(model_dirs, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    photo(8, 8).save(folder / "x.jpg")
    before = snapshot(folder)
    assert cli("denoise", folder, "--model", model_dirs["denoise"], "--sigma", "5", "--output", folder) == 0
    assert (folder / "x.png").is_file()
    assert_unchanged(before)


def test_an_input_with_the_longest_name_a_file_may_have_is_written(model_dirs, tmp_path: Path) -> None:
    """A 255-byte name: the output takes the same name; the file written first, then renamed, must fit too."""
    folder = tmp_path / "in"
    folder.mkdir()
    name = "n" * 251 + ".png"
    photo(8, 8).save(folder / name)
    assert cli("denoise", folder, "--model", model_dirs["denoise"], "--sigma", "5", "--output", tmp_path / "out") == 0
    assert [f.name for f in (tmp_path / "out").iterdir()] == [name]


def test_a_file_with_damaged_exif_is_written_with_one_warning_naming_it(model_dirs, tmp_path: Path, capsys) -> None:
    """Damaged EXIF data stopped a batch with a traceback; now the file is read, with one line naming it."""
    folder = tmp_path / "in"
    folder.mkdir()
    photo(8, 8).save(folder / "cut.png", exif=b"Exif\x00\x00MM\x00\xbc\x00\x00\x00\x08")
    photo(8, 8).save(folder / "fine.png")
    assert cli("denoise", folder, "--model", model_dirs["denoise"], "--sigma", "5", "--output", tmp_path / "out") == 0
    assert sorted(f.name for f in (tmp_path / "out").iterdir()) == ["cut.png", "fine.png"]
    err = capsys.readouterr().err.splitlines()
    warned = [line for line in err if "warning" in line]
    assert len(warned) == 1 and warned[0].startswith(
        "genrepair: warning: cut.png: the image's EXIF data is damaged and was ignored ("
    )


def test_a_picture_too_small_to_measure_is_named_in_its_warning(model_dirs, tmp_path: Path, capsys) -> None:
    """The automatic level's "too few pixels" warning names its file in a batch, as the others do (it did not)."""
    folder = tmp_path / "in"
    folder.mkdir()
    photo(6, 5).save(folder / "tiny.png")
    photo(40, 40).save(folder / "fine.png")
    assert cli("denoise", folder, "--model", model_dirs["denoise"], "--output", tmp_path / "out") == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warned == [
        "genrepair: warning: tiny.png: 6x5 pixels are too few to estimate the noise level from (it takes about 8x8 "
        "in colour, 12x12 in gray): nothing was removed; give sigma by hand"
    ]


def test_eval_cards_from_stored_results(tmp_path: Path, capsys) -> None:
    """``eval TASK --from-json`` rewrites the model cards from an earlier run's JSON without measuring again."""
    import json

    from genrepair.hub import weights_dir

    folder = weights_dir() / "cyclegan.flat2fluent3d"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text("# cyclegan.flat2fluent3d\n")
    row = {"psnr": 20.5, "ssim": 0.8, "fid_el0": 100.0}
    timing = {"wall_ms": 30.0, "cpu_ms": 60.0}
    results = {"table": "THE TABLE", "timing": {"cyclegan.flat2fluent3d@128": timing, "cyclegan.flat2fluent3d@512": timing},
               **{f"fluentflat -> fluent3d:{m}": dict(row) for m in ("identity", "color transfer", "cyclegan.flat2fluent3d")}}  # fmt: skip
    stored = tmp_path / "translate.json"
    stored.write_text(json.dumps(results))
    assert cli("eval", "translate", "--from-json", stored, "--update-cards") == 0
    assert "THE TABLE" in capsys.readouterr().out
    card = (folder / "README.md").read_text()
    assert "| cyclegan.flat2fluent3d | 20.50 | 0.800 | 100.00 | - |" in card
    assert "30 ms wall" in card
    assert "\npipeline_tag: image-to-image\n" in card.split("\n---\n", 1)[0]  # the Hub lists it under its task
    assert "## Training data and terms\nMicrosoft Fluent Emoji (MIT)" in card and "## Limitations" in card
    assert cli("eval", "translate", "--from-json", stored, "--update-cards") == 0
    assert (folder / "README.md").read_text() == card  # rewriting is stable: one terms block, one front matter


def test_eval_refuses_wrong_models_and_unwritable_json_before_measuring(
    model_dirs, tmp_path: Path, capsys, monkeypatch
):
    """A model of another task, a gray denoiser as the color --model, or a --json that cannot be written is
    refused at once, before the (long) measuring starts."""
    import genrepair.evaluation.denoise as evaluation

    monkeypatch.setattr(evaluation, "run", lambda args: pytest.fail("measuring started"))
    gray = save_model(tiny("NoiseCondUNet", in_nc=1), tmp_path / "gray")
    cases = [
        (["--model", model_dirs["gan"]], "is a generate model, not a denoise model"),
        (["--model", gray], "measures a color model there; this one has 1 channel(s) (pass it as --gray-model)"),
        (["--gray-model", model_dirs["denoise"]], "measures a gray model there; this one has 3 channel(s)"),
        (["--json", tmp_path], "is a folder; give a file name"),
        (["--json", gray / "config.json" / "r.json"], "config.json is a file, not a folder"),
    ]
    for extra, message in cases:
        assert cli("eval", "denoise", *extra) == 2
        assert message in one_error_line(capsys.readouterr().err)


def test_denoise_without_model_uses_the_gray_model_for_gray_pictures(tmp_path: Path, monkeypatch, caplog) -> None:
    """No --model: denoise.gray for gray pictures (also gray stored as RGB), denoise.color for color ones; each
    model is loaded once, before anything is written."""
    import genrepair
    from genrepair.hub import weights_dir

    save_model(tiny("NoiseCondUNet", in_nc=3), weights_dir() / "denoise.color")
    save_model(tiny("NoiseCondUNet", in_nc=1), weights_dir() / "denoise.gray")
    loaded = []
    real = genrepair.load_model
    monkeypatch.setattr(genrepair, "load_model", lambda name, **kw: loaded.append(name) or real(name, **kw))
    folder = tmp_path / "in"
    folder.mkdir()
    photo(20, 12).save(folder / "a_color.png")
    photo(20, 12).convert("L").save(folder / "b_gray.png")
    photo(20, 12).convert("L").convert("RGB").save(folder / "c_gray_as_rgb.png")
    photo(20, 12, seed=1).save(folder / "d_color.png")
    with caplog.at_level("INFO", logger="genrepair"):
        assert cli("denoise", folder, "-o", tmp_path / "out", "--sigma", "10") == 0
    assert loaded == ["denoise.color", "denoise.gray"]
    used = dict(re.findall(r"(\w+)\.png: (denoise\.\w+), sigma", caplog.text))
    assert used == {"a_color": "denoise.color", "b_gray": "denoise.gray", "c_gray_as_rgb": "denoise.gray",
                    "d_color": "denoise.color"}  # fmt: skip
    assert Image.open(tmp_path / "out" / "b_gray.png").mode == "L"
    assert Image.open(tmp_path / "out" / "c_gray_as_rgb.png").mode == "RGB"
    loaded.clear()
    assert cli("denoise", folder / "b_gray.png", "-m", "denoise.color", "-o", tmp_path / "x.png") == 0
    assert loaded == ["denoise.color"]  # a model given is used for every picture


def test_a_model_folder_under_weights_loads_by_name_and_is_listed(model_dirs, capsys) -> None:
    """A converted checkpoint in weights/<name>/ is used with -m <name> and shows in `genrepair list`; a mistyped
    registry name gets a suggestion."""
    import shutil

    from genrepair.hub import weights_dir

    shutil.copytree(model_dirs["denoise"], weights_dir() / "my-denoiser")
    assert cli("list", "--task", "denoise") == 0
    assert "my-denoiser\tdenoise\tmodel folder" in capsys.readouterr().out
    src = model_dirs["denoise"].parent / "in.png"
    photo(12, 10).save(src)
    assert cli("denoise", src, "-m", "my-denoiser", "--sigma", "5", "-o", src.with_name("out.png")) == 0
    capsys.readouterr()
    assert cli("denoise", src, "-m", "denoise.colour", "-o", src.with_name("x.png")) == 2
    assert "did you mean 'denoise.color'?" in capsys.readouterr().err


def test_inputs_named_twice_run_once_and_write_errors_name_the_output(model_dirs, tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.png"
    photo(10, 8).save(src)
    model = model_dirs["denoise"]
    out = tmp_path / "out"
    (tmp_path / "link.png").symlink_to(src)  # a link is an input of its own
    assert cli("denoise", src, src, tmp_path, "-m", model, "--sigma", "5", "-o", out) == 0  # in.png three times
    assert sorted(p.name for p in out.iterdir()) == ["in.png", "link.png"]
    capsys.readouterr()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.png").write_bytes(b"no image")
    assert cli("denoise", tmp_path / "bad", "-m", model, "--sigma", "5", "-o", tmp_path / "o2") == 2
    assert "all 1 inputs skipped (listed above); nothing was written" in capsys.readouterr().err


def test_an_unwritable_output_is_named(model_dirs, tmp_path: Path, capsys, monkeypatch) -> None:
    src = tmp_path / "in.png"
    photo(10, 8).save(src)

    def refuse(self, *args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(Image.Image, "save", refuse)
    assert cli("denoise", src, "-m", model_dirs["denoise"], "--sigma", "5", "-o", tmp_path / "o.png") == 2
    err = one_error_line(capsys.readouterr().err)
    assert "cannot write" in err and "o.png: Operation not permitted" in err and ".tmp" not in err


def test_version_and_no_command(capsys) -> None:
    from genrepair import __version__

    assert cli("--version") == 0
    assert capsys.readouterr().out.strip() == f"genrepair {__version__}"
    assert cli() == 0  # no command: the overview
    assert "usage: genrepair" in capsys.readouterr().out


def test_denoise_without_the_gray_model_gives_its_pictures_to_the_color_one(tmp_path: Path, caplog) -> None:
    from genrepair.hub import weights_dir

    save_model(tiny("NoiseCondUNet", in_nc=3), weights_dir() / "denoise.color")  # no denoise.gray, offline
    folder = tmp_path / "in"
    folder.mkdir()
    photo(20, 12).save(folder / "a.png")
    photo(20, 12).convert("L").save(folder / "b.png")
    photo(20, 12, seed=1).save(folder / "c.png")
    with caplog.at_level("WARNING", logger="genrepair"):
        assert cli("denoise", folder, "-o", tmp_path / "out", "--sigma", "10") == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "c.png"]
    assert "denoise.gray is not available" in caplog.text


def test_eval_from_json_does_not_need_the_device_named(tmp_path: Path, capsys) -> None:
    """`--device cuda` on a CPU-only machine: eval ignores --device (it measures on the CPU), so it is no error."""
    import json

    stored = tmp_path / "translate.json"
    stored.write_text(json.dumps({"task": "translate", "table": "THE TABLE", "timing": {}}))
    assert cli("eval", "translate", "--from-json", stored, "--device", "cuda") == 0
    assert "THE TABLE" in capsys.readouterr().out


def test_eval_from_json_refuses_another_tasks_results(tmp_path: Path, capsys) -> None:
    """Denoise results given to `eval inpaint --update-cards` printed the denoise table and emptied the inpainting
    card's metrics; a JSON list ended in a traceback. Files from before the "task" entry are told by their keys."""
    import json

    weights = Path(os.environ["GENREPAIR_WEIGHTS"])
    card = weights / "inpaint.photo" / "README.md"
    card.parent.mkdir()
    card.write_text("---\nmodel-index: []\n---\nthe card\n")
    older = tmp_path / "denoise.json"  # as written before the task was recorded
    older.write_text(json.dumps({"protocol": "p", "color_model": "denoise.color", "table": "DENOISE TABLE"}))
    for task in ("inpaint", "generate", "translate"):
        assert cli("eval", task, "--from-json", older, "--update-cards") == 2
        err = one_error_line(capsys.readouterr().err)
        assert f"holds results of `genrepair eval denoise`, not {task}" in err
    assert card.read_text() == "---\nmodel-index: []\n---\nthe card\n"
    for text in ("[1, 2]", '{"table": "no task"}'):
        older.write_text(text)
        assert cli("eval", "denoise", "--from-json", older) == 2
        assert "not a results file of `genrepair eval denoise --json`" in one_error_line(capsys.readouterr().err)


def test_a_tilde_in_a_path_argument_means_home_even_unexpanded(model_dirs, tmp_path: Path, monkeypatch) -> None:
    """``--output=~/x`` (the shell leaves it alone) writes under $HOME, never into a folder named ``~`` here."""
    home, here = tmp_path / "home", tmp_path / "here"
    for folder in (home, here):
        folder.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(here)
    photo(20, 16).save(home / "in.png")
    assert cli("denoise", "~/in.png", "--model", model_dirs["denoise"], "--sigma", "10", "--output=~/out.png") == 0
    assert (home / "out.png").is_file() and not (here / "~").exists()


def test_verbose_and_device_work_on_either_side_of_the_command() -> None:
    """`genrepair denoise x.png -o y.png -v` was "unrecognized arguments" while --device worked there."""
    from genrepair.cli import build_parser

    for argv in (["-v", "list"], ["list", "-v"]):
        assert build_parser().parse_args(argv).verbose is True
    assert build_parser().parse_args(["list"]).verbose is False
    assert build_parser().parse_args(["list", "--device", "cpu"]).device == "cpu"


def test_recursive_folder_keeps_its_subfolders(model_dirs, tmp_path: Path, capsys) -> None:
    """``-r`` takes the images of subfolders too and writes them to the same subfolders; hidden folders and the
    output folder (here inside the input) are not searched, so a second run does not take its outputs as inputs."""
    folder = tmp_path / "album"
    for rel in ("top.jpg", "2024/summer/beach.png", "2024/winter.bmp", ".thumbs/small.png"):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        photo(12, 10, seed=len(rel)).save(folder / rel)
    before = snapshot(folder)
    out = folder / "clean"
    args = ("denoise", folder, "--model", model_dirs["denoise"], "--sigma", "10", "--output", out)
    assert cli(*args) == 0  # without -r: the top level only
    assert sorted(str(f.relative_to(out)) for f in out.rglob("*.png")) == ["top.png"]
    capsys.readouterr()
    assert cli(*args, "--recursive", "--overwrite") == 0
    written = sorted(f.relative_to(out).as_posix() for f in out.rglob("*.png"))
    assert written == ["2024/summer/beach.png", "2024/winter.png", "top.png"]
    assert capsys.readouterr().out.splitlines() == [
        str(out / f) for f in ("2024/summer/beach.png", "2024/winter.png", "top.png")
    ]
    assert cli(*args, "-r", "--overwrite") == 0  # again: clean/ is skipped, so nothing lands in clean/clean/
    assert not (out / "clean").exists()
    assert_unchanged(before)


def test_a_folder_with_images_only_in_subfolders_suggests_recursive(model_dirs, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "album"
    (folder / "2024").mkdir(parents=True)
    photo(8, 8).save(folder / "2024" / "a.png")
    assert cli("denoise", folder, "--model", model_dirs["denoise"], "--output", tmp_path / "out") == 2
    assert one_error_line(capsys.readouterr().err).endswith(
        "folder holds no images (its subfolders do: pass --recursive)"
    )


def test_list_calls_a_git_lfs_pointer_not_local(model_dirs, capsys) -> None:
    """A clone without git-lfs: the weights file is a pointer, so load_model goes to the cache or Hub; so says list."""
    from genrepair.hub import weights_dir

    folder = Path(shutil.copytree(model_dirs["denoise"], weights_dir() / "denoise.color"))
    hub = f"(not in {weights_dir()}: from the Hugging Face cache or Hub)"
    assert cli("list", "--task", "denoise") == 0
    assert hub not in capsys.readouterr().out.splitlines()[0]
    (folder / "model.safetensors").write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 8\n")
    assert cli("list", "--task", "denoise") == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(hub)
