"""Official CycleGAN and KAIR checkpoints: golden vectors, full-size key sets, and ``genrepair convert``.

The golden vectors in ../shared/interop hold seeded random weights, an input and the output the
official code computed; a faithful re-implementation loaded strictly reproduces it within 1e-4.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import snapshot
from PIL import Image
from safetensors.torch import load_file

from genrepair import load_model, translate
from genrepair.cli import main
from genrepair.convert import ConversionError, convert
from genrepair.models import DnCNN, DRUNet, FFDNet, ResnetGenerator

pytestmark = pytest.mark.usefixtures("isolated_env")

# ../shared/interop beside the checkout (as in CI), or GENREPAIR_INTEROP
INTEROP = Path(os.environ.get("GENREPAIR_INTEROP", Path(__file__).resolve().parents[2] / "shared" / "interop"))
if not INTEROP.is_dir():
    pytest.skip(f"interop vectors not found in {INTEROP} (set GENREPAIR_INTEROP)", allow_module_level=True)

TOL = 1e-4

# file -> (arch for convert, our model, how the side input reaches forward)
GOLDEN = {
    "cyclegan_resnet_generator_ngf8_nb2": ("cyclegan", lambda: ResnetGenerator(ngf=8, n_blocks=2), None),
    "kair_dncnn_gray_nb17": ("dncnn", lambda: DnCNN(in_nc=1, out_nc=1, nc=64, nb=17), None),
    "kair_ffdnet_color_nc96_nb12": ("ffdnet", lambda: FFDNet(in_nc=3, out_nc=3, nc=96, nb=12), "sigma"),
    # our DRUNet builds the constant map itself from a scalar sigma: pass one value of the map
    "kair_drunet_color_nc8-16-32-64_nb1": (
        "drunet",
        lambda: DRUNet(in_nc=3, out_nc=3, nc=[8, 16, 32, 64], nb=1),
        "noise_map",
    ),
}


def golden(name: str) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    data = load_file(INTEROP / f"{name}.safetensors")
    weights = {k.removeprefix("weights."): v for k, v in data.items() if k.startswith("weights.")}
    return weights, {k: v for k, v in data.items() if not k.startswith("weights.")}


def run(model: torch.nn.Module, name: str, io: dict[str, torch.Tensor]) -> torch.Tensor:
    side = GOLDEN[name][2]
    with torch.inference_mode():
        if side is None:
            return model(io["input"])
        return model(io["input"], io[side][..., :1, :1])


def assert_golden(out: torch.Tensor, expected: torch.Tensor) -> None:
    assert out.shape == expected.shape
    err = (out.float() - expected.float()).abs().max().item()
    assert err <= TOL, f"max abs error {err:.2e} > {TOL}"


@pytest.mark.parametrize("name", list(GOLDEN))
def test_golden_vector(name: str) -> None:
    weights, io = golden(name)
    model = GOLDEN[name][1]().eval()
    model.load_state_dict(weights, strict=True)
    assert_golden(run(model, name, io), io["output"])


def test_drunet_noise_map_is_constant() -> None:
    """The vector's map is a constant sigma/255, so passing one value of it is the same input."""
    _, io = golden("kair_drunet_color_nc8-16-32-64_nb1")
    m = io["noise_map"]
    assert torch.all(m == m.flatten()[0]) and abs(m.flatten()[0].item() - 25 / 255) < 1e-7


# ---------------------------------------------------------------- convert


def write_pth(path: Path, state: dict) -> Path:
    torch.save(state, path)
    return path


@pytest.mark.parametrize("name", list(GOLDEN))
def test_convert_plain_state_dict(name: str, tmp_path: Path) -> None:
    arch = GOLDEN[name][0]
    weights, io = golden(name)
    src = write_pth(tmp_path / f"{name}.pth", weights)
    before = snapshot(src)
    out = convert(src, arch, tmp_path / "out")
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["_class_name"] == type(GOLDEN[name][1]()).__name__
    assert (out / "README.md").read_text().count(f"--arch {arch}") == 1
    model = load_model(out, device="cpu")
    assert_golden(run(model, name, io), io["output"])
    assert snapshot(src) == before


def test_convert_reads_sizes_from_shapes() -> None:
    from genrepair.convert import build

    cfgs = {
        "cyclegan": dict(ngf=8, n_blocks=2),
        "dncnn": dict(in_nc=1, nc=64, nb=17),
        "ffdnet": dict(in_nc=3, nc=96, nb=12),
        "drunet": dict(in_nc=3, nc=[8, 16, 32, 64], nb=1, bias=False),
    }
    for name, (arch, _, _) in GOLDEN.items():
        config = build(arch, golden(name)[0])._hub_mixin_config  # the kwargs it was built with
        for key, value in cfgs[arch].items():
            assert config[key] == value, (arch, key)


