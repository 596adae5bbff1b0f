"""The inference pipelines: size, alpha, modes, EXIF, tiling, inpainting, sigma, seeds."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import exif_rotated_jpeg, identity_denoiser, max_diff, photo, tiny
from PIL import Image

from genrepair import (
    ImageInputError,
    denoise,
    estimate_noise_level,
    generate,
    inpaint,
    interpolate,
    list_models,
    translate,
)
from genrepair.classic import ClassicGenerator
from genrepair.evaluation.common import psnr_u8
from genrepair.noise import (
    JPEG_CLEAN_MARGIN,
    JPEG_CURVES,
    JPEG_FLOOR,
    JPEG_SCALE,
    JPEG_SIGMAS,
    block_ac_level,
    jpeg_curve_floor,
    jpeg_quality,
    jpeg_sigma,
    jpeg_table_sigma,
)
from genrepair.pipelines import (
    _crop_box,
    _hole_parts,
    _image_norm_stats,
    _pad_run,
    _spans,
    looks_gray,
    read_mask,
    run_tiled,
    self_ensemble,
)

pytestmark = pytest.mark.usefixtures("isolated_env")

SIZES = [(37, 45), (1, 1), (3, 5), (64, 8)]


@pytest.fixture(scope="module")
def cyclegan() -> torch.nn.Module:
    return tiny("ResnetGenerator")


@pytest.fixture(scope="module")
def denoiser() -> torch.nn.Module:
    return tiny("NoiseCondUNet")


@pytest.fixture(scope="module")
def inpainter() -> torch.nn.Module:
    return tiny("InpaintNet")


def hole(w: int, h: int, box: tuple[int, int, int, int]) -> Image.Image:
    """An L mask, white (255) = hole, inside ``box`` (left, top, right, bottom)."""
    m = Image.new("L", (w, h), 0)
    m.paste(255, box)
    return m


# ---------------------------------------------------------------- size and alpha


@pytest.mark.parametrize("size", SIZES)
def test_size_is_kept(size, cyclegan, denoiser, inpainter) -> None:
    img = photo(*size)
    assert translate(cyclegan, img).size == size
    assert denoise(denoiser, img, sigma=25).size == size
    if size[0] * size[1] == 1:  # a hole over the whole picture: nothing to fill from
        with pytest.raises(ImageInputError, match="the mask covers the whole image"):
            inpaint(inpainter, img, hole(*size, (0, 0, 1, 1)))
    else:
        assert inpaint(inpainter, img, hole(*size, (0, 0, 1, 1))).size == size


@pytest.mark.parametrize("size", [(37, 45), (3, 5)])
def test_alpha_is_kept(size, cyclegan, denoiser, inpainter) -> None:
    img = photo(*size)
    alpha = Image.fromarray(np.random.default_rng(0).integers(0, 256, size[::-1], dtype=np.uint8))
    img.putalpha(alpha)
    outs = [
        translate(cyclegan, img),
        denoise(denoiser, img, sigma=10),
        inpaint(inpainter, img, hole(*size, (1, 1, 2, 3))),
    ]
    for out in outs:
        assert out.mode == "RGBA"
        assert np.array_equal(np.asarray(out.getchannel("A")), np.asarray(alpha))


# ---------------------------------------------------------------- modes (see the imageio docstring)


def _modes() -> dict[str, tuple[Image.Image, str, Image.Image]]:
    """input, expected output mode, and what the identity denoiser must return exactly."""
    rgb = photo(13, 9)
    gray = rgb.convert("L")
    la = gray.copy()
    la.putalpha(Image.linear_gradient("L").resize((13, 9)))
    pal = rgb.quantize(16)
    pal_t = pal.copy()
    pal_t.info["transparency"] = 0
    cmyk = rgb.convert("CMYK")
    one = gray.convert("1")
    i16 = Image.fromarray((np.asarray(gray, np.uint16) * 257 + 7).astype(np.uint16))
    return {
        "RGB": (rgb, "RGB", rgb),
        "L": (gray, "L", gray),
        "LA": (la, "LA", la),
        "P": (pal, "RGB", pal.convert("RGB")),
        "P+transparency": (pal_t, "RGBA", pal_t.convert("RGBA")),
        "CMYK": (cmyk, "RGB", cmyk.convert("RGB")),
        "1": (one, "L", one.convert("L")),
        "I;16": (i16, "I;16", i16),
    }


@pytest.mark.parametrize("name", list(_modes()))
def test_mode_conversion(name: str, cyclegan, inpainter) -> None:
    img, out_mode, expected = _modes()[name]
    out = denoise(identity_denoiser(), img, sigma=0)
    assert out.mode == out_mode
    assert np.array_equal(np.asarray(out), np.asarray(expected)), "identity model must give back the input"
    colour = {"L": "RGB", "1": "RGB", "LA": "RGBA", "I;16": "RGB"}  # a colour model colours gray pictures
    assert translate(cyclegan, img).mode == colour.get(name, out_mode)
    filled = inpaint(inpainter, img, hole(13, 9, (2, 2, 6, 5)))
    assert filled.mode == out_mode and filled.size == img.size


def test_translate_unmixes_the_background_from_half_transparent_edges() -> None:
    """The picture is flattened on the model's background for it; where the alpha is partial, that background is
    taken out of the result again (on a dark page the antialiased edge of an emoji showed a light fringe). With a
    model that changes nothing, the edge's colours come back as they were."""
    model = tiny("ResnetGenerator")
    model.forward = lambda x: x  # the identity, keeping the class (and so the task) of a translator
    arr = np.zeros((8, 10, 4), np.uint8)
    arr[..., :3] = (50, 100, 150)
    arr[..., 3] = np.linspace(0, 255, 10).astype(np.uint8)  # clear, then partial, then opaque
    out = np.asarray(translate(model, Image.fromarray(arr)), np.int16)
    seen = arr[..., 3] > 40  # where the 8-bit alpha leaves enough of the colour to recover it to a level or two
    assert np.abs(out[..., :3][seen] - arr[..., :3][seen]).max() <= 2
    assert np.array_equal(out[..., 3], arr[..., 3])


def test_a_gray_sketch_is_coloured_by_a_colour_model(cyclegan) -> None:
    """Line art is often stored gray (or 1-bit): a sketch -> colour model's colours must survive; only a gray
    model (input_nc 1 and output_nc 1) gives gray back."""
    sketch = photo(24, 16).convert("L")
    out = translate(cyclegan, sketch)
    arr = np.asarray(out, np.int16)
    assert out.mode == "RGB" and np.abs(arr[..., 0] - arr[..., 2]).max() > 0
    assert np.array_equal(arr, np.asarray(translate(cyclegan, sketch.convert("RGB")), np.int16))


def test_sixteen_bit_gray_keeps_its_precision() -> None:
    arr = (np.arange(12 * 10, dtype=np.uint16).reshape(10, 12) * 500 + 3).astype(np.uint16)
    out = denoise(identity_denoiser(), Image.fromarray(arr), sigma=0)
    assert out.mode == "I;16"
    assert np.array_equal(np.asarray(out), arr)


def test_sixteen_bit_gray_keeps_its_precision_on_a_half_precision_model() -> None:
    """float16 (the CUDA default) keeps 11 significant bits; a 16-bit image runs on a float32 copy, and the
    caller's model stays as it was."""
    arr = (np.arange(12 * 10, dtype=np.uint16).reshape(10, 12) * 500 + 3).astype(np.uint16)
    model = identity_denoiser().half()
    out = denoise(model, Image.fromarray(arr), sigma=0)
    assert np.array_equal(np.asarray(out), arr)
    assert next(model.parameters()).dtype == torch.float16


@pytest.mark.parametrize("task", ["generate", "translate", "denoise", "inpaint"])
def test_a_model_of_another_task_is_a_clear_error(task: str, cyclegan, denoiser, inpainter) -> None:
    img, mask = photo(16, 16), hole(16, 16, (4, 4, 8, 8))
    calls = {
        "generate": lambda m: generate(m, 1),
        "translate": lambda m: translate(m, img),
        "denoise": lambda m: denoise(m, img, sigma=10),
        "inpaint": lambda m: inpaint(m, img, mask),
    }
    wrong = denoiser if task != "denoise" else inpainter
    its = "denoise" if task != "denoise" else "inpaint"
    a = {"inpaint": "an"}
    with pytest.raises(
        ValueError,
        match=f"is {a.get(its, 'a')} {its} model, not {a.get(task, 'a')} {task} model; use it with genrepair",
    ):
        calls[task](wrong)
    right = {"translate": cyclegan, "denoise": denoiser, "inpaint": inpainter}.get(task)
    if right is not None:
        calls[task](right)


def test_exif_rotated_jpeg_is_upright(tmp_path: Path, denoiser) -> None:
    src = exif_rotated_jpeg(tmp_path / "rot.jpg")
    out = denoise(identity_denoiser(), src, sigma=0)
    assert out.size == (20, 30)  # 30x20 stored, Orientation=6: shown rotated 90 degrees clockwise
    px = np.asarray(out, np.int64)
    assert px[:8, :, 2].mean() > 200 and px[:8, :, 0].mean() < 60  # blue left third is now on top
    assert px[-15:, :, 0].mean() > 200 and px[-15:, :, 2].mean() < 60


# ---------------------------------------------------------------- tiling


def test_tiles_match_whole_image_for_a_local_model() -> None:
    model = tiny("DnCNN", in_nc=3, out_nc=3)
    x = torch.rand(1, 3, 101, 131, generator=torch.Generator().manual_seed(0))
    fn = lambda t: model(t)  # noqa: E731
    with torch.inference_mode():
        whole = _pad_run(fn, x, 8)
        for tile, overlap in ((48, 24), (40, 96)):
            tiled = run_tiled(fn, x, tile=tile, overlap=overlap, multiple=8)
            assert tiled.shape == x.shape
            assert (tiled - whole)[..., 8:-8, 8:-8].abs().max() < 1e-4, (tile, overlap)


@pytest.mark.parametrize("cls_name", ["NoiseCondUNet", "DRUNet"])
def test_tiles_stay_on_the_model_grid(cls_name: str) -> None:
    """Stride-2 networks see every tile at the whole image's phase (starts on the pad grid), so a
    tile seam is only a small blending difference, not a shifted-grid one (which was ~100x larger)."""
    model = tiny(cls_name, **({"in_nc": 3, "out_nc": 3} if cls_name == "DRUNet" else {}))
    x = torch.rand(1, 3, 101, 131, generator=torch.Generator().manual_seed(0))
    fn = lambda t: model(t, 0.1)  # noqa: E731
    with torch.inference_mode():
        whole = _pad_run(fn, x, 8)
        tiled = run_tiled(fn, x, tile=64, overlap=32, multiple=8)
    scale = whole.abs().max()
    assert (tiled - whole).abs().max() < 0.005 * scale


