"""Every registry entry and every model class: tiny forward pass, save/load round trip, strict loading."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY, tiny
from safetensors.torch import load_file, save_file

from genrepair import REGISTRY, ModelLoadError, load_model, models, save_model
from genrepair.classic import ClassicGenerator

pytestmark = pytest.mark.usefixtures("isolated_env")


def forward(model: torch.nn.Module) -> torch.Tensor:
    """One forward pass with the inputs each class takes; returns the image output."""
    g = torch.Generator().manual_seed(1)
    name = type(model).__name__
    if name == "CondGenerator":
        return model(torch.randn(2, model.z_dim, generator=g), torch.tensor([0, 2]))
    if name == "DCGANGenerator":
        return model(torch.randn(2, model.z_dim, generator=g))
    if name == "ConvVAE":
        return model(torch.rand(2, 3, model.image_size, model.image_size, generator=g))[0]
    if name == "ResnetGenerator":
        return model(torch.rand(1, 3, 20, 24, generator=g) * 2 - 1)
    if name == "InpaintNet":
        mask = torch.zeros(1, 1, 16, 24)
        mask[..., 4:10, 6:14] = 1
        return model(torch.rand(1, 3, 16, 24, generator=g), mask)
    # denoisers: odd sizes on purpose, sigma on the [0, 1] scale
    return model(torch.rand(1, model.in_nc, 19, 23, generator=g), 25 / 255)


EXPECTED = {  # class -> (output shape, value range)
    "CondGenerator": ((2, 3, 32, 32), (-1, 1)),
    "DCGANGenerator": ((2, 3, 64, 64), (-1, 1)),
    "ConvVAE": ((2, 3, 32, 32), (0, 1)),
    "ResnetGenerator": ((1, 3, 20, 24), (-1, 1)),
    "InpaintNet": ((1, 3, 16, 24), (0, 1)),
    "NoiseCondUNet": ((1, 3, 19, 23), None),
    "DnCNN": ((1, 1, 19, 23), None),
    "FFDNet": ((1, 1, 19, 23), None),
    "DRUNet": ((1, 1, 19, 23), None),
}


def test_every_model_class_has_a_tiny_config() -> None:
    assert set(TINY) == set(models.__all__) == set(EXPECTED)


def test_every_registry_class_exists() -> None:
    for spec in REGISTRY.values():
        assert spec.cls == "classic" or spec.cls in models.__all__, spec
        assert spec.task in {"generate", "translate", "denoise", "inpaint"}, spec
        assert spec.name.count(".") == 1, f"{spec.name} should read family.variant"


def _round_trip(model: torch.nn.Module, folder: Path) -> None:
    out = forward(model)
    save_model(model, folder)
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["_class_name"] == type(model).__name__
    assert {k for k in cfg if not k.startswith("_")} <= set(TINY[type(model).__name__]) | _defaults(model)
    loaded = load_model(folder, device="cpu")
    assert type(loaded) is type(model) and not loaded.training
    # channels-last weights change the order of the float sums, nothing else
    exact = not getattr(loaded, "prefers_channels_last", False)
    kernels = [p for p in loaded.parameters() if p.dim() == 4 and p.shape[1] > 1 and p.shape[-2:] != (1, 1)]
    assert all(p.is_contiguous(memory_format=torch.channels_last) != exact for p in kernels)  # unambiguous layouts
    torch.testing.assert_close(forward(loaded), out, rtol=0 if exact else 1e-5, atol=0 if exact else 1e-5)
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    save_model(loaded, folder / "again")  # a loaded model saves again (safetensors wants contiguous tensors)
    assert load_file(folder / "again" / "model.safetensors").keys() == model.state_dict().keys()


def _defaults(model: torch.nn.Module) -> set[str]:
    import inspect

    return set(inspect.signature(type(model).__init__).parameters) - {"self"}


@pytest.mark.parametrize("name", list(REGISTRY))
def test_registry_entry(name: str, tmp_path: Path) -> None:
    spec = REGISTRY[name]
    if spec.cls == "classic":
        gen = load_model(name)
        assert isinstance(gen, ClassicGenerator)
        a, b, c = gen.sample(3), gen.sample(3), gen.sample(4)
        assert a.size == (64, 64) and a.mode == "RGB"
        assert np.array_equal(np.asarray(a), np.asarray(b)), "same seed must give the same image"
        assert not np.array_equal(np.asarray(a), np.asarray(c)), "another seed should give another image"
        return
    model = tiny(spec.cls)
    shape, value_range = EXPECTED[spec.cls]
    out = forward(model)
    assert tuple(out.shape) == shape
    assert torch.isfinite(out).all()
    if value_range:
        assert value_range[0] <= out.min() and out.max() <= value_range[1]
    _round_trip(model, tmp_path / name)


@pytest.mark.parametrize("cls_name", sorted({*models.__all__} - {s.cls for s in REGISTRY.values()}))
def test_unregistered_classes_round_trip(cls_name: str, tmp_path: Path) -> None:
    model = tiny(cls_name)
    assert tuple(forward(model).shape) == EXPECTED[cls_name][0]
    _round_trip(model, tmp_path / cls_name)


def test_inpaint_net_keeps_known_pixels_exactly() -> None:
    model = tiny("InpaintNet")
    image = torch.rand(1, 3, 16, 24)
    mask = torch.zeros(1, 1, 16, 24)
    mask[..., 4:10, 6:14] = 1
    out = model(image, mask)
    keep = mask.expand_as(image) == 0
    assert torch.equal(out[keep], image[keep])


@pytest.mark.parametrize("shape", [(20, 2000), (2000, 20), (64, 2000), (1, 9), (48, 48)])
def test_coarse_fill_of_long_thin_images(shape: tuple[int, int]) -> None:
    """The push-pull pyramid goes down to 1x1 along both sides: a hole that spans the short side of a long
    image is filled from the known pixels, not with zeros."""
    from genrepair.models.inpaint import push_pull_fill

    h, w = shape
    x = torch.full((1, 3, h, w), 0.6)
    known = torch.ones(1, 1, h, w)
    known[..., :, w // 3 : 2 * w // 3] = 0  # the hole spans the full height
    filled = push_pull_fill(x * known, known)
    assert torch.allclose(filled, x, atol=1e-5)


def test_gray_denoiser_from_color_weights_computes_the_color_model_on_gray() -> None:
    """gray_state_from_color: the gray model on x at sigma equals the color model's channel mean on x
    repeated in R, G and B at sqrt(3) sigma (the conversion is exact, training starts from there)."""
    from genrepair.models.denoisers import gray_state_from_color

    color = tiny("NoiseCondUNet", in_nc=3)
    gray = models.NoiseCondUNet(**{**TINY["NoiseCondUNet"], "in_nc": 1}).eval()
    gray.load_state_dict(gray_state_from_color(color.state_dict()))
    x = torch.rand(2, 1, 24, 16)
    with torch.no_grad():
        want = color(x.repeat(1, 3, 1, 1), 3**0.5 * 0.1).mean(1, keepdim=True)
        assert torch.allclose(gray(x, 0.1), want, atol=1e-5)
    with pytest.raises(ValueError, match="not a color NoiseCondUNet"):
        gray_state_from_color(gray.state_dict())


def test_classic_generators_differ_by_kind_and_reject_unknown() -> None:
    imgs = [np.asarray(ClassicGenerator(k).sample(0)) for k in ("noise", "automaton", "lsystem")]
    assert not np.array_equal(imgs[0], imgs[1]) and not np.array_equal(imgs[1], imgs[2])
    with pytest.raises(ValueError, match="unknown classic generator 'fractal'; valid: noise, automaton, lsystem"):
        ClassicGenerator("fractal")


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    model = tiny("ResnetGenerator")
    return save_model(model, tmp_path / "m"), model


def test_unknown_config_key_is_ignored(saved, caplog) -> None:
    folder, model = saved
    cfg = json.loads((folder / "config.json").read_text())
    cfg["added_in_a_later_version"] = 3
    (folder / "config.json").write_text(json.dumps(cfg))
    with caplog.at_level("WARNING", logger="genrepair"):
        loaded = load_model(folder)
    assert "added_in_a_later_version" in caplog.text, "the ignored key should be named in a warning"
    x = torch.rand(1, 3, 8, 8)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_missing_tensor_fails_to_load(saved) -> None:
    folder, _ = saved
    state = load_file(folder / "model.safetensors")
    del state["model.1.bias"]
    save_file(state, folder / "model.safetensors")
    with pytest.raises(ModelLoadError, match=r"does not match the weights \(missing weight model\.1\.bias; 1 missing"):
        load_model(folder)


def test_extra_tensor_fails_to_load(saved) -> None:
    folder, _ = saved
    state = load_file(folder / "model.safetensors")
    state["model.99.weight"] = torch.zeros(3)
    save_file(state, folder / "model.safetensors")
    with pytest.raises(ModelLoadError, match=r"\(unexpected weight model\.99\.weight; 0 missing, 1 unexpected"):
        load_model(folder)


def test_wrong_shape_fails_to_load(saved) -> None:
    folder, _ = saved
    cfg = json.loads((folder / "config.json").read_text())
    cfg["ngf"] = 8
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(
        ModelLoadError, match=r"weight model\.1\.weight is \[\d+, 3, 7, 7\] in the file, \[8, 3, 7, 7\] here"
    ):
        load_model(folder)


def test_config_sizes_are_checked_before_memory_is_taken(saved, monkeypatch) -> None:
    """The config's sizes are compared with the file's header on the meta device first: ``ngf: 4096`` asked for
    4.8 GB before the weights were read; ``image_size`` and ``pad_multiple`` size users' pictures; a block count in
    the hundred thousands took a minute to build even on the meta device."""
    folder, _ = saved
    cfg = json.loads((folder / "config.json").read_text())
    built = []
    monkeypatch.setattr(torch.nn.Conv2d, "reset_parameters", lambda self: built.append(self.weight.device.type))
    (folder / "config.json").write_text(json.dumps({**cfg, "ngf": 4096}))
    with pytest.raises(ModelLoadError, match=r"config\.json does not match the weights"):
        load_model(folder)
    assert built and set(built) == {"meta"}
    for key, value in (("image_size", 30000), ("pad_multiple", 2**20), ("n_blocks", 100_000)):
        (folder / "config.json").write_text(json.dumps({**cfg, key: value}))
        with pytest.raises(ModelLoadError, match=f"config\\.json: {key} {value} is over"):
            load_model(folder)


def test_unknown_class_name_is_refused(saved) -> None:
    folder, _ = saved
    cfg = json.loads((folder / "config.json").read_text())
    cfg["_class_name"] = "StyleGAN9"
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="names no known architecture.*StyleGAN9"):
        load_model(folder)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"ngf": "wide"}, "ngf must be a number, got 'wide'"),
        ({"_class_name": ["ResnetGenerator"]}, "_class_name must be a string"),
        ({"upsample": "magic"}, "does not describe a ResnetGenerator: upsample must be one of"),
        ({"ngf": True}, "ngf must be a number, got True"),
    ],
)
def test_odd_config_values_are_named(saved, edit: dict, message: str) -> None:
    folder, _ = saved
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(cfg | edit))
    with pytest.raises(ModelLoadError, match=re.escape(message)):
        load_model(folder)


def test_config_that_is_not_utf8_or_has_a_bad_noise_range(tmp_path: Path) -> None:
    folder = save_model(tiny("NoiseCondUNet"), tmp_path / "d")
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(cfg), encoding="utf-16")  # as Windows Notepad may save it
    with pytest.raises(ModelLoadError, match="config.json is unreadable: not UTF-8 text"):
        load_model(folder)
    for bad in (-5, "abc", 0):
        (folder / "config.json").write_text(json.dumps(cfg | {"sigma_max": bad}))
        with pytest.raises(ModelLoadError, match=f"sigma_max must be a positive number, got {bad!r}"):
            load_model(folder)


@pytest.mark.parametrize("how", ["nan", "int"])
def test_weights_that_cannot_compute_are_refused(saved, how: str) -> None:
    folder, _ = saved
    state = load_file(folder / "model.safetensors")
    if how == "nan":
        state["model.1.weight"][0, 0, 0, 0] = float("nan")
        message = r"1 weight tensors hold NaN or infinite values \(model\.1\.weight"
    else:
        state["model.1.weight"] = state["model.1.weight"].round().to(torch.int32)
        message = r"weight model\.1\.weight is stored as torch\.int32, not a float type"
    save_file(state, folder / "model.safetensors")
    with pytest.raises(ModelLoadError, match=message):
        load_model(folder)


def test_a_missing_folder_is_never_taken_for_a_hub_repo(tmp_path: Path, monkeypatch) -> None:
    """./x, ~/x, /x, and weights/x where weights/ is a folder here: "no such folder", with no network use."""
    monkeypatch.chdir(tmp_path)
    save_model(tiny("ResnetGenerator"), tmp_path / "weights" / "other")  # a folder of model folders
    (tmp_path / "genrepair").mkdir()  # a folder named like a Hub org (the package, in a checkout)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # would fail differently if it were tried
    missing = ("weights/horse2zebra", "./mymodel", "~/no-such-genrepair-model", "~nosuchuser9/m", "a/b/c")
    for name in (*missing, str(tmp_path / "gone")):
        with pytest.raises(ModelLoadError, match="no such folder"):
            load_model(name)
    with pytest.raises(ModelLoadError, match="Hub download http://127.0.0.1:9/genrepair/denoise-color"):
        load_model("genrepair/denoise-color")  # a repo id, though ./genrepair is a folder
    home_model = save_model(tiny("ResnetGenerator"), tmp_path / "home" / "m")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert load_model("~/m").genrepair_source == f"local folder {home_model}"
    monkeypatch.setenv("GENREPAIR_WEIGHTS", "")  # empty means unset: the bundled folder, not the current one
    from genrepair.hub import weights_dir

    assert weights_dir() == BUNDLED


def test_unknown_model_name_lists_valid_names() -> None:
    with pytest.raises(ModelLoadError, match=r"unknown model 'gan\.nope'.*valid names: gan\.emoji, vae\.emoji"):
        load_model("gan.nope")


def test_registry_model_without_weights_fails_offline_naming_what_was_tried() -> None:
    with pytest.raises(ModelLoadError, match=r"could not load 'inpaint\.photo'.*bundled folder.*(missing)"):
        load_model("inpaint.photo")


BUNDLED = Path(__file__).resolve().parents[1] / "weights"


@pytest.mark.parametrize("name", [n for n, s in REGISTRY.items() if s.cls != "classic"])
def test_bundled_weights_load_strictly(name: str) -> None:
    """Every released model ships in weights/<name>/ (the app's offline copy) and loads into its class."""
    folder = BUNDLED / name
    for f in ("config.json", "model.safetensors", "README.md"):
        assert (folder / f).is_file(), f"weights/{name}/{f} is missing"
    model = load_model(folder, device="cpu")
    assert type(model).__name__ == REGISTRY[name].cls
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("shape", [(2, 5, 3, 4), (1, 1, 1, 1), (3, 16, 8, 7)])
def test_fast_upsample_matches_torch_nearest(shape: tuple[int, ...]) -> None:
    x = torch.randn(*shape)
    assert torch.equal(models.layers.upsample2x(x), torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"))


def _conv_of_upsampled(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The plain pair that :func:`upsample2x_conv3x3` computes in one transposed convolution."""
    return torch.nn.functional.conv2d(models.layers.upsample2x(x), weight, padding=1)


@pytest.mark.parametrize("shape", [(2, 5, 3, 4), (1, 1, 1, 1), (1, 7, 6, 9)])
def test_upsample_conv_matches_conv_of_upsampled(shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    x, weight = torch.randn(*shape), torch.randn(4, shape[1], 3, 3)
    reference = _conv_of_upsampled(x, weight)
    assert torch.allclose(models.layers.upsample2x_conv3x3(x, weight), reference, atol=1e-4)
    channels_last = x.contiguous(memory_format=torch.channels_last)
    assert torch.allclose(models.layers.upsample2x_conv3x3(channels_last, weight), reference, atol=1e-4)


def test_upsample_conv_trains_like_conv_of_upsampled() -> None:
    """Gradients flow through the folded kernel to the 3x3 weight and the input as through the plain pair."""
    torch.manual_seed(0)
    x, weight = torch.randn(2, 3, 5, 4), torch.randn(4, 3, 3, 3)
    grads = []
    for fn in (models.layers.upsample2x_conv3x3, _conv_of_upsampled):
        a, w = x.clone().requires_grad_(), weight.clone().requires_grad_()
        fn(a, w).square().sum().backward()
        grads.append((a.grad, w.grad))
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-3) and torch.allclose(grads[0][1], grads[1][1], atol=1e-3)


def test_inpaint_decoder_equals_concatenate_then_convolve() -> None:
    """The split decoder merge (low-resolution half) gives what the plain U-Net merge gives, and loads
    the plain merge's weights (checkpoints written before the split)."""
    torch.manual_seed(0)
    block = torch.nn.Sequential(torch.nn.Conv2d(12, 5, 3, 1, 1), torch.nn.ReLU(inplace=True))
    d, skip = torch.randn(2, 8, 5, 6), torch.randn(2, 4, 10, 12)
    reference = block(torch.cat([models.layers.upsample2x(d), skip], 1))
    merge = models.inpaint.UpMerge(8, 4, 5)
    merge.load_state_dict(block.state_dict(), strict=True)
    assert torch.allclose(merge(d, skip), reference, atol=1e-5)


def test_inpaint_one_by_one_skips() -> None:
    """``skip_kernel=1`` keeps the output size and has 1x1 skip weights; fit_skips copies the other weights
    and recovers a 3x3 skip that is really a 1x1 one (only centre taps), so the slim model then reproduces
    the original; a student of another width is refused."""
    from genrepair.training.inpaint import fit_skips

    torch.manual_seed(0)
    teacher = models.InpaintNet(nf=8, n_blocks=2).eval()
    with torch.no_grad():
        for n in ("dec2", "dec1", "dec0"):
            w = getattr(teacher, n).skip.weight
            w.copy_(torch.nn.functional.pad(w[:, :, 1:2, 1:2], (1, 1, 1, 1)))
    student = models.InpaintNet(nf=8, n_blocks=2, skip_kernel=1).eval()
    assert student.dec0.skip.weight.shape[-2:] == (1, 1)
    image, mask = torch.rand(2, 3, 32, 32), (torch.rand(2, 1, 32, 32) < 0.3).float()
    with torch.no_grad():
        assert (student(image, mask) - teacher(image, mask)).abs().max() > 1e-3  # different weights
        fit_skips(student, teacher, image, mask, torch.zeros_like(mask))
        assert torch.allclose(student(image, mask), teacher(image, mask), atol=1e-4)
        assert student(torch.rand(1, 3, 40, 24), torch.ones(1, 1, 40, 24)).shape == (1, 3, 40, 24)
        with pytest.raises((ValueError, RuntimeError)):
            fit_skips(models.InpaintNet(nf=8, n_blocks=1, skip_kernel=1), teacher, image, mask, torch.zeros_like(mask))


def test_gan_block_skip_order_is_equivalent() -> None:
    """The skip path upsamples after its 1x1 conv; the result equals conv-after-upsample."""
    torch.manual_seed(0)
    block = models.gan.UpBlock(8, 4, 16).eval()
    x, c = torch.randn(2, 8, 4, 4), torch.randn(2, 16)
    up = torch.nn.Upsample(scale_factor=2, mode="nearest")
    h = up(block.act(block.bn1(x, c)))
    reference = block.conv2(block.act(block.bn2(block.conv1(h), c))) + block.skip(up(x))
    assert torch.allclose(block(x, c), reference, atol=1e-5)


def test_cyclegan_resize_convolution_layout(tmp_path: Path) -> None:
    """``upsample="bilinear"`` keeps the output size, has no transposed convolutions, records itself in
    config.json and loads back strictly; the default stays the official layout; a typo is refused."""
    torch.manual_seed(0)
    official = models.ResnetGenerator(ngf=4, n_blocks=1)
    resize = models.ResnetGenerator(ngf=4, n_blocks=1, upsample="bilinear").eval()
    assert any(isinstance(m, torch.nn.ConvTranspose2d) for m in official.modules())
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in resize.modules())
    x = torch.rand(1, 3, 20, 28) * 2 - 1
    assert resize(x).shape == official(x).shape == x.shape
    save_model(resize, tmp_path / "m")
    assert json.loads((tmp_path / "m" / "config.json").read_text())["upsample"] == "bilinear"
    with torch.no_grad():
        assert torch.equal(load_model(tmp_path / "m")(x), resize(x))
    with pytest.raises(ValueError, match="upsample must be one of"):
        models.ResnetGenerator(ngf=4, n_blocks=1, upsample="nearest-ish")


def test_cyclegan_upsampling_fit_recovers_a_resize_convolution() -> None:
    """fit_upsampling copies every weight outside the upsampling layers and fits each new convolution by least
    squares: when the teacher's layer is itself a resize convolution (of another class, so it counts as a different
    layout), the fit recovers its weights and the student reproduces the teacher."""
    from genrepair.training.cyclegan import fit_upsampling

    class Known(torch.nn.Sequential):
        pass

    torch.manual_seed(0)
    teacher = models.ResnetGenerator(ngf=4, n_blocks=1, upsample="bilinear").eval()
    ups = [i for i, m in enumerate(teacher.model) if isinstance(m, torch.nn.Sequential)]
    assert len(ups) == 2
    for i in ups:
        teacher.model[i] = Known(*teacher.model[i])
    student = models.ResnetGenerator(ngf=4, n_blocks=1, upsample="bilinear").eval()
    x = torch.rand(4, 3, 24, 24) * 2 - 1
    with torch.no_grad():
        assert (student(x) - teacher(x)).abs().max() > 1e-2
    fit_upsampling(student, teacher, x)
    t_sd, s_sd = teacher.state_dict(), student.state_dict()
    assert all(torch.equal(t_sd[k], s_sd[k]) for k in t_sd if int(k.split(".")[1]) not in ups)
    for i in ups:
        assert torch.allclose(student.model[i][2].weight, teacher.model[i][2].weight, atol=1e-3)
    with torch.no_grad():
        assert torch.allclose(student(x), teacher(x), atol=1e-3)
    with pytest.raises(ValueError, match="differ outside"):
        fit_upsampling(models.ResnetGenerator(ngf=4, n_blocks=2, upsample="bilinear"), teacher, x)


def test_resize_convolution_checkpoint_converts(tmp_path: Path) -> None:
    """A resize-convolution generator saved as a .pth converts to the same layout (its keys say which)."""
    from genrepair.convert import build
    from genrepair.models.cyclegan import decoder_layout

    model = models.ResnetGenerator(ngf=4, n_blocks=2, upsample="bilinear")
    assert decoder_layout(model.state_dict()) == "bilinear"
    assert decoder_layout(models.ResnetGenerator(ngf=4, n_blocks=2).state_dict()) == "transpose"
    built = build("cyclegan", model.state_dict())
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert decoder_layout(built.state_dict()) == "bilinear" and torch.equal(built(x), model.eval()(x))


def test_loading_leaves_the_global_random_generator_alone(saved) -> None:
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    load_model(saved[0])
    assert torch.equal(torch.rand(3), expected)