def test_convert_cyclegan_with_stale_buffers_and_module_prefix(tmp_path: Path) -> None:
    weights, io = golden("cyclegan_resnet_generator_ngf8_nb2")
    stale = dict(weights)
    for layer in ("model.2", "model.5", "model.10.conv_block.2", "model.10.conv_block.6"):
        stale[f"{layer}.running_mean"] = torch.zeros(8)
        stale[f"{layer}.running_var"] = torch.ones(8)
        stale[f"{layer}.num_batches_tracked"] = torch.tensor(0)
    wrapped = {f"module.{k}": v for k, v in stale.items()}
    for label, state in (("stale", stale), ("module", wrapped)):
        out = convert(write_pth(tmp_path / f"{label}.pth", state), "cyclegan", tmp_path / label)
        assert_golden(load_model(out)(io["input"]), io["output"])


def test_convert_cyclegan_dropout_layout(tmp_path: Path) -> None:
    """With use_dropout the second conv of a block is conv_block.6; the weights are the same."""
    weights, io = golden("cyclegan_resnet_generator_ngf8_nb2")
    moved = {k.replace("conv_block.5.", "conv_block.6."): v for k, v in weights.items()}
    out = convert(write_pth(tmp_path / "dropout.pth", moved), "cyclegan", tmp_path / "out")
    assert_golden(load_model(out)(io["input"]), io["output"])


def test_convert_unwraps_a_state_dict_key(tmp_path: Path) -> None:
    weights, io = golden("kair_dncnn_gray_nb17")
    out = convert(write_pth(tmp_path / "ckpt.pth", {"state_dict": weights}), "dncnn", tmp_path / "out")
    assert_golden(load_model(out)(io["input"]), io["output"])