def test_tile_option_smaller_than_overlap_still_covers(denoiser) -> None:
    img = photo(300, 190)
    a = np.asarray(denoise(denoiser, img, sigma=20, tile=128), np.int64)
    b = np.asarray(denoise(denoiser, img, sigma=20, tile=4096), np.int64)
    assert a.shape == b.shape
    assert np.median(np.abs(a - b)) <= 2
    x = torch.rand(1, 3, 70, 50)
    for tile in (1, 4, 9):  # below the pad multiple (8): still covered, no gaps (NaN) between tiles
        assert torch.allclose(run_tiled(lambda t: t, x, tile=tile, overlap=96, multiple=8), x, atol=1e-6)
    with pytest.raises(ValueError, match="tile must be a positive whole number"):
        run_tiled(lambda t: t, torch.zeros(1, 1, 4, 4), tile=0)
    with pytest.raises(ValueError, match="tile must be at least 128 pixels, got 16"):
        denoise(denoiser, img, sigma=20, tile=16)  # 13 levels off with denoise.color


@pytest.mark.parametrize("n,tile", [(65, 64), (100, 64), (130, 64), (1100, 1024), (6001, 2048), (2049, 2048)])
def test_balanced_tiles_share_the_side_evenly(n: int, tile: int) -> None:
    multiple, overlap = 4, min(64, tile // 2)
    stride = (tile - overlap) // multiple * multiple
    spans = _spans(n, tile, stride, multiple, balanced=True)
    assert spans[0][0] == 0 and spans[-1][1] == n
    assert all(s % multiple == 0 for s, _ in spans), "tiles start on the model's grid"
    assert all(a1 - b0 >= overlap for (_, a1), (b0, _) in zip(spans, spans[1:])), "neighbours overlap fully"
    sizes = [e - s for s, e in spans]
    assert max(sizes) <= tile + 2 * multiple and max(sizes) - min(sizes) < multiple
    plain = _spans(n, tile, stride, multiple)
    assert len(spans) == len(plain), "as many tiles as the plain layout"
    if len(plain) == 2:
        assert max(sizes) < (n + overlap) / 2 + 2 * multiple  # two halves, not two full tiles


def test_tiles_with_the_whole_images_norm_statistics_match_it() -> None:
    """InstanceNorm makes a CycleGAN generator non-local; with the whole image's statistics fixed in every
    tile, only the seams differ (and those by less than one 8-bit level); with each tile's own they do not."""
    model = tiny("ResnetGenerator")
    x = torch.from_numpy(np.asarray(photo(150, 110), np.float32) / 255).permute(2, 0, 1)[None] * 2 - 1
    with torch.inference_mode():
        whole = _pad_run(model, x, 4, 8)
        own = run_tiled(model, x, tile=96, overlap=64, multiple=4, min_side=8, balanced=True)
        with _image_norm_stats(model, lambda: _pad_run(model, x, 4, 8)):
            shared = run_tiled(model, x, tile=96, overlap=64, multiple=4, min_side=8, balanced=True)
    assert (shared - whole).abs().max() < 1 / 127.5
    assert (own - whole).abs().max() > 10 * (shared - whole).abs().max()
    assert not any(m._forward_hooks for m in model.modules()), "hooks removed afterwards"
    with torch.inference_mode():
        assert torch.equal(_pad_run(model, x, 4, 8), whole), "the model is itself again"


def test_large_translation_uses_the_whole_images_statistics() -> None:
    """Over ``tile``, translate measures the statistics on a downscaled copy: on a smooth photo-like image
    (upscaled, so the copy keeps its statistics) the tiles come out far closer to the whole-image result than
    tiles with their own statistics (about 30 vs 20 dB here)."""
    model = tiny("ResnetGenerator", image_size=128)
    img = photo(50, 37).resize((300, 222), Image.BICUBIC)
    whole = np.asarray(translate(model, img, tile=300))
    tiled = np.asarray(translate(model, img, tile=128))
    x = torch.from_numpy(np.asarray(img, np.float32) / 255).permute(2, 0, 1)[None] * 2 - 1
    with torch.inference_mode():
        own = run_tiled(model, x, tile=128, overlap=64, multiple=4, min_side=8)
    own = np.round((own[0].clamp(-1, 1) * 0.5 + 0.5).permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    assert psnr_u8(tiled, whole) > psnr_u8(own, whole) + 5
    with pytest.raises(ValueError, match="tile must be a positive whole number"):
        translate(model, img, tile=0)
    with pytest.raises(ValueError, match="tile must be at least 128 pixels, got 8"):
        translate(model, img, tile=8)  # the statistics and the tiles at 8 px: far off, not an answer


def test_a_thin_strip_over_tile_keeps_its_height_for_the_statistics() -> None:
    """A 600x5 strip over ``tile``: its downscaled copy stays 5 px tall, as the tiles see it (a 1 px copy,
    padded, gave statistics of another picture: 18 dB from the whole-image result on a 3000x5 strip)."""
    model = tiny("ResnetGenerator", image_size=128)
    img = photo(60, 5).resize((600, 5), Image.BICUBIC)
    whole = np.asarray(translate(model, img, tile=600))
    tiled = np.asarray(translate(model, img, tile=128))
    assert psnr_u8(tiled, whole) > 30


def test_small_pictures_are_translated_at_the_models_training_size() -> None:
    """A picture under ``image_size`` runs enlarged to it and comes back at its own size: a 4x4 icon does not
    meet a 1x1 bottleneck (it came out white), and the result is what the model makes of the enlarged picture."""
    model = tiny("ResnetGenerator", image_size=64)
    small = photo(24, 13)
    out = translate(model, small)
    assert out.size == (24, 13)
    enlarged = small.resize((64, 35), Image.BICUBIC)
    expected = translate(model, enlarged).resize((24, 13), Image.BOX)
    assert np.abs(np.asarray(out, np.int16) - np.asarray(expected, np.int16)).mean() < 8  # (other resamplers: 3.7)
    at_own_size = translate(tiny("ResnetGenerator", image_size=0), small)  # 0: no enlarging
    assert np.abs(np.asarray(out, np.int16) - np.asarray(at_own_size, np.int16)).mean() > 20  # (30.5)
    assert translate(model, photo(4, 4)).size == (4, 4)


def test_shared_statistics_are_per_thread_and_cleared_on_errors() -> None:
    model = tiny("ResnetGenerator")
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        ref = model(x)
        seen = []
        with pytest.raises(RuntimeError, match="boom"), _image_norm_stats(model, lambda: model(x * 0.5)):
            worker = threading.Thread(target=lambda: seen.append(model(x)))  # another request, same model
            worker.start()
            worker.join()
            raise RuntimeError("boom")
        assert torch.equal(seen[0], ref), "another thread's call uses its own statistics"
        assert torch.equal(model(x), ref) and not any(m._forward_hooks for m in model.modules())


def _group_average(fn, x: torch.Tensor) -> torch.Tensor:
    """The average over the square's 8 symmetries, written with rot90 (not the code's flip/transpose)."""
    outs = []
    for flip in (False, True):
        for r in range(4):
            t = torch.rot90(x.flip(-1) if flip else x, r, (-2, -1))
            y = torch.rot90(fn(t), -r, (-2, -1))
            outs.append(y.flip(-1) if flip else y)
    return torch.stack(outs).mean(0)


def test_self_ensemble_averages_the_transformed_passes() -> None:
    conv = torch.nn.Conv2d(2, 2, 3, padding=1)  # no symmetry: every pass differs
    torch.nn.init.normal_(conv.weight, generator=torch.Generator().manual_seed(1))
    x = torch.rand(1, 2, 12, 20, generator=torch.Generator().manual_seed(0))  # not square
    with torch.inference_mode():
        assert self_ensemble(conv, 1) is conv
        two = self_ensemble(conv, 2)(x)
        assert torch.allclose(two, (conv(x) + conv(x.flip(-1)).flip(-1)) / 2, atol=1e-6)
        four = self_ensemble(conv, 4)(x)
        ref4 = sum(conv(x.flip(d)).flip(d) if d else conv(x) for d in ((), (-1,), (-2,), (-2, -1))) / 4
        assert torch.allclose(four, ref4, atol=1e-6)
        eight = self_ensemble(conv, 8)(x)
        assert eight.shape == x.shape
        assert torch.allclose(eight, _group_average(conv, x), atol=1e-6)
        assert not torch.allclose(eight, conv(x), atol=1e-3)  # it did average something
        pointwise = lambda t: t.square()  # noqa: E731 - commutes with every symmetry: the average is itself
        assert torch.allclose(self_ensemble(pointwise, 8)(x), x.square(), atol=1e-6)
        kept = x.clone()  # a module that returns its input: the sum must not be written into it
        assert torch.allclose(self_ensemble(lambda t: t, 8)(x), kept, atol=1e-6) and torch.equal(x, kept)
    for bad in (0, 3, 16, "8"):
        with pytest.raises(ValueError, match=r"passes must be one of 1, 2, 4, 8"):
            self_ensemble(conv, bad)


def test_denoise_self_ensemble(denoiser) -> None:
    img = photo(45, 37)  # tiles and padding: the transposed passes see a 40x48 input
    one = np.asarray(denoise(denoiser, img, sigma=20), np.float64)
    eight = denoise(denoiser, img, sigma=20, ensemble=8)
    assert eight.size == img.size and eight.info["genrepair_sigma"] == 20
    assert np.abs(np.asarray(eight, np.float64) - one).max() > 0  # a random tiny network is not symmetric
    with torch.inference_mode():
        x = torch.from_numpy(np.asarray(img, np.float32).transpose(2, 0, 1) / 255)[None]
        want = _group_average(lambda t: denoiser(t, 20 / 255), _pad_to(x, denoiser.pad_multiple))[..., :37, :45]
    want = (want[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round()
    assert np.abs(np.asarray(eight, np.float64) - want).max() <= 1
    with pytest.raises(ValueError, match=r"self-ensemble passes must be one of 1, 2, 4, 8, got 3"):
        denoise(denoiser, img, sigma=20, ensemble=3)


def test_translate_mirror_average(cyclegan) -> None:
    assert translate(cyclegan, photo(37, 29), ensemble=2).size == (37, 29)
    img = photo(36, 28)  # on the pad multiple: the mirrored pass is the translation of the mirrored image
    one = np.asarray(translate(cyclegan, img), np.float64)
    two = translate(cyclegan, img, ensemble=2)
    mirrored = np.asarray(translate(cyclegan, img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)), np.float64)[:, ::-1]
    assert np.abs(np.asarray(two, np.float64) - (one + mirrored) / 2).max() <= 1  # each pass rounded once here
    assert np.abs(one - mirrored).max() > 2  # the two passes differ, so the test can tell them apart
    for bad in (4, 8, 0, True, 2.0):
        with pytest.raises(ValueError, match=rf"translate ensemble must be 1 or 2 .*got {bad}"):
            translate(cyclegan, img, ensemble=bad)


def _pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    return torch.nn.functional.pad(x, (0, -w % multiple, 0, -h % multiple), mode="replicate")


# ---------------------------------------------------------------- inpaint


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_inpaint_keeps_pixels_outside_the_mask(mode: str, inpainter) -> None:
    img = photo(61, 47, mode=mode)
    if mode == "RGBA":
        img.putalpha(Image.linear_gradient("L").resize((61, 47)))
    mask = hole(61, 47, (10, 12, 30, 25))
    out = inpaint(inpainter, img, mask)
    keep = np.asarray(mask) == 0
    a, b = np.asarray(out), np.asarray(img)
    assert out.mode == mode
    assert np.array_equal(a[keep], b[keep])
    assert not np.array_equal(a[~keep], b[~keep]), "the hole should be filled with something new"


def test_inpaint_large_image_small_mask_uses_a_crop(inpainter) -> None:
    img = photo(1500, 1000)
    mask = hole(1500, 1000, (700, 400, 740, 430))
    seen = []
    handle = inpainter.register_forward_pre_hook(lambda _, args: seen.append(tuple(args[0].shape[-2:])))
    try:
        out = inpaint(inpainter, img, mask)
    finally:
        handle.remove()
    assert seen == [(512, 512)], "a native-resolution window around the hole, not the whole photo"
    keep = np.asarray(mask) == 0
    assert np.array_equal(np.asarray(out)[keep], np.asarray(img)[keep])


def test_inpaint_holes_far_apart_are_filled_at_full_resolution_one_window_each(inpainter) -> None:
    """Two small holes at opposite corners of a big photo: one window around both would be the whole photo,
    downscaled (a blurred fill). Each is filled in its own native-resolution window, exactly as alone."""
    img = photo(1500, 1000)
    a, b = (60, 50, 100, 90), (1400, 900, 1440, 940)
    both = hole(1500, 1000, a)
    both.paste(255, b)
    seen = []
    handle = inpainter.register_forward_pre_hook(lambda _, args: seen.append(tuple(args[0].shape[-2:])))
    try:
        out = np.asarray(inpaint(inpainter, img, both))
    finally:
        handle.remove()
    assert seen == [(256, 256), (256, 256)]  # native resolution (a small part gets half the usual context)
    for left, top, right, bottom in (a, b):  # each filled as in a picture of just its window
        wt, wl, wh, ww = _crop_box((top, bottom, left, right), (1000, 1500), 512, 256)
        window = img.crop((wl, wt, wl + ww, wt + wh))
        alone = inpaint(inpainter, window, hole(ww, wh, (left - wl, top - wt, right - wl, bottom - wt)))
        assert np.array_equal(out[wt : wt + wh, wl : wl + ww], np.asarray(alone))
    keep = np.asarray(both) == 0
    assert np.array_equal(out[keep], np.asarray(img)[keep])


def _full(parts, shape) -> list[np.ndarray]:
    """Each part of ``_hole_parts`` as a full-size mask."""
    out = []
    for (y0, y1, x0, x1), pixels in parts:
        m = np.zeros(shape, bool)
        m[y0:y1, x0:x1] = pixels
        out.append(m)
    return out


def test_hole_parts_give_native_windows_to_dust_and_scratches_and_keep_blobs_whole() -> None:
    def check(holes: np.ndarray, most: int = 48) -> list[np.ndarray]:
        parts = _full(_hole_parts(holes, 512, most), holes.shape)
        assert np.array_equal(np.logical_or.reduce(parts), holes) and sum(int(p.sum()) for p in parts) == holes.sum()
        return parts

    def extent(part: np.ndarray) -> int:
        ys, xs = np.nonzero(part)
        return max(ys.max() - ys.min(), xs.max() - xs.min()) + 1

    dust = np.zeros((2000, 3000), bool)  # 300 specks over a scan: one window per 256-pixel cell with dust
    dust[30:2000:100, 20:3000:200] = True
    parts = check(dust)
    assert len(parts) == 6 * 4  # 96 of the 256-pixel cells hold dust, over 48: the cells double once
    assert all(extent(p) <= 512 for p in parts)  # windows of at most 1024 pixels: downscaled 2x at most
    scratch = np.zeros((1000, 1500), bool)  # a 1-pixel diagonal scratch 900 pixels long: cut along the cells
    idx = np.arange(50, 950)
    scratch[idx, idx + 200] = True
    parts = check(scratch)
    assert len(parts) >= 4 and all(extent(p) <= 256 for p in parts)
    long = np.zeros((3000, 4000), bool)  # its box crosses 64 cells, it passes through 16: no doubling needed
    idx = np.arange(100, 1900)
    long[idx, idx + 1000] = True
    parts = check(long)
    assert len(parts) <= 48 and all(extent(p) <= 256 for p in parts)
    blob = np.zeros((1000, 1500), bool)  # a thick hole stays whole; a far speck gets its own window
    blob[100:500, 100:500] = True
    blob[900, 1400] = True
    assert sorted(int(p.sum()) for p in check(blob)) == [1, 400 * 400]
    one = np.zeros((1000, 1500), bool)
    one[100:120, 100:130] = True
    one[200:220, 300:330] = True  # one 512-pixel window holds both: a single part, as before parts existed
    assert len(_hole_parts(one, 512)) == 1
    assert len(check(dust, most=10)) <= 10  # the cells grow until the parts are few enough


def test_inpaint_large_mask_downscales_and_keeps_outside(inpainter) -> None:
    img = photo(900, 600)
    mask = hole(900, 600, (50, 50, 850, 550))
    out = inpaint(inpainter, img, mask)
    keep = np.asarray(mask) == 0
    assert np.array_equal(np.asarray(out)[keep], np.asarray(img)[keep])


def test_inpaint_empty_mask_returns_the_input(inpainter) -> None:
    img = photo(40, 30)
    with pytest.warns(UserWarning, match="the mask is empty"):
        out = inpaint(inpainter, img, Image.new("L", (40, 30), 0))
    assert np.array_equal(np.asarray(out), np.asarray(img)) and out.info["genrepair_filled"] == 0
    assert inpaint(inpainter, img, hole(40, 30, (10, 10, 20, 15))).info["genrepair_filled"] == 50


def test_inpaint_fills_a_gray_picture_stored_as_rgb_in_gray(inpainter) -> None:
    img = photo(40, 30).convert("L").convert("RGB")
    img.paste((255, 0, 0), (12, 12, 20, 18))  # a red pen mark, inside the hole: what is to be removed
    out = np.asarray(inpaint(inpainter, img, hole(40, 30, (10, 10, 25, 20))))
    assert (
        out.shape == (30, 40, 3)
        and np.array_equal(out[..., 0], out[..., 1])
        and np.array_equal(out[..., 1], out[..., 2])
    )
    assert not np.array_equal(out, np.asarray(img))
    # a colour JPEG of a gray photo: channels a level apart here and there (the colour fill was tinted up to 9)
    gray = np.asarray(photo(40, 30).convert("L"), int)
    tinted = np.dstack([gray, gray + np.random.default_rng(0).integers(0, 2, gray.shape), gray]).clip(0, 255)
    hole_box = hole(40, 30, (10, 10, 25, 20))
    out = np.asarray(inpaint(inpainter, tinted.astype(np.uint8), hole_box)).astype(int)
    inside = np.asarray(hole_box) > 0
    assert (out.max(2) == out.min(2))[inside].all() and np.array_equal(out[~inside], tinted[~inside])


def test_inpaint_full_mask_is_a_clear_error(inpainter) -> None:
    img = photo(40, 30)
    with pytest.raises(ImageInputError, match="the mask covers the whole image: nothing is left to fill from"):
        inpaint(inpainter, img, Image.new("L", (40, 30), 255))
    almost = Image.new("L", (40, 30), 255)
    almost.putpixel((0, 0), 0)
    out = inpaint(inpainter, img, almost)
    assert out.size == (40, 30) and out.mode == "RGB" and out.getpixel((0, 0)) == img.getpixel((0, 0))


def test_inpaint_mask_from_alpha_and_sketch(inpainter) -> None:
    img = photo(40, 30)
    rgba_mask = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
    rgba_mask.paste((255, 0, 0, 255), (5, 5, 15, 15))
    sketch = Image.new("L", (40, 30), 0)
    sketch.paste(255, (9, 5, 10, 15))
    out = inpaint(inpainter, img, rgba_mask, sketch=sketch)
    keep = np.ones((30, 40), bool)
    keep[5:15, 5:15] = False
    assert np.array_equal(np.asarray(out)[keep], np.asarray(img)[keep])
    assert max_diff(out, inpaint(inpainter, img, rgba_mask)) > 0, "the sketch should change the fill"


def test_inpaint_transparency_hidden_colours_and_an_erased_area(inpainter) -> None:
    """A hole across a cut-out's edge is filled from the visible colours, whatever is hidden under the clear pixels
    (black, as editors store them, darkened a fill by up to 184 levels), and its clear part stays clear; a picture
    whose clear part is the hole (erased, and given as its own mask) gets an opaque fill, not an invisible one."""
    rgba = np.zeros((48, 48, 4), np.uint8)
    rgba[12:36, 12:36] = (200, 60, 40, 255)  # an orange square on a clear background
    mask = Image.fromarray((np.indices((48, 48)).max(0) < 22).astype(np.uint8) * 255)  # over the square's corner
    fills = []
    for hidden in ((0, 0, 0), (255, 255, 255)):
        arr = rgba.copy()
        arr[arr[..., 3] == 0, :3] = hidden
        out = np.asarray(inpaint(inpainter, Image.fromarray(arr), mask))
        assert np.array_equal(out[..., 3], rgba[..., 3]), "the clear part of the hole stays clear"
        fills.append(out[(np.asarray(mask) > 0) & (rgba[..., 3] > 0)])
    assert np.array_equal(fills[0][:, :3], fills[1][:, :3])
    erased = np.dstack([photo(48, 48), np.full((48, 48), 255, np.uint8)])
    erased[10:30, 12:32] = 0
    out = np.asarray(inpaint(inpainter, Image.fromarray(erased), Image.fromarray(erased)))  # its alpha: the mask
    assert (out[10:30, 12:32, 3] == 255).all()
    assert np.array_equal(out[..., 3][erased[..., 3] > 0], erased[..., 3][erased[..., 3] > 0])


class _MaskEcho(torch.nn.Module):
    """An inpainter that paints half of white where the hole is and the other half where the strokes are."""

    def forward(self, x, hole, strokes):
        return (0.5 * hole + 0.5 * strokes).expand(-1, 3, -1, -1)


def test_inpaint_self_ensemble_moves_the_mask_and_sketch_with_the_image(inpainter) -> None:
    img = photo(48, 40)  # on the pad multiple, not square: the transposed passes see 40x48
    mask, sketch = hole(48, 40, (5, 3, 30, 21)), hole(48, 40, (9, 4, 11, 20))
    in_hole = np.asarray(mask) > 0
    for passes in (1, 2, 4, 8):  # every pass must see the hole and strokes where its flipped image has them
        out = np.asarray(inpaint(_MaskEcho(), img, mask, sketch, ensemble=passes)).astype(int)
        want = np.where(np.asarray(sketch) > 0, 255, 128)
        assert np.abs(out[in_hole] - want[in_hole][:, None]).max() <= 1, passes
        assert np.array_equal(out[~in_hole], np.asarray(img)[~in_hole])
    eight = np.asarray(inpaint(inpainter, img, mask, ensemble=8), np.float64)
    with torch.inference_mode():
        x = torch.from_numpy(np.asarray(img, np.float32).transpose(2, 0, 1) / 255)[None]
        m = torch.from_numpy(in_hole.astype(np.float32))[None, None]
        both = torch.cat([x, m, torch.zeros_like(m)], 1)
        want = _group_average(lambda t: inpainter(t[:, :3], t[:, 3:4], t[:, 4:5]), both)
    want = (want[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round()
    assert np.abs(eight - want)[in_hole].max() <= 1  # the average over the square's 8 symmetries
    assert np.abs(eight - np.asarray(inpaint(inpainter, img, mask), np.float64)).max() > 0
    for bad in (3, True, 2.0, "8"):
        with pytest.raises(ValueError, match=r"self-ensemble passes must be one of 1, 2, 4, 8, got"):
            inpaint(inpainter, img, mask, ensemble=bad)


def test_mask_of_the_image_shape_at_another_scale_is_scaled(inpainter) -> None:
    """A mask painted on a preview (half or a third of the size, to a pixel) fills the same hole: shrunk, a
    pixel partly in the hole is in it; enlarged, where at least half is."""
    from genrepair.pipelines import fit_mask

    img, full = photo(60, 42), hole(60, 42, (12, 6, 30, 24))
    want = np.asarray(inpaint(inpainter, img, full))
    half = hole(30, 21, (6, 3, 15, 12))
    assert np.array_equal(np.asarray(inpaint(inpainter, img, half)), want)
    assert np.array_equal(np.asarray(inpaint(inpainter, img, full, sketch=hole(30, 21, (6, 3, 8, 12)))),
                          np.asarray(inpaint(inpainter, img, full, sketch=hole(60, 42, (12, 6, 16, 24)))))  # fmt: skip
    dot = np.zeros((42, 60), bool)
    dot[20, 31] = True  # one pixel: shrunk to a third it is still there
    assert fit_mask(dot, (20, 14)).sum() == 1 and fit_mask(dot, (20, 14))[6, 10]
    assert fit_mask(fit_mask(dot, (20, 14)), (60, 42)).sum() == 9  # and enlarged, its 3x3 block
    for preview, full in (((1024, 683), (6000, 4000)), ((512, 341), (5472, 3648)), ((75, 113), (3000, 4500))):
        stroke = np.zeros(preview[::-1], bool)
        stroke[:, preview[0] // 2] = True  # one pixel wide, top to bottom: never lost
        scaled = fit_mask(stroke, full)
        assert scaled.shape == full[::-1] and scaled.any(1).all(), (preview, full)
    for other, size in (((999, 1000), (1000, 999)), ((290, 100), (2, 2)), ((2, 100), (1, 100)), ((64, 33), (64, 64))):
        with pytest.raises(ImageInputError, match="they must match"):  # transposed, or another shape
            fit_mask(np.ones(other[::-1], bool), size)


@pytest.mark.parametrize("which", ["mask", "sketch"])
def test_inpaint_size_mismatch_raises(which: str, inpainter) -> None:
    img = photo(40, 30)
    good, bad = hole(40, 30, (1, 1, 5, 5)), hole(30, 40, (1, 1, 5, 5))
    kwargs = {"mask": bad} if which == "mask" else {"mask": good, "sketch": bad}
    with pytest.raises(ImageInputError, match=f"{which} is 30x40 but the image is 40x30; they must match"):
        inpaint(inpainter, img, **kwargs)


# ---------------------------------------------------------------- denoise


@pytest.mark.parametrize("sigma", [-1, 75.5, 500, float("nan"), float("inf")])
def test_denoise_sigma_out_of_range(sigma, denoiser) -> None:
    with pytest.raises(ValueError, match=r"sigma must be between 0 and 75 \(0-255 scale\)"):
        denoise(denoiser, photo(16, 16), sigma=sigma)


def test_denoise_sigma_not_a_number(denoiser) -> None:
    with pytest.raises(ValueError, match="sigma must be a number .* or 'auto', got 'abc'"):
        denoise(denoiser, photo(16, 16), sigma="abc")


def test_denoise_sigma_bounds_are_inclusive(denoiser) -> None:
    for sigma in (0, 75, "75", "auto", None, " Auto ", " 15 "):
        assert denoise(denoiser, photo(16, 16), sigma=sigma).size == (16, 16)
    assert str(denoise(denoiser, photo(16, 16), sigma=-0.0).info["genrepair_sigma"]) == "0.0"  # not -0.0


def textured(seed: int = 0, h: int = 192, w: int = 224) -> np.ndarray:
    """Mid-grey texture (stripes, blobs, edges) that stays away from 0 and 1 so noise is not clipped."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = (
        0.5 + 0.08 * np.sin(xx / 7) * np.cos(yy / 11) + 0.04 * np.sin((xx + yy) / 3) + 0.03 * np.sign(np.sin(xx / 13))
    )
    return np.stack([base, base[::-1], base[:, ::-1]], 2)


@pytest.mark.parametrize("sigma", [15, 25, 50])
def test_noise_level_estimate(sigma: int) -> None:
    clean = textured()
    noisy = clean + np.random.default_rng(sigma).normal(0, sigma / 255, clean.shape)
    assert abs(estimate_noise_level(noisy) - sigma) < 1.0
    assert estimate_noise_level(clean) < 1.0


def test_fine_gray_texture_is_not_read_as_noise() -> None:
    """One channel has no colour to tell noise from texture by: the weak-texture patches (Liu et al.) are read, so
    fine grain beside a smooth area reads clean (it read 13), and noise on it still reads right."""
    yy, xx = np.mgrid[0:256, 0:256] / 256
    rng = np.random.default_rng(0)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (256, 256)), (0, 0), 0.7)
    clean = np.round(np.clip(np.where(xx < 0.5, 0.5 + 0.2 * grain / grain.std(), 0.3 + 0.4 * yy), 0, 1) * 255) / 255
    assert estimate_noise_level(clean) < 1.0
    for sigma in (5, 15, 25):
        noisy = np.clip(clean + rng.normal(0, sigma / 255, clean.shape), 0, 1)
        assert abs(estimate_noise_level(noisy) - sigma) < 0.1 * sigma + 0.5


@pytest.mark.parametrize("sigma", [5, 15, 25])
def test_noise_shared_by_the_channels_is_measured(sigma: int) -> None:
    """Noise in luma alone (a camera's after its colour noise reduction, a toned black-and-white photo) is
    invisible to the joint estimate of the three channels (sigma 25 read 2): the mean of the channels is read
    too, and its sigma, times sqrt(3), is the level a color model needs for it."""
    clean = textured()
    rng = np.random.default_rng(sigma)
    shared = clean + rng.normal(0, sigma / 255, clean.shape[:2])[..., None]
    assert estimate_noise_level(shared, luma=False) < 0.3 * sigma, "premise: the joint estimate misses it"
    assert abs(estimate_noise_level(shared, luma=True) - sigma * np.sqrt(3)) < 0.1 * sigma * np.sqrt(3)
    independent = clean + rng.normal(0, sigma / 255, clean.shape)
    assert abs(estimate_noise_level(independent, luma=True) - sigma) < 1.0  # the joint reading stands


def test_shared_grain_is_suggested_not_used(denoiser) -> None:
    """Automatic mode reports grain the channels share as a suggestion (``genrepair_sigma_shared``) and keeps the
    joint reading as the level used; independent noise, a hand-set sigma and a gray picture get no suggestion."""
    clean = textured()
    rng = np.random.default_rng(3)
    grainy = clean + rng.normal(0, 15 / 255, clean.shape[:2])[..., None]
    out = denoise(denoiser, Image.fromarray(_u8(grainy)), sigma="auto")
    assert out.info["genrepair_sigma"] < 5, "premise: the automatic level misses shared grain"
    assert abs(out.info["genrepair_sigma_shared"] - 15 * np.sqrt(3)) < 3
    assert "genrepair_sigma_shared" not in denoise(denoiser, Image.fromarray(_u8(grainy)), sigma=10).info
    independent = _u8(clean + rng.normal(0, 15 / 255, clean.shape))
    out = denoise(denoiser, Image.fromarray(independent), sigma="auto")
    assert abs(out.info["genrepair_sigma"] - 15) < 2 and "genrepair_sigma_shared" not in out.info
    gray = Image.fromarray(_u8(grainy[..., 0]))
    assert "genrepair_sigma_shared" not in denoise(denoiser, gray, sigma="auto").info
    assert "genrepair_sigma_shared" not in denoise(denoiser, Image.fromarray(_u8(clean)), sigma="auto").info
    blind = denoise(identity_denoiser(), Image.fromarray(_u8(grainy)), sigma="auto")  # takes no level to suggest
    assert "genrepair_sigma_shared" not in blind.info


def _u8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def test_nearly_gray_picture_is_denoised_as_gray(tmp_path: Path) -> None:
    """A gray photo whose channels differ by a level (a colour JPEG of one, a faint tone) is gray to the noise
    estimate, so it is denoised as gray too: one channel for the model (three equal ones at sqrt(3) the level
    for a color model), the small differences between the channels put back."""
    seen = []

    class Spy(torch.nn.Module):
        in_nc, sigma_max, pad_multiple = 3, 75.0, 8

        def forward(self, x: torch.Tensor, level) -> torch.Tensor:
            seen.append((x.clone(), float(level)))
            return x

    gray = np.round(np.clip(textured()[..., 0] + np.random.default_rng(1).normal(0, 15 / 255, (192, 224)), 0, 1) * 255)
    rgb = np.repeat(gray[..., None], 3, 2).astype(np.uint8)
    rgb[::2, :, 2] = np.clip(rgb[::2, :, 2].astype(int) + 1, 0, 255)  # blue a level up on every other row
    out = denoise(Spy().eval(), Image.fromarray(rgb), sigma=15)
    x, level = seen[0]
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2])
    assert level == pytest.approx(15 * np.sqrt(3) / 255)
    assert np.array_equal(np.asarray(out), rgb)  # an identity model gives the picture back, its tint included
    hidden = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    hidden[:40, :40] = (255, 0, 0, 0)  # red under full transparency: not part of the picture
    assert looks_gray(Image.fromarray(hidden)) and not looks_gray(Image.fromarray(hidden[..., :3].copy()))


@pytest.mark.parametrize("shape", [(12, 12, 3), (16, 16, 3), (24, 24, 3), (48, 48, 3), (16, 16, 1), (6, 200, 3)])
def test_noise_estimate_on_small_and_thin_images(shape: tuple[int, int, int]) -> None:
    """Too few patches for the covariance of all channels read low (sigma 25: 14 at 24 px colour) or 0 (16 px,
    or under 7 px a side); each channel's patches, with a smaller patch, are samples enough."""
    clean = textured(h=shape[0], w=shape[1])[..., : shape[2]]
    for sigma in (15, 25, 50):  # a few hundred pixels: single readings spread by 10-20%
        rngs = [np.random.default_rng(seed) for seed in range(8)]
        reads = np.array([estimate_noise_level(clean + r.normal(0, sigma / 255, clean.shape)) for r in rngs])
        assert abs(reads.mean() - sigma) < 0.08 * sigma and (abs(reads - sigma) < 0.3 * sigma).all(), (shape, reads)
    assert estimate_noise_level(clean) < 3.0


def test_too_small_to_estimate_is_said(denoiser) -> None:
    from genrepair.noise import measurable

    rng = np.random.default_rng(0)
    assert measurable(rng.random((8, 8, 3))) and not measurable(rng.random((8, 8, 1)))
    assert not measurable(np.zeros((8, 8, 3), np.uint8))  # three equal channels are gray
    assert not measurable(rng.random((3000, 2, 3))) and measurable(rng.random((12, 12)))
    tiny = Image.fromarray(np.random.default_rng(0).integers(0, 255, (5, 5, 3), np.uint8))
    out = denoise(denoiser, tiny, sigma="auto")
    assert out.info["genrepair_sigma"] == 0 and out.info["genrepair_sigma_unmeasured"]
    assert "genrepair_sigma_unmeasured" not in denoise(denoiser, photo(16, 16), sigma="auto").info


@pytest.mark.parametrize("lo, hi", [(0.0, 0.6), (0.4, 1.0)])
def test_noise_estimate_sees_through_clipping(lo: float, hi: float) -> None:
    """Noise clipped at black or white (an 8-bit file of a noisy photo) has less spread there: sigma 50 on a
    photo running into shadow read 44.7 (highlights 44.6) and the denoiser then left noise behind. The
    estimate is corrected for the share of the noise clipping took; unclipped and clean images read as before."""
    clean = textured() - 0.5 + np.linspace(lo, hi, 224)[None, :, None]
    noisy = clean + np.random.default_rng(50).normal(0, 50 / 255, clean.shape)
    as_u8 = np.round(np.clip(noisy, 0, 1) * 255).astype(np.uint8)
    assert abs(estimate_noise_level(as_u8) - 50) < 2.0
    assert abs(estimate_noise_level(noisy) - 50) < 1.0  # no exact 0 or 1: the plain estimate
    assert estimate_noise_level(np.clip(clean, 0, 1)) < 1.0  # clipped clean pixels are not noise


def test_jpeg_noise_estimate_sees_through_clipping() -> None:
    """The same for noisy JPEGs from quality JPEG_UNCLIP_FROM up: a dark photo's file read 23.6 at quality 90 for
    sigma 25; below that quality (the table's sigma already runs high) and without clipping nothing changes."""
    from unittest import mock

    from genrepair import noise

    def read(clean: np.ndarray, quality: int, sigma: float = 25) -> tuple[float, float]:
        noisy = clean + np.random.default_rng(25).normal(0, sigma / 255, clean.shape)
        buf = io.BytesIO()
        Image.fromarray(np.round(np.clip(noisy, 0, 1) * 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
        img = Image.open(io.BytesIO(buf.getvalue()))
        pixels = np.asarray(img.convert("RGB")) / 255.0
        with mock.patch.object(noise, "_clipped", lambda *a, **k: False):  # as before the correction
            before = estimate_noise_level(pixels, jpeg=noise.jpeg_source(img))
        return before, estimate_noise_level(pixels, jpeg=noise.jpeg_source(img))

    dark = textured() - 0.5 + np.linspace(0.0, 0.4, 224)[None, :, None]
    before, after = read(dark, 90)
    assert before < 24 and abs(after - 25) < 1.5
    assert read(dark, 50)[0] == read(dark, 50)[1]  # under JPEG_UNCLIP_FROM
    mid = textured() - 0.5 + np.linspace(0.3, 0.7, 224)[None, :, None]
    assert read(mid, 90)[0] == read(mid, 90)[1]  # no value at 0 or 1
    assert read(np.clip(dark, 0, 1), 90, sigma=0)[1] < 2  # a clean dark file stays clean


def test_noise_estimate_leaves_out_flat_and_invalid_patches() -> None:
    """Letterbox bars, a transparent background's colour or clipped highlights hold no noise: they pulled the
    estimate down (a cut-out on transparent black read 14 for sigma 25 noise); garbage outside ``valid`` pushed it
    up (62 for random hidden colours)."""
    clean = textured()
    noisy = clean + np.random.default_rng(7).normal(0, 25 / 255, clean.shape)
    bars = noisy.copy()
    bars[:, :40] = bars[:, -40:] = 0.0  # 40% of the picture
    assert abs(estimate_noise_level(bars) - 25) < 1.5
    garbage = noisy.copy()
    garbage[:, :60] = np.random.default_rng(8).random((garbage.shape[0], 60, 3))
    valid = np.ones(garbage.shape[:2], bool)
    valid[:, :60] = False
    assert estimate_noise_level(garbage) > 40  # the check can tell
    assert abs(estimate_noise_level(garbage, valid=valid) - 25) < 1.5
    assert estimate_noise_level(np.zeros((40, 40, 3))) == 0.0  # all flat: all patches, as before
    with pytest.raises(ValueError, match=r"valid is \(3, 3\) but the pixels are"):
        estimate_noise_level(noisy, valid=np.ones((3, 3), bool))
    small = np.zeros_like(valid)  # a small visible part, mostly flat: the visible patches, flat or not, come
    small[:40, 60:100] = True  # before all of them (the hidden garbage)
    garbage[:40, 60:90] = 0.0
    assert estimate_noise_level(garbage, valid=small) < 30


def test_pipelines_take_a_module_that_still_has_gradients() -> None:
    """A user's own module, straight from training (parameters that require grad): every pipeline runs under
    inference mode, so none needs ``requires_grad_(False)`` first."""
    img = photo(24, 16, mode="RGBA")
    for name, run in {
        "NoiseCondUNet": lambda m: denoise(m, img, sigma=15),
        "ResnetGenerator": lambda m: translate(m, img),
        "InpaintNet": lambda m: inpaint(m, img, hole(24, 16, (4, 4, 12, 12))),
    }.items():
        model = tiny(name).requires_grad_(True)
        assert run(model).size == (24, 16), name


def test_denoise_of_a_cut_out_ignores_the_hidden_colours(denoiser) -> None:
    """Colours under full transparency are not part of the picture: they do not change the estimate or the
    visible result (they bled into its edges), and they are written back as they were."""
    for content in ("colour", "gray"):  # a gray picture's estimate once read 0 behind magenta
        clean = textured() if content == "colour" else np.repeat(textured()[..., :1], 3, 2)
        noise = np.random.default_rng(3).normal(0, 25 / 255, clean.shape[:2] + ((3,) if content == "colour" else (1,)))
        rgb = (np.clip(clean + noise, 0, 1) * 255 + 0.5).astype(np.uint8)
        yy, xx = np.mgrid[: rgb.shape[0], : rgb.shape[1]]
        shown = (yy - rgb.shape[0] / 2) ** 2 + (xx - rgb.shape[1] / 2) ** 2 < (rgb.shape[0] / 3) ** 2
        outs = []
        for hidden in ((0, 0, 0), (255, 0, 255)):
            arr = np.dstack([np.where(shown[..., None], rgb, np.uint8(hidden)), shown * np.uint8(255)])
            out = denoise(denoiser, Image.fromarray(arr))
            assert abs(out.info["genrepair_sigma"] - 25) < 2.0, (content, hidden)
            res = np.asarray(out)
            assert np.array_equal(res[~shown], arr[~shown]) and np.array_equal(res[..., 3], arr[..., 3])
            outs.append(res[shown])
        assert np.array_equal(outs[0], outs[1]), content
    clear = np.dstack([rgb, np.zeros(rgb.shape[:2], np.uint8)])  # nothing shows: nothing to measure
    out = denoise(denoiser, Image.fromarray(clear))
    assert out.info["genrepair_sigma"] == 0 and np.array_equal(np.asarray(out), clear)


def test_nothing_to_remove_gives_the_picture_back(denoiser) -> None:
    """At sigma 0, or an automatic reading under one level, the denoisers are no identity (a clean 64 px screenshot
    came back 33 dB from itself, its text blurred): the picture comes back as it is. Noise of sigma 3 is removed."""
    clean = (np.clip(textured(h=96, w=112), 0, 1) * 255 + 0.5).astype(np.uint8)  # only rounding's noise
    cut_out = np.dstack([clean, np.full(clean.shape[:2], 255, np.uint8)])
    cut_out[:20, :, 3] = 0
    for arr in (clean, cut_out, clean[..., 0]):
        for sigma in (0, "auto"):
            out = denoise(denoiser, Image.fromarray(arr), sigma=sigma)
            assert out.info["genrepair_unchanged"] and out.info["genrepair_sigma"] < 1, (arr.shape, sigma)
            assert np.array_equal(np.asarray(out), arr) and out.mode == Image.fromarray(arr).mode
    assert "genrepair_unchanged" not in denoise(denoiser, Image.fromarray(clean), sigma=0.5).info  # asked for
    assert "genrepair_unchanged" not in denoise(identity_denoiser(), Image.fromarray(clean), sigma=0).info  # blind
    noisy = np.clip(np.round(clean + np.random.default_rng(0).normal(0, 3, clean.shape)), 0, 255).astype(np.uint8)
    out = denoise(denoiser, Image.fromarray(noisy), sigma="auto")
    assert "genrepair_unchanged" not in out.info and 2 < out.info["genrepair_sigma"] < 4
    assert not np.array_equal(np.asarray(out), noisy)


@pytest.mark.parametrize("sigma", [15, 25])
def test_denoise_auto_reports_the_estimate(sigma: int, denoiser) -> None:
    clean = textured()
    noisy = np.clip(clean + np.random.default_rng(sigma).normal(0, sigma / 255, clean.shape), 0, 1)
    img = Image.fromarray((noisy * 255 + 0.5).astype(np.uint8))
    out = denoise(denoiser, img, sigma="auto")
    assert abs(out.info["genrepair_sigma"] - sigma) < 1.0
    assert denoise(denoiser, img, sigma=30).info["genrepair_sigma"] == 30


@pytest.mark.parametrize("quality", [50, 75, 90])
def test_auto_sigma_survives_jpeg(quality: int, denoiser, tmp_path: Path) -> None:
    """JPEG quantization hides high-frequency noise (and most colour noise) from the joint estimate of the
    three channels; files read as JPEG get the JPEG-aware estimate (the calibrated table below quality 90, the
    curve rule from 90); the same pixels as PNG get the plain estimate, which misses it (the luma reading, off by
    default, would find it); and a clean JPEG of a photo with flat areas gets a small sigma (the table's best-PSNR choice for a
    clean low-quality file is a little deblocking, not 0)."""
    clean = textured(h=384, w=448)
    clean[:, 224:] = (0.55, 0.5, 0.45)  # a flat area, like sky or a wall
    noisy = np.clip(clean + np.random.default_rng(3).normal(0, 25 / 255, clean.shape), 0, 1)
    Image.fromarray((noisy * 255 + 0.5).astype(np.uint8)).save(tmp_path / "noisy.jpg", quality=quality)
    decoded = np.asarray(Image.open(tmp_path / "noisy.jpg").convert("RGB"), np.float64) / 255
    assert estimate_noise_level(decoded, luma=False) < 10, "premise: the joint estimate collapses on JPEG"
    used = denoise(denoiser, tmp_path / "noisy.jpg", sigma="auto").info["genrepair_sigma"]
    assert 20 < used < 40, "sigma 25 noise: about the added sigma, somewhat above for JPEG artifacts"
    Image.fromarray((decoded * 255 + 0.5).astype(np.uint8)).save(tmp_path / "same.png")
    assert denoise(denoiser, tmp_path / "same.png", sigma="auto").info["genrepair_sigma"] < 10
    Image.fromarray((clean * 255 + 0.5).astype(np.uint8)).save(tmp_path / "clean.jpg", quality=quality)
    assert denoise(denoiser, tmp_path / "clean.jpg", sigma="auto").info["genrepair_sigma"] < 8, "noise-free JPEG"


@pytest.mark.parametrize("quality", [20, 50, 75, 90, 95, 100])
def test_jpeg_quality_is_read_from_the_quantization_table(quality: int, tmp_path: Path) -> None:
    Image.fromarray((textured() * 255).astype(np.uint8)).save(tmp_path / "q.jpg", quality=quality)
    assert abs(jpeg_quality(Image.open(tmp_path / "q.jpg")) - quality) <= 1
    Image.fromarray((textured() * 255).astype(np.uint8)).save(tmp_path / "q.png")
    assert jpeg_quality(Image.open(tmp_path / "q.png")) is None


def test_jpeg_sigma_inverts_the_calibration_curves() -> None:
    for q, curve in JPEG_CURVES.items():
        sigmas = [jpeg_sigma(b, q) for b in np.linspace(0, 60, 121)]
        assert np.all(np.diff(sigmas) >= 0), f"quality {q}: not monotone"
        for b, sigma in zip(curve, JPEG_SIGMAS):
            clear = b >= curve[0] + JPEG_CLEAN_MARGIN + 2  # well above what clean photos read
            if clear and b == max(curve[: JPEG_SIGMAS.index(sigma) + 1]):  # where the curve rises
                gentle = np.sqrt(b**2 - JPEG_FLOOR**2) / JPEG_SCALE  # the quality-blind correction, a lower bound
                assert sigma - 0.5 < jpeg_sigma(b, q) <= max(sigma + 0.5, gentle + 1e-6)
    # between calibrated qualities the answer lies between theirs
    ends = sorted([jpeg_sigma(15.0, 75), jpeg_sigma(15.0, 80)])
    assert ends[0] < jpeg_sigma(15.0, 78) < ends[1]


def test_block_ac_level_reads_noise_in_flat_blocks() -> None:
    """Flat blocks have no AC energy; white noise gives a level proportional to sigma (luma noise is
    0.668 sigma for independent channels); gray and RGB images with equal channels agree."""
    flat = np.full((256, 256, 3), 0.5)
    assert block_ac_level(flat) < 1e-3  # zero up to float32 rounding
    rng = np.random.default_rng(0)
    levels = [block_ac_level(flat + rng.normal(0, s / 255, flat.shape)) for s in (10, 20, 40)]
    assert 0 < levels[0] < levels[1] < levels[2]
    assert levels[1] / levels[0] == pytest.approx(2, rel=0.1) and levels[2] / levels[1] == pytest.approx(2, rel=0.1)
    # absolute scale (the table depends on it): luma noise 0.668 sigma; the 5th percentile of the RMS of 5
    # standard normals is sqrt(chi2_5(0.05) / 5) = 0.479
    assert levels[1] == pytest.approx(0.668 * 0.479 * 20, rel=0.08)
    gray = flat[..., 0] + rng.normal(0, 20 / 255, flat.shape[:2])
    assert block_ac_level(gray) == pytest.approx(block_ac_level(np.repeat(gray[..., None], 3, 2)), rel=1e-5)
    assert block_ac_level(gray[..., None]) == block_ac_level(gray)
    assert block_ac_level(np.zeros((7, 300, 3))) == 0.0  # no whole 8x8 block


def test_jpeg_table_is_read_at_its_knots_and_between_qualities() -> None:
    import json

    from genrepair.noise import JPEG_TABLE

    t = json.loads(JPEG_TABLE.read_text())
    assert t["qualities"] == sorted(t["qualities"]) and t["qualities"][0] <= 50 and t["qualities"][-1] >= 90
    grid = np.asarray(t["sigma"], np.float64)
    assert grid.shape == (len(t["qualities"]), len(t["u"]), len(t["v"]))
    assert np.all((grid >= 0) & (grid <= 75))
    for qi, q in enumerate(t["qualities"]):
        for i, j in ((0, 0), (3, 5), (len(t["u"]) - 1, len(t["v"]) - 1)):
            binned, block = np.exp(t["u"][i]), np.expm1(t["v"][j])
            assert jpeg_table_sigma(binned, block, q) == pytest.approx(grid[qi, i, j], abs=1e-6)
    lo, hi = t["qualities"][0], t["qualities"][1]
    ends = sorted(jpeg_table_sigma(8.0, 6.0, q) for q in (lo, hi))
    assert ends[0] - 1e-9 <= jpeg_table_sigma(8.0, 6.0, (lo + hi) / 2) <= ends[1] + 1e-9
    # outside the measured qualities and measurements the nearest edge of the table is used
    assert jpeg_table_sigma(8.0, 6.0, 10) == jpeg_table_sigma(8.0, 6.0, lo)
    assert jpeg_table_sigma(1e4, 1e4, 100) == pytest.approx(grid[-1, -1, -1])
    assert jpeg_table_sigma(8.0, 6.0, None) == jpeg_table_sigma(8.0, 6.0, 90)  # quality unknown


def test_jpeg_file_sigma_uses_the_table_below_85_and_the_curve_rule_from_90() -> None:
    from genrepair.noise import jpeg_file_sigma

    for binned in (3.0, 12.0, 40.0):
        for q in (50, 85):
            for table in (0.0, 18.0):
                assert jpeg_file_sigma(table, binned, q) == pytest.approx(max(table, jpeg_curve_floor(binned, q)))
        for q in (90, 95, 100):
            assert jpeg_file_sigma(18.0, binned, q) == pytest.approx(jpeg_sigma(binned, q))
        mid = 0.5 * (max(18.0, jpeg_curve_floor(binned, 87.5)) + jpeg_sigma(binned, 87.5))
        assert jpeg_file_sigma(18.0, binned, 87.5) == pytest.approx(mid)
        assert jpeg_file_sigma(18.0, binned, None) == jpeg_file_sigma(18.0, binned, 90)  # quality unknown


def test_exif_rotated_jpeg_gets_the_same_auto_sigma(tmp_path: Path, denoiser) -> None:
    """The JPEG measurements use the blocks as stored: an EXIF rotation of a file whose sides are not
    multiples of 8 must not move them (the same stored pixels with and without an Orientation tag)."""
    clean = textured(h=301, w=389)
    clean[:, 200:] = (0.55, 0.5, 0.45)
    Image.fromarray((clean * 255 + 0.5).astype(np.uint8)).save(tmp_path / "plain.jpg", quality=60)
    stored = Image.open(tmp_path / "plain.jpg")
    for orientation in (3, 6, 8):
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored.save(tmp_path / f"rot{orientation}.jpg", exif=exif, quality=60)
        plain = denoise(denoiser, tmp_path / "plain.jpg", sigma="auto").info["genrepair_sigma"]
        rotated = denoise(denoiser, tmp_path / f"rot{orientation}.jpg", sigma="auto").info["genrepair_sigma"]
        assert rotated == pytest.approx(plain, abs=0.5)


@pytest.mark.parametrize("quality", [50, 90])
def test_gray_jpeg_and_gray_stored_as_rgb_get_the_plain_estimate(quality: int, denoiser, tmp_path: Path) -> None:
    """The JPEG curves and table were measured on color files; on gray ones they read sigma 55-75. Gray
    JPEGs get the plain estimate, and three equal channels are estimated as one (they made it read 0)."""
    gray = textured(h=256, w=320)[..., :1].copy()
    gray[:, 160:] = 0.5
    noisy = np.clip(gray + np.random.default_rng(5).normal(0, 25 / 255, gray.shape), 0, 1)
    u8 = (noisy[..., 0] * 255 + 0.5).astype(np.uint8)
    one = estimate_noise_level(u8[..., None] / 255.0)
    assert abs(one - 25) < 2
    assert estimate_noise_level(np.repeat(u8[..., None], 3, 2) / 255.0) == pytest.approx(one)
    Image.fromarray(u8).save(tmp_path / "gray.jpg", quality=quality)
    used = denoise(denoiser, tmp_path / "gray.jpg", sigma="auto").info["genrepair_sigma"]
    decoded = np.asarray(Image.open(tmp_path / "gray.jpg"), np.float64)[..., None] / 255
    file_quality = jpeg_quality(Image.open(tmp_path / "gray.jpg"))  # below 70: no weak-texture reading
    assert used == pytest.approx(estimate_noise_level(decoded, jpeg=file_quality)) and used < 40
    Image.fromarray(u8).convert("RGB").save(tmp_path / "gray_rgb.jpg", quality=quality)
    assert denoise(denoiser, tmp_path / "gray_rgb.jpg", sigma="auto").info["genrepair_sigma"] == pytest.approx(
        used, abs=1
    )


def test_tiny_jpeg_skips_the_table(tmp_path: Path, denoiser) -> None:
    """Under 28 px a side the binned estimate cannot be measured: a flat tiny JPEG reads about 0, not the
    table's corner cell."""
    Image.new("RGB", (20, 30), (120, 110, 100)).save(tmp_path / "tiny.jpg", quality=50)
    assert denoise(denoiser, tmp_path / "tiny.jpg", sigma="auto").info["genrepair_sigma"] < 1


def test_jpeg_curve_floor_is_zero_where_clean_photos_read() -> None:
    for q, curve in JPEG_CURVES.items():
        assert jpeg_curve_floor(curve[0] + JPEG_CLEAN_MARGIN, q) < 1e-9
        high = curve[-1]  # sigma 75: far above the clean margin, the curve's inverse
        assert jpeg_curve_floor(high, q) == pytest.approx(jpeg_sigma(high, q))


def test_noise_estimate_on_a_big_image_is_bounded() -> None:
    """Patches are sampled before they are copied (copying all 7x7x3 patches of this 0.8 MP image
    first took ~1 GB; of a 12 MP photo, ~14 GB)."""
    import tracemalloc

    img = np.full((800, 1000, 3), 0.5, np.float32)
    tracemalloc.start()
    estimate_noise_level(img)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 250e6, f"{peak / 1e6:.0f} MB"


def test_gray_model_on_color_image_and_color_model_on_gray() -> None:
    gray_model = tiny("DnCNN", nb=2, nc=4)
    with torch.no_grad():
        gray_model.model[-1].weight.zero_()
        gray_model.model[-1].bias.zero_()
    img = photo(20, 12)
    assert np.array_equal(np.asarray(denoise(gray_model, img, sigma=5)), np.asarray(img))
    gray = img.convert("L")
    assert np.array_equal(np.asarray(denoise(identity_denoiser(), gray, sigma=5)), np.asarray(gray))


# ---------------------------------------------------------------- generate and interpolate


@pytest.fixture(scope="module")
def gan() -> torch.nn.Module:
    return tiny("CondGenerator")


@pytest.fixture(scope="module")
def vae() -> torch.nn.Module:
    return tiny("ConvVAE")


def same(a: list[Image.Image], b: list[Image.Image]) -> bool:
    return len(a) == len(b) and all(max_diff(x, y) <= 1 for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("which", ["gan", "dcgan", "vae", "classic"])
def test_generate_is_reproducible(which: str, gan, vae) -> None:
    model = {"gan": gan, "vae": vae, "classic": ClassicGenerator("noise")}.get(which) or tiny("DCGANGenerator")
    a, b, c = generate(model, 4, seed=7), generate(model, 4, seed=7), generate(model, 4, seed=8)
    assert len(a) == 4 and all(im.size == (a[0].width, a[0].width) and im.mode == "RGB" for im in a)
    assert same(a, b)
    assert not same(a, c)
    assert not same(a[:1], a[1:2]), "samples within a batch should differ"


@pytest.mark.parametrize("which", ["gan", "vae"])
def test_a_seed_gives_the_same_images_whatever_n(which: str, gan, vae) -> None:
    """Image i of seed s is image 0 of seed s + i, as for the classic generators (with a random label too):
    asking for more images adds images and changes none."""
    model = {"gan": gan, "vae": vae}[which]
    six = generate(model, 6, seed=3)
    assert same(generate(model, 2, seed=3), six[:2])
    assert all(same(generate(model, 1, seed=3 + i), six[i : i + 1]) for i in range(6))
    assert same(interpolate(model, 5, 9, steps=3)[:1], generate(model, 1, seed=5))


@pytest.mark.parametrize("n", [0, -1, 257])
def test_generate_n_out_of_range(n: int, gan) -> None:
    with pytest.raises(ValueError, match=rf"n must be between 1 and 256 \(a whole number\), got {n}"):
        generate(gan, n)


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, True, "7"])
def test_seeds_are_whole_numbers_a_generator_can_take(seed, gan) -> None:
    with pytest.raises(ValueError, match=f"seed must be a whole number from 0 to {2**63 - 2}, got"):
        generate(gan, 2, seed=seed)
    assert len(generate(gan, 2, seed=2**63 - 2)) == 2


def test_generate_labels(gan, vae) -> None:
    by_name, by_index = generate(gan, 2, seed=1, label="dog"), generate(gan, 2, seed=1, label=1)
    assert same(by_name, by_index)
    assert same(by_name, generate(gan, 2, seed=1, label=" DOG"))  # case and stray spaces do not matter
    assert not same(by_name, generate(gan, 2, seed=1, label="owl"))
    with pytest.raises(ValueError, match="unknown label 'fish'; valid: cat, dog, owl"):
        generate(gan, 1, label="fish")
    with pytest.raises(ValueError, match="label 3 out of range 0..2"):
        generate(gan, 1, label=3)
    assert same(by_index, generate(gan, 2, seed=1, label=" 1 "))  # a number with spaces is the number
    assert same(generate(gan, 2, seed=1), generate(gan, 2, seed=1, label="  "))  # only spaces: no label
    for digit in ("\u00b9", "\u0661"):  # superscript one, Arabic-Indic one: not class numbers, no bare error
        with pytest.raises(ValueError, match="unknown label"):
            generate(gan, 1, label=digit)
    with pytest.raises(ValueError, match="is unconditional: it takes no label"):
        generate(vae, 1, label="dog")
    with pytest.raises(ValueError, match="classic generators take no label"):
        generate(ClassicGenerator("noise"), 1, label="dog")


def test_interpolate_unconditional_ends_are_the_seeds(vae) -> None:
    strip = interpolate(vae, 3, 9, steps=5)
    assert len(strip) == 5
    assert same(strip[:1], generate(vae, 1, seed=3))
    assert same(strip[-1:], generate(vae, 1, seed=9))
    assert same(strip[:1], generate(vae, 4, seed=3)[:1])  # the gallery's first image starts the strip


def test_interpolate_conditional_keeps_the_label(gan) -> None:
    strip = interpolate(gan, 3, 9, steps=4, label="owl")
    assert same(strip[:1], generate(gan, 1, seed=3, label="owl"))
    assert same(strip[-1:], generate(gan, 1, seed=9, label="owl"))
    # A random label is drawn once, as generate(seed_a) draws it, and held for the whole strip: the
    # last image equals generate(seed_b) only for the seeds b whose own random label is the same.
    ends_match = []
    for seed_b in range(10, 22):
        strip = interpolate(gan, 3, seed_b, steps=2)
        assert same(strip[:1], generate(gan, 1, seed=3))
        ends_match.append(same(strip[-1:], generate(gan, 1, seed=seed_b)))
    assert 0 < sum(ends_match) < len(ends_match), ends_match


def test_interpolate_errors(gan) -> None:
    with pytest.raises(ValueError, match="steps must be between 2 and 64"):
        interpolate(gan, 0, 1, steps=1)
    with pytest.raises(ValueError, match="classic generators have no latent space"):
        interpolate(ClassicGenerator("noise"), 0, 1)


def _masked_pixels(inpainter, mask) -> int:
    img = photo(40, 32)
    return int((np.asarray(inpaint(inpainter, img, mask)) != np.asarray(img)).any(2).sum())


def test_masks_in_every_common_encoding_mark_the_same_hole(inpainter) -> None:
    """0/1 (uint8 or uint16: a 0/1 mask used to be read as empty and the input came back unchanged), 0/255,
    0-1 floats, a red brush on black, and a JPEG-saved mask with its noise all give the same hole."""
    hole = np.zeros((32, 40), bool)
    hole[8:20, 10:30] = True
    red = np.zeros((32, 40, 3), np.uint8)
    red[hole] = (255, 0, 0)
    noisy = np.clip(hole * 255.0 + np.random.default_rng(0).normal(0, 6, hole.shape), 0, 255).astype(np.uint8)
    encodings = [hole, hole.astype(np.uint8), hole.astype(np.uint16), hole * np.uint8(255), hole.astype(np.float32)]
    encodings += [red, noisy, Image.fromarray(hole.astype(np.uint8) * 255)]
    for mask in encodings:
        assert np.array_equal(read_mask(mask), hole)
    assert _masked_pixels(inpainter, hole.astype(np.uint8)) > 0
    assert not read_mask(np.random.default_rng(0).integers(0, 4, (32, 40)).astype(np.uint8)).any()  # JPEG black


def test_a_soft_brush_mask_takes_its_faint_rim_but_not_faint_areas_apart(tmp_path) -> None:
    """A feathered mask's rim (above a tenth of white) joins the hole when it touches the part above half (a
    soft brush's faint edge covers the object's edge); a faint stroke touching nothing stays out, as before."""
    yy, xx = np.mgrid[:48, :64]
    brush = np.clip((14 - np.hypot(yy - 24, xx - 20)) / 9, 0, 1)  # opaque to r=5, fading to nothing at r=14
    brush[5:9, 45:60] = 0.4  # a faint stroke apart from it
    brush[40:44, 50:54] = 0.05  # too faint to count even next to the hole
    brush[40:44, 46:50] = 0.9  # a second hole with it
    want = (brush > 0.5) | (np.hypot(yy - 24, xx - 20) < 14 - 0.1 * 9 - 1e-6)
    for src in (Image.fromarray((brush * 255).round().astype(np.uint8)), brush.astype(np.float32)):
        got = read_mask(src)
        assert np.array_equal(got, want)
        assert got.sum() > (brush > 0.5).sum() + 200  # the rim: a ring of 4 px around a disk of radius 9.5
    alpha = np.zeros((48, 64, 4), np.uint8)
    alpha[..., 3] = (brush * 255).round().astype(np.uint8)
    assert np.array_equal(read_mask(alpha), want)  # a soft brush on a clear layer: its alpha, the same way
    path = tmp_path / "soft.jpg"
    Image.fromarray((brush * 255).round().astype(np.uint8)).save(path, quality=75)
    got = read_mask(path)
    assert not got[:, 40:44].any() and not got[4:10, 44:61].any()  # the JPEG's noise and the faint stroke stay out
    assert np.abs(got.sum() - want.sum()) < 0.1 * want.sum()
    gray = np.full((48, 64), 40, np.uint8)  # a mask on a gray background (or a clear layer of alpha 60)
    gray[10:20, 10:20] = 255
    rgba = np.zeros((48, 64, 4), np.uint8)
    rgba[..., 3] = np.where(gray == 40, 60, 255)
    for src in (gray, rgba):
        assert np.array_equal(read_mask(src), gray == 255)  # the background is not a rim: it was the whole image


def test_masks_with_transparency_edit_masks_and_stray_alpha() -> None:
    """Strokes on a clear layer: the opaque part is the hole. An edit mask as OpenAI's image API takes them (the picture,
    opaque, with the area to replace erased): the transparent part is, since the opaque part is most of the image (it
    was read inverted: all but the erased area filled). A white-on-black mask with one pixel at alpha 254: its colours
    (the whole image was the hole)."""
    want = np.zeros((30, 40), bool)
    want[5:15, 5:15] = True
    strokes = np.zeros((30, 40, 4), np.uint8)
    strokes[want] = (255, 0, 0, 255)
    edit = np.random.default_rng(0).integers(0, 256, (30, 40, 4)).astype(np.uint8)
    edit[..., 3] = np.where(want, 0, 255)
    stray = np.zeros((30, 40, 4), np.uint8)
    stray[..., 3] = 255
    stray[want, :3] = 255
    stray[0, 0, 3] = 254
    for name, mask in (("strokes", strokes), ("edit mask", edit), ("stray alpha", stray)):
        assert np.array_equal(read_mask(mask), want), name


def test_a_black_jpeg_mask_is_empty_even_when_its_noise_is_0_and_1(tmp_path) -> None:
    """The two-value rule is for lossless masks: a JPEG's levels 0 and 1 are noise, not a 0/1 mask."""
    path = tmp_path / "black.jpg"
    Image.fromarray(np.zeros((32, 40), np.uint8)).save(path)
    noisy = np.random.default_rng(0).integers(0, 2, (32, 40)).astype(np.uint8)
    Image.fromarray(noisy).save(tmp_path / "noisy.png")
    assert read_mask(tmp_path / "noisy.png").sum() == noisy.sum()  # as a PNG, it is a 0/1 mask
    buf = tmp_path / "noisy.jpg"
    Image.fromarray(noisy).save(buf, quality=100)
    assert not read_mask(buf).any() and not read_mask(path).any()
    blocks = Image.fromarray(np.kron(noisy[:4, :5], np.ones((8, 8), np.uint8)))  # 0/1 blocks that survive JPEG
    phone = tmp_path / "phone.jpg"  # MPO, as most phones' JPEGs open (a second, preview image in the file)
    blocks.save(phone, "MPO", save_all=True, append_images=[blocks.resize((10, 8))], quality=95)
    with Image.open(phone) as img:
        assert img.format == "MPO" and set(np.unique(np.asarray(img))) <= {0, 1}
    assert not read_mask(phone).any()


def test_a_model_name_is_loaded_and_a_training_mode_model_is_put_in_eval(model_dirs) -> None:
    """Pipelines take a model's name or folder; a model left in train() mode is switched to eval (its batch norm
    statistics do not move), and gives the same images as in eval mode."""
    out = denoise(str(model_dirs["denoise"]), photo(24, 16), sigma=10)
    assert out.size == (24, 16)
    with pytest.raises(TypeError, match="model must be a loaded model"):
        denoise(None, photo(24, 16), sigma=10)
    dcgan = tiny("DCGANGenerator")
    expected = generate(dcgan, 2, seed=1)
    stats = {k: v.clone() for k, v in dcgan.state_dict().items()}
    dcgan.train()
    got = generate(dcgan, 2, seed=1)
    assert not dcgan.training and all(torch.equal(stats[k], v) for k, v in dcgan.state_dict().items())
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(expected, got, strict=True))


def test_a_half_model_loaded_in_inference_mode_takes_16_bit_images(model_dirs) -> None:
    """Weights made under inference mode keep no version counter: the float32 copy must not need one."""
    from genrepair import load_model

    img = Image.fromarray((np.arange(24 * 16).reshape(16, 24) * 150).astype(np.uint16))
    with torch.inference_mode():
        model = load_model(model_dirs["denoise"], half=True)
        assert denoise(model, img, sigma=10).mode == "I;16"


def test_a_half_model_changed_in_place_is_seen_on_16_bit_images() -> None:
    """16-bit images run on a float32 copy of a half model; changing the weights (load_state_dict) renews it."""
    model = tiny("NoiseCondUNet").half()
    img = Image.fromarray((np.arange(24 * 16).reshape(16, 24) * 150).astype(np.uint16))
    before = np.asarray(denoise(model, img, sigma=10))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    assert not np.array_equal(np.asarray(denoise(model, img, sigma=10)), before)


def test_odd_arguments_are_clear_errors(gan, inpainter, denoiser) -> None:
    img = photo(24, 16)
    cases = [
        (lambda: generate(gan, 2.5), "n must be between 1 and 256"),
        (lambda: generate(gan, "3"), "n must be between 1 and 256"),
        (lambda: generate(gan, 2, truncation=float("nan")), "truncation must be a number above 0"),
        (lambda: generate(gan, 2, truncation="1"), "truncation must be a number above 0"),
        (lambda: generate(ClassicGenerator("noise"), 2, truncation=-5), "truncation must be a number above 0"),
        (lambda: generate(gan, 2, label=True), "a label is a class name or a whole number, got True"),
        (lambda: denoise(denoiser, img, sigma=5, tile=0), "tile must be a positive whole number"),
        (lambda: denoise(denoiser, img, sigma=5, tile=8.5), "tile must be a positive whole number"),
        (lambda: inpaint(inpainter, img, np.ones((16, 24), bool), work_size=0), "work_size must be a whole number"),
        (lambda: interpolate(gan, 0, 1, steps=2.5), "steps must be between 2 and 64"),
        (lambda: list_models("nonsense"), "unknown task 'nonsense'"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_noise_estimate_takes_integer_arrays_and_la_images(denoiser) -> None:
    noisy = np.clip(0.5 + np.random.default_rng(0).normal(0, 20 / 255, (64, 64, 3)), 0, 1)
    as_u8 = (noisy * 255 + 0.5).astype(np.uint8)
    assert abs(estimate_noise_level(as_u8) - estimate_noise_level(as_u8 / 255.0)) < 1e-9
    la = Image.new("LA", (12, 10), (120, 200)).convert("La")  # premultiplied gray + alpha
    assert denoise(denoiser, la, sigma=5).mode == "LA"


def test_gray_pictures_reach_a_color_denoiser_with_their_correlated_noise_level() -> None:
    """A gray picture (one channel, or RGB with equal channels) goes through a color model as three equal channels:
    its noise map says sqrt(3) x sigma, the level of independent color noise as strong in luminance; a gray-in-RGB
    file comes back RGB, from one gray pass."""
    color = tiny("NoiseCondUNet", in_nc=3)
    gray_model = tiny("NoiseCondUNet", in_nc=1)
    levels, channels = [], []

    def record(_, args) -> None:
        levels.append(float(args[1]))
        channels.append(args[0].shape[1])

    for m in (color, gray_model):
        m.register_forward_pre_hook(record)
    u8 = np.asarray(photo(24, 16))
    gray = Image.fromarray(u8[..., 0])
    out = denoise(color, gray, sigma=20)
    assert levels[-1] == pytest.approx(20 * 3**0.5 / 255) and out.mode == "L"
    assert out.info["genrepair_sigma"] == 20  # the picture's level, as given
    levels.clear()
    denoise(color, Image.fromarray(u8), sigma=20)  # a color picture: as it is
    assert levels == [pytest.approx(20 / 255)]
    channels.clear()
    rgb_gray = denoise(gray_model, gray.convert("RGB"), sigma=20)
    assert channels == [1] and rgb_gray.mode == "RGB"  # one pass, not one per (equal) channel
    assert np.array_equal(np.asarray(rgb_gray)[..., 0], np.asarray(denoise(gray_model, gray, sigma=20)))


def test_a_blind_denoiser_warns_that_it_ignores_sigma(caplog) -> None:
    blind = identity_denoiser()
    with caplog.at_level("WARNING", logger="genrepair"):
        denoise(blind, photo(8, 8), sigma="auto")
        assert not caplog.records  # nothing was asked of it
        denoise(blind, photo(8, 8), sigma="30")  # a number as text is a number
    assert "sigma 30 is ignored" in caplog.text