def test_convert_cli(tmp_path: Path, capsys) -> None:
    name = "kair_ffdnet_color_nc96_nb12"
    weights, io = golden(name)
    src = write_pth(tmp_path / "ffdnet_color.pth", weights)
    before = snapshot(src)
    assert main(["convert", str(src), "--arch", "ffdnet", "--output", str(tmp_path / "ffdnet.color")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "ffdnet.color")
    assert_golden(run(load_model(tmp_path / "ffdnet.color"), name, io), io["output"])
    assert snapshot(src) == before


class Payload:
    """Any Python object: a weights_only unpickler must refuse it (it could run code)."""

    def __init__(self) -> None:
        self.note = "not a tensor"


def test_convert_refuses_pickled_objects(tmp_path: Path, capsys) -> None:
    weights, _ = golden("kair_dncnn_gray_nb17")
    src = write_pth(tmp_path / "evil.pth", {**weights, "extra": Payload()})
    with pytest.raises(ConversionError, match=r"evil\.pth: refused: it pickles a Python object \(.*Payload\)"):
        convert(src, "dncnn", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert main(["convert", str(src), "--arch", "dncnn", "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refused" in err and "\x1b" not in err


@pytest.mark.parametrize(
    ("name", "arch", "message"),
    [
        ("kair_dncnn_gray_nb17", "cyclegan", r"not a cyclegan checkpoint: missing tensor .*try --arch dncnn"),
        ("kair_dncnn_gray_nb17", "ffdnet", r"not an ffdnet checkpoint.*try --arch dncnn"),
        ("kair_ffdnet_color_nc96_nb12", "dncnn", r"not a dncnn checkpoint.*try --arch ffdnet"),
        (
            "kair_ffdnet_color_nc96_nb12",
            "drunet",
            r"not a drunet checkpoint: missing tensor 'm_head.weight'.*--arch ffdnet",
        ),
        ("cyclegan_resnet_generator_ngf8_nb2", "dncnn", r"not a dncnn checkpoint.*try --arch cyclegan"),
        ("cyclegan_resnet_generator_ngf8_nb2", "drunet", r"not a drunet checkpoint.*try --arch cyclegan"),
        ("cyclegan_resnet_generator_ngf8_nb2", "ffdnet", r"not an ffdnet checkpoint.*try --arch cyclegan"),
        ("kair_drunet_color_nc8-16-32-64_nb1", "ffdnet", r"not an? ffdnet checkpoint.*try --arch drunet"),
        ("kair_drunet_color_nc8-16-32-64_nb1", "cyclegan", r"not a cyclegan checkpoint.*try --arch drunet"),
    ],
)
def test_convert_wrong_arch_is_a_clear_error(name: str, arch: str, message: str, tmp_path: Path) -> None:
    src = write_pth(tmp_path / "x.pth", golden(name)[0])
    with pytest.raises(ConversionError, match=message):
        convert(src, arch, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_convert_removes_a_prefix_every_key_shares_and_names_keys_it_cannot_place(tmp_path: Path) -> None:
    """Training wrappers add an attribute name to every key (Lightning's ``model.``, a GAN trainer's ``netG.``):
    removed when the official layout shows only without it; otherwise the error names the keys found."""
    for name, arch, prefix in (
        ("kair_dncnn_gray_nb17", "dncnn", "model."),
        ("kair_ffdnet_color_nc96_nb12", "ffdnet", "netG."),
        ("cyclegan_resnet_generator_ngf8_nb2", "cyclegan", "netG.module."),
    ):
        weights, _ = golden(name)
        src = write_pth(tmp_path / f"{arch}.pth", {"state_dict": {prefix + k: v for k, v in weights.items()}})
        got = load_model(convert(src, arch, tmp_path / arch)).state_dict()
        assert all(torch.equal(got[k], v) for k, v in weights.items() if k in got), name
    odd = write_pth(tmp_path / "odd.pth", {"net.a.weight": torch.zeros(2, 2, 3, 3), "b.bias": torch.zeros(2)})
    with pytest.raises(
        ConversionError, match=r"not a dncnn checkpoint: no model\.N\.weight tensors .*keys start b\.bias"
    ):
        convert(odd, "dncnn", tmp_path / "odd")


def test_convert_names_damaged_files_and_the_global_a_pickle_asks_for(tmp_path: Path) -> None:
    import os

    src = write_pth(tmp_path / "ok.pth", golden("kair_dncnn_gray_nb17")[0])
    cut = tmp_path / "cut.pth"
    cut.write_bytes(src.read_bytes()[:300])
    with pytest.raises(ConversionError, match=r"cut\.pth: refused: the file is damaged, truncated or not a PyTorch"):
        convert(cut, "dncnn", tmp_path / "out")
    (tmp_path / "zero.pth").write_bytes(b"")
    with pytest.raises(ConversionError, match=r"zero\.pth: refused: the file is damaged"):
        convert(tmp_path / "zero.pth", "dncnn", tmp_path / "out")
    evil = write_pth(tmp_path / "evil.pth", {"x": os.system})  # torch words this one "unsupported GLOBAL"
    with pytest.raises(ConversionError, match=r"evil\.pth: refused: it pickles a Python object \(\w+\.system\)"):
        convert(evil, "dncnn", tmp_path / "out")


def test_convert_bad_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.pth"
    text.write_text("hello")
    with pytest.raises(ConversionError, match=r"notes\.pth: refused: not a PyTorch checkpoint"):
        convert(text, "dncnn", tmp_path / "out")
    with pytest.raises(ConversionError, match="no such file"):
        convert(tmp_path / "missing.pth", "dncnn", tmp_path / "out")
    empty = write_pth(tmp_path / "empty.pth", {})
    with pytest.raises(ConversionError, match="expected a dict of tensors"):
        convert(empty, "dncnn", tmp_path / "out")
    with pytest.raises(ConversionError, match="unknown --arch 'swinir'"):
        convert(empty, "swinir", tmp_path / "out")
    src = write_pth(tmp_path / "ok.pth", golden("kair_dncnn_gray_nb17")[0])
    with pytest.raises(ConversionError, match="is not a folder"):
        convert(src, "dncnn", src)


def test_convert_keeps_a_projects_readme_and_names_the_keys_it_misses(tmp_path: Path) -> None:
    weights, _ = golden("cyclegan_resnet_generator_ngf8_nb2")
    src = write_pth(tmp_path / "g.pth", weights)
    (tmp_path / "README.md").write_text("# My project\n")
    with pytest.raises(ConversionError, match=r"already holds README\.md; pass --overwrite"):
        convert(src, "cyclegan", tmp_path)
    assert (tmp_path / "README.md").read_text() == "# My project\n"
    partial = write_pth(tmp_path / "partial.pth", {k: v for k, v in weights.items() if k != "model.1.bias"})
    with pytest.raises(ConversionError, match=r"not a cyclegan checkpoint: .*Missing key\(s\).*model\.1\.bias"):
        convert(partial, "cyclegan", tmp_path / "out")


def test_a_failed_overwrite_keeps_the_model_that_was_there(tmp_path: Path, monkeypatch) -> None:
    """Files are written beside the folder and moved in at the end: a full disk leaves the old model whole."""
    import genrepair.convert as conv

    weights, io = golden("kair_dncnn_gray_nb17")
    src = write_pth(tmp_path / "dncnn.pth", weights)
    out = convert(src, "dncnn", tmp_path / "model")
    before = snapshot(out / "model.safetensors"), (out / "config.json").read_text()

    def disk_full(model, folder, card=None):
        (Path(folder) / "config.json").write_text("{")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(conv, "save_model", disk_full)
    with pytest.raises(ConversionError, match=r"could not write the model .*No space left on device"):
        convert(src, "dncnn", out, overwrite=True)
    assert (snapshot(out / "model.safetensors"), (out / "config.json").read_text()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dncnn.pth", "model"]  # no staging folder left
    assert_golden(load_model(out)(io["input"]), io["output"])


def test_a_gray_cyclegan_translates_color_and_gray_images(tmp_path: Path) -> None:
    """The official --input_nc 1 --output_nc 1 generators: color input is read as luma, the output is gray."""
    torch.manual_seed(0)
    gray_gen = ResnetGenerator(input_nc=1, output_nc=1, ngf=8, n_blocks=2)
    out = convert(write_pth(tmp_path / "g.pth", gray_gen.state_dict()), "cyclegan", tmp_path / "gray")
    model = load_model(out)
    model.image_size = 0  # at its own size: enlarging random pixels clips each channel on its own, luma differs
    rgb = (np.random.default_rng(0).random((20, 24, 3)) * 255).astype(np.uint8)
    result = translate(model, Image.fromarray(rgb))
    assert (result.mode, result.size) == ("L", (24, 20))
    luma = Image.fromarray(rgb).convert("L")  # Pillow's Rec. 601 luma, 8-bit
    assert np.abs(np.asarray(translate(model, luma), np.int16) - np.asarray(result, np.int16)).max() <= 2


# ---------------------------------------------------------------- full-size key sets


def _keys(file: str) -> dict[str, dict[str, list[int]]]:
    return json.loads((INTEROP / file).read_text())


def _state_shapes(model: torch.nn.Module) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in model.state_dict().items()}


FULL_SIZE = {
    "resnet_9blocks_ngf64": lambda: ResnetGenerator(ngf=64, n_blocks=9),
    "resnet_6blocks_ngf64": lambda: ResnetGenerator(ngf=64, n_blocks=6),
    "kair_dncnn_gray_25": lambda: DnCNN(in_nc=1, out_nc=1, nc=64, nb=17),
    "kair_dncnn_color_blind": lambda: DnCNN(in_nc=3, out_nc=3, nc=64, nb=20),
    "kair_ffdnet_gray": lambda: FFDNet(in_nc=1, out_nc=1, nc=64, nb=15),
    "kair_ffdnet_color": lambda: FFDNet(in_nc=3, out_nc=3, nc=96, nb=12),
    "kair_drunet_color": lambda: DRUNet(in_nc=3, out_nc=3, nc=[64, 128, 256, 512], nb=4),
    "kair_drunet_gray": lambda: DRUNet(in_nc=1, out_nc=1, nc=[64, 128, 256, 512], nb=4),
}


def _official() -> dict[str, dict[str, list[int]]]:
    out = {}
    for file in ("cyclegan_resnet_generator_keys.json", "kair_denoiser_keys.json"):
        for label, keys in _keys(file).items():
            out[label.split(" ")[0]] = keys
    return out


def test_every_official_key_set_is_covered() -> None:
    assert set(_official()) == set(FULL_SIZE)


@pytest.mark.parametrize("label", list(FULL_SIZE))
def test_full_size_state_dict_matches_official(label: str) -> None:
    with torch.device("meta"):
        model = FULL_SIZE[label]()
    assert _state_shapes(model) == _official()[label]


def test_cyclegan_9_block_parameter_count() -> None:
    with torch.device("meta"):
        model = ResnetGenerator(ngf=64, n_blocks=9)
    assert sum(p.numel() for p in model.parameters()) == 11_378_179
    assert len(model.state_dict()) == 48


def test_drunet_parameter_count() -> None:
    with torch.device("meta"):
        model = DRUNet(in_nc=3, out_nc=3)
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 1) == 32.6
