"""The Gradio app end to end: launch it, then call every api_name through ``gradio_client``.

Tabs whose bundled weights (``weights/<name>/``) are missing are skipped, never faked.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
from app_server import app, needs, running_app  # noqa: E402
from conftest import exif_rotated_jpeg, icc_profile, png16_rgb  # noqa: E402

AppError = gradio_client.exceptions.AppError
handle_file = gradio_client.handle_file


@pytest.fixture(scope="module")
def client():
    with running_app() as url:
        yield gradio_client.Client(url, verbose=False)


def scene(size: int = 64) -> np.ndarray:
    """A smooth test picture with one sharp edge: uint8 HxWx3."""
    y, x = np.mgrid[0:size, 0:size] / size
    rgb = np.stack([x, y, 1 - x * y], 2) * 200 + 20
    rgb[size // 4 : size // 2, size // 4 : 3 * size // 4] = (220, 60, 40)
    return rgb.astype(np.uint8)


def png(tmp_path: Path, name: str, arr: np.ndarray) -> str:
    path = tmp_path / name
    Image.fromarray(arr).save(path)
    return str(path)


def pixels(path) -> np.ndarray:
    img = Image.open(path)
    assert img.format == "PNG"
    return np.asarray(img)


# ---------------------------------------------------------------- helpers, no server


def test_extra_models_found_by_class_name(tmp_path):
    for name, cls in [("horse2zebra", "ResnetGenerator"), ("gan.emoji", "CondGenerator"), ("mystery", "Nope")]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps({"_class_name": cls}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    assert app.local_models(tmp_path) == {"horse2zebra": "translate"}


def test_reverse_model_pairs_directions(monkeypatch):
    extras = {"horse2zebra": "translate", "zebra2horse": "translate", "style_monet": "translate",
              "summer2winter_yosemite": "translate", "winter2summer_yosemite": "translate"}  # fmt: skip
    monkeypatch.setattr(app, "EXTRAS", extras)
    assert app.reverse_model("cyclegan.flat2fluent3d") == "cyclegan.fluent3d2flat"
    assert app.reverse_model("horse2zebra") == "zebra2horse"
    assert app.reverse_model("summer2winter_yosemite") == "winter2summer_yosemite"
    assert app.reverse_model("style_monet") is None
    assert "horse2zebra" in app.model_names("translate")


def test_before_view_is_upright_and_savable_as_png(tmp_path):
    """The "before" half of the comparison shows an upload as the model saw it: EXIF rotation applied, and
    modes that PNG cannot hold (CMYK, float) converted instead of failing after the work is done."""
    rotated = app.as_shown(app.require_image(str(exif_rotated_jpeg(tmp_path / "r.jpg"))))
    assert rotated.size == (20, 30)
    Image.new("CMYK", (9, 7), (0, 255, 0, 0)).save(tmp_path / "cmyk.jpg")
    Image.fromarray(np.linspace(0, 1, 63, dtype=np.float32).reshape(7, 9)).save(tmp_path / "f.tif")
    for name in ("cmyk.jpg", "f.tif"):
        shown = app.as_shown(app.require_image(str(tmp_path / name)))
        assert shown.size == (9, 7)
        assert Path(app.save_png(shown, "input")).is_file()


def test_classical_comparisons_keep_gray_images_gray():
    """The OpenCV side-by-side of a gray (8 or 16-bit) upload is gray too, the size kept; color stays color."""
    gray = Image.fromarray((np.arange(48 * 40).reshape(40, 48) % 251).astype(np.uint8))
    gray16 = Image.fromarray((np.arange(48 * 40).reshape(40, 48) * 30).astype(np.uint16))
    color = Image.fromarray(scene(40)[:, :36])
    hole = np.zeros((40, 48), bool)
    hole[10:20, 10:30] = True
    for img, mode in [(gray, "L"), (gray16, "L"), (color, "RGB")]:
        for out in (app.opencv_denoise(img, 25), app.opencv_inpaint(img, hole[:, : img.width])):
            assert (out.mode, out.size) == (mode, img.size)
    filled = np.asarray(app.opencv_inpaint(gray, hole), np.int16)
    assert np.array_equal(filled[~hole], np.asarray(gray)[~hole])  # Telea changes the hole only


def test_messages_are_sentences_that_keep_file_and_model_names():
    assert app.sentence("the mask covers the whole image") == "The mask covers the whole image."
    assert app.sentence("cut.jpg: the image is damaged") == "cut.jpg: the image is damaged."
    assert app.sentence("denoise.color is not available.") == "denoise.color is not available."
    assert app.sentence("mask: pic.svg: an SVG drawing") == "Mask: pic.svg: an SVG drawing."
    cache = app.gr.utils.get_upload_folder()  # the server's upload folder is not shown, the file's name is
    assert app.sentence(f"{cache}/0f3a9c/my photo.jpg: the file is not there") == "my photo.jpg: the file is not there."
    assert app.sentence(f"{cache}/0f3a9c/x/cut.png is cut short") == "cut.png is cut short."
    assert app.sentence("/home/me/cut.png is cut short") == "/home/me/cut.png is cut short."  # not the cache: kept


def test_out_of_memory_is_a_message_and_other_errors_are_not_hidden():
    import gradio as gr

    def fails(e):
        def run():
            raise e

        return app.friendly(run)

    for e in (MemoryError(), RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9 GB")):
        with pytest.raises(gr.Error, match="Out of memory: try a smaller image"):
            fails(e)()
    with pytest.raises(RuntimeError, match="something else"):
        fails(RuntimeError("something else"))()


def test_a_cancelled_job_keeps_its_slot_until_its_work_ends(monkeypatch):
    """Gradio frees a concurrency slot when a job is cancelled, but the thread doing the work runs on; the
    next call must wait for it instead of running beside it (clients could otherwise stack heavy jobs)."""
    monkeypatch.setenv("GENREPAIR_CONCURRENCY", "1")
    started, release, order = threading.Event(), threading.Event(), []

    @app.held_slot
    def work(name):
        order.append(f"{name} start")
        if name == "abandoned":
            started.set()
            release.wait(10)
        order.append(f"{name} end")

    first = threading.Thread(target=work, args=("abandoned",))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=work, args=("next",))
    second.start()
    second.join(0.3)
    assert second.is_alive() and order == ["abandoned start"]
    release.set()
    first.join(10)
    second.join(10)
    assert order == ["abandoned start", "abandoned end", "next start", "next end"]


def test_old_outputs_are_swept_at_most_once_a_minute(tmp_path, monkeypatch):
    monkeypatch.setattr(app, "OUT_DIR", tmp_path)
    hours_ago = time.time() - 2 * 3600

    def old_output(name):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (hours_ago, hours_ago))
        return tmp_path / name

    first = old_output("a")
    monkeypatch.setattr(app, "_last_sweep", 0.0)
    kept = Path(app.save_png(Image.new("RGB", (2, 2)), "x"))
    assert not first.exists() and kept.is_file()
    second = old_output("b")
    app.save_png(Image.new("RGB", (2, 2)), "y")  # within the minute: no sweep
    assert second.exists()
    monkeypatch.setattr(app, "_last_sweep", time.time() - 61)
    app.save_png(Image.new("RGB", (2, 2)), "z")
    assert not second.exists() and kept.is_file()


def test_api_lists_the_five_endpoints_only(client):
    api = client.view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == {"/generate", "/interpolate", "/translate", "/denoise", "/inpaint"}
    assert not api.get("unnamed_endpoints")
    names = {e: [p["parameter_name"] for p in api["named_endpoints"][e]["parameters"]] for e in api["named_endpoints"]}
    assert names["/translate"] == ["model_name", "image", "mirror"]  # as app.py's docstring lists them
    assert names["/denoise"][-1] == "best"
    assert names["/inpaint"][2:] == ["mask", "invert_mask", "compare_opencv", "best"]


# ---------------------------------------------------------------- generate


def test_generate_count_size_and_seed(client):
    needs("gan.emoji")
    gallery, grid = client.predict("gan.emoji", 5, 11, "random", 0, api_name="/generate")
    assert len(gallery) == 5
    first = [pixels(item["image"]) for item in gallery]
    assert all(a.shape[:2] == (64, 64) for a in first)
    assert pixels(grid).shape[:2] == (2 * 64, 3 * 64)  # 5 samples -> 3 columns, 2 rows
    again, _ = client.predict("gan.emoji", 5, 11, "random", 0, api_name="/generate")
    assert all(np.array_equal(a, pixels(b["image"])) for a, b in zip(first, again, strict=True))
    other, _ = client.predict("gan.emoji", 5, 12, "Flags", 0.8, api_name="/generate")
    assert not np.array_equal(first[0], pixels(other[0]["image"]))


def test_an_emptied_seed_box_is_a_clear_error(client):
    needs("gan.emoji")
    with pytest.raises(AppError, match="Enter a seed"):
        client.predict("gan.emoji", 2, None, "random", 0, api_name="/generate")
    with pytest.raises(AppError, match="Enter a second seed"):
        client.predict("gan.emoji", 3, None, 4, "random", 0, api_name="/interpolate")


def test_settings_sent_through_the_api_are_checked(client, tmp_path):
    """An API caller can send anything in a slider or number box: each gets a message naming the setting."""
    needs("gan.emoji")
    needs("denoise.color")
    with pytest.raises(AppError, match="The truncation must be a number, got 'abc'"):
        client.predict("gan.emoji", 2, 1, "random", "abc", api_name="/generate")
    with pytest.raises(AppError, match="The number of images must be from 1 to 64, got 100"):
        client.predict("gan.emoji", 100, 1, "random", 0, api_name="/generate")
    with pytest.raises(AppError, match="The seed must be a number, got 'x'"):
        client.predict("gan.emoji", 2, "x", "random", 0, api_name="/generate")
    with pytest.raises(AppError, match="Choose a model from the list, got None"):  # Gradio's choice check lets None by
        client.predict(None, 2, 1, "random", 0, api_name="/generate")
    with pytest.raises(AppError, match="The category must be one of the list's names, got '\\[1\\]'"):
        client.predict("gan.emoji", 2, 1, [1], 0, api_name="/generate")
    with pytest.raises(AppError, match="The seed must be a whole number, got 1.5"):  # Gradio rounded it to 2
        client.predict("gan.emoji", 2, 1.5, "random", 0, api_name="/generate")
    with pytest.raises(AppError, match="The second seed must be a whole number, got 0.25"):
        client.predict("gan.emoji", 3, 0.25, 4, "random", 0, api_name="/interpolate")
    good = handle_file(png(tmp_path, "good.png", scene(32)))
    with pytest.raises(AppError, match="Set the noise level σ, or tick Auto"):
        client.predict("denoise.color", good, None, False, 0, 0, False, api_name="/denoise")
    with pytest.raises(AppError, match="The noise level σ must be a number, got True"):
        client.predict("denoise.color", good, True, False, 0, 0, False, api_name="/denoise")
    with pytest.raises(AppError, match="The noise seed must be from 0 to 2147483647, got -3"):
        client.predict("denoise.color", good, 25, True, 10, -3, False, api_name="/denoise")
    with pytest.raises(AppError, match="Choose a model from the list, got None"):
        client.predict(None, good, 15, False, 0, 0, False, api_name="/denoise")
    with pytest.raises(AppError, match="Choose a model from the list, got \\['denoise.color'\\]"):  # was a bare Error
        client.predict(["denoise.color"], good, 15, False, 0, 0, False, api_name="/denoise")
    with pytest.raises(AppError, match="The Auto setting must be true or false, got 'false'"):  # it was ticked
        client.predict("denoise.color", good, 15, "false", 0, 0, False, api_name="/denoise")
    with pytest.raises(AppError, match=r"The number of images must be from 1 to 64, got 1e\+308\.$"):
        client.predict("gan.emoji", 1e308, 1, "random", 0, api_name="/generate")
    *_, note, used = client.predict("denoise.color", good, "15", False, "10", "4", False, api_name="/denoise")
    assert used == 15 and "σ = 10, seed 4" in note  # numbers as strings are numbers


def test_generate_rejects_unknown_category(client):
    needs("gan.emoji")
    with pytest.raises(AppError, match="Unknown label"):
        client.predict("gan.emoji", 2, 0, "Dinosaurs", 0, api_name="/generate")


def test_classic_generator_and_its_interpolation_error(client):
    gallery, _ = client.predict("classic.automaton", 3, 4, "random", 0, api_name="/generate")
    assert len(gallery) == 3
    with pytest.raises(AppError, match="no latent space"):
        client.predict("classic.automaton", 1, 2, 4, "random", 0, api_name="/interpolate")


def test_interpolate_strip(client):
    needs("gan.emoji")
    strip, strip_file = client.predict("gan.emoji", 3, 9, 4, "Smileys & Emotion", 0, api_name="/interpolate")
    arr = pixels(strip_file)
    assert arr.shape[:2] == (64, 4 * 64)
    assert np.array_equal(arr, pixels(strip))
    assert not np.array_equal(arr[:, :64], arr[:, -64:])  # the two seeds differ
    strip, _ = client.predict("gan.emoji", 3, 9, 6, "random", 0, api_name="/interpolate")
    assert pixels(strip).shape[:2] == (2 * 64, 4 * 64)  # 6 steps wrap after 4, legible on a phone


def test_truncation_is_offered_for_learned_generators_only():
    assert app.on_generator_change("classic.automaton")[1].visible is False
    assert app.on_generator_change("gan.emoji")[1].visible is True


# ---------------------------------------------------------------- translate


def test_translate_keeps_size_and_alpha(client, tmp_path):
    needs("cyclegan.flat2fluent3d")
    rgba = np.dstack([scene(60), np.full((60, 60), 255, np.uint8)])
    rgba[:10, :10, 3] = 0
    src = png(tmp_path, "face.png", rgba)
    (before, after), round_trip, out_file, _ = client.predict(
        "cyclegan.flat2fluent3d", handle_file(src), api_name="/translate"
    )
    out = pixels(out_file)
    assert out.shape == (60, 60, 4)
    assert np.array_equal(out[..., 3], rgba[..., 3])
    assert np.array_equal(out, pixels(after))
    if app.has_weights("cyclegan.fluent3d2flat"):
        assert Image.open(round_trip).size == (60, 60)
    _, _, mirrored_file, note = client.predict("cyclegan.flat2fluent3d", handle_file(src), True, api_name="/translate")
    assert "mirror" in note
    want = np.asarray(app.genrepair.translate(app.get_model("cyclegan.flat2fluent3d"), src, ensemble=2), float)
    assert np.abs(pixels(mirrored_file).astype(float) - want).max() <= 1


def test_missing_model_is_a_clear_error(client, tmp_path, monkeypatch):
    # a weights folder without this model, the Hub offline: the app must say so, not crash
    app._loaded.cache_clear()
    monkeypatch.setenv("GENREPAIR_WEIGHTS", str(tmp_path / "no-weights"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "no-cache"))
    src = png(tmp_path, "x.png", scene())
    try:
        with pytest.raises(AppError, match="Could not load"):
            client.predict("cyclegan.sketch2flat", handle_file(src), api_name="/translate")
    finally:
        app._loaded.cache_clear()


# ---------------------------------------------------------------- denoise


def test_denoise_adds_then_removes_noise(client, tmp_path):
    needs("denoise.color")
    clean = scene()
    src = png(tmp_path, "clean.png", clean)
    (noisy_path, den_path), baseline, out_file, note, slider = client.predict(
        "denoise.color", handle_file(src), 25, True, 25, 3, True, api_name="/denoise"
    )
    noisy, out = pixels(noisy_path).astype(float), pixels(out_file).astype(float)
    assert out.shape == clean.shape
    assert np.array_equal(out, pixels(den_path))
    noisy_rmse = np.sqrt(((noisy - clean) ** 2).mean())
    assert 20 < noisy_rmse < 30  # the synthetic noise really was sigma 25
    assert np.sqrt(((out - clean) ** 2).mean()) < 0.85 * noisy_rmse  # loose: weights may be an early checkpoint
    assert pixels(baseline).shape == clean.shape
    used = float(re.search(r"σ = ([\d.]+)\*\* \(estimated", note).group(1))
    assert 18 < used < 32, note  # the automatic estimate finds the added sigma 25
    assert slider == round(used)  # the greyed slider shows the estimate, not its old value
    assert "denoise.color" in note  # the result names its model


def test_denoise_download_of_a_16_bit_rgb_png_is_16_bit(client, tmp_path):
    """The upload reaches the server as the file itself and the full-resolution download keeps its 16 bits."""
    import cv2

    needs("denoise.color")
    arr = (scene(40).astype(np.uint16) * 257 + np.arange(40, dtype=np.uint16)[:, None, None]).astype(np.uint16)
    src = png16_rgb(tmp_path / "scan16.png", arr)
    _, _, out_file, note, _ = client.predict(
        "denoise.color", handle_file(str(src)), 10, False, 0, 0, False, api_name="/denoise"
    )
    out = cv2.imread(out_file, cv2.IMREAD_UNCHANGED)
    assert out is not None and out.dtype == np.uint16 and out.shape == (40, 40, 3), note


def test_denoise_manual_sigma(client, tmp_path):
    needs("denoise.color")
    src = png(tmp_path, "img.png", scene(40))
    _, baseline, out_file, note, slider = client.predict(
        "denoise.color", handle_file(src), 10, False, 0, 0, False, api_name="/denoise"
    )
    assert slider == 10  # set by hand: left as it was
    assert pixels(out_file).shape == (40, 40, 3)
    assert baseline is None
    assert "σ = 10.0" in note and "set by hand" in note
    assert "8 flipped/rotated passes" not in note


def test_denoise_auto_on_a_picture_too_small_to_measure_says_so(client, tmp_path):
    needs("denoise.color")
    src = png(tmp_path, "icon.png", np.random.default_rng(0).integers(0, 256, (6, 6, 3), np.uint8))
    _, _, out_file, note, slider = client.predict(
        "denoise.color", handle_file(src), 10, True, 0, 0, False, api_name="/denoise"
    )
    assert "6×6 px, is too small to estimate the noise from: set σ by hand" in note and "σ = 0.0" in note
    assert slider == 0 and pixels(out_file).shape == (6, 6, 3)


def test_denoise_says_when_there_is_nothing_to_remove(client, tmp_path):
    needs("denoise.color")
    src = png(tmp_path, "clean.png", scene(64))  # smooth, rounded to 8 bits: reads under one level
    (_, after), _, out_file, note, slider = client.predict(
        "denoise.color", handle_file(src), 10, True, 0, 0, False, True, api_name="/denoise"
    )
    assert note.startswith("Nothing to remove: the noise level reads **σ = 0.") and "untick Auto" in note, note
    assert "8 flipped/rotated passes" not in note and slider == 0
    assert np.array_equal(pixels(out_file), scene(64)) and np.array_equal(pixels(after), scene(64))
    *_, note, _ = client.predict("denoise.color", handle_file(src), 0, False, 0, 0, False, api_name="/denoise")
    assert note.startswith("Nothing to remove at **σ = 0** (set by hand)"), note


def test_denoise_auto_suggests_a_level_for_grain_the_channels_share(client, tmp_path):
    """Grain shared by the colour channels reads near 0 in automatic mode: the note says what it reads instead."""
    needs("denoise.color")
    grain = np.random.default_rng(0).normal(0, 15, (128, 128, 1))
    src = png(tmp_path, "grainy.png", np.clip(np.round(scene(128) + grain), 0, 255).astype(np.uint8))
    *_, note, slider = client.predict("denoise.color", handle_file(src), 10, True, 0, 0, False, api_name="/denoise")
    suggested = float(re.search(r"grain its colour channels share .* reads σ ≈ (\d+)", note).group(1))
    assert abs(suggested - 15 * np.sqrt(3)) < 4 and slider < 5, note
    *_, note, _ = client.predict("denoise.color", handle_file(src), 10, False, 0, 0, False, api_name="/denoise")
    assert "grain" not in note  # set by hand


def test_the_gpu_parts_take_and_give_what_zerogpu_can_pickle(client, tmp_path, monkeypatch):
    """ZeroGPU runs the @spaces.GPU functions in a worker and pickles their arguments and results: a JPEG's
    automatic noise level must survive that (a pickled Image has lost the quantization tables), and so must an
    inpainting's, a translation's and Generate's inputs and results."""
    import pickle

    for name in ("denoise.color", "inpaint.photo", "gan.emoji", "cyclegan.flat2fluent3d"):
        needs(name)
    calls = []

    def through_pickle(fn):
        def run(*args):
            calls.append(fn.__name__)
            return pickle.loads(pickle.dumps(fn(*pickle.loads(pickle.dumps(args)))))

        return run

    for name in ("denoise_on_gpu", "inpaint_on_gpu", "generate_on_gpu", "interpolate_on_gpu", "translate_on_gpu"):
        monkeypatch.setattr(app, name, through_pickle(getattr(app, name)))
    noisy = np.clip(scene(64).astype(float) + np.random.default_rng(0).normal(0, 20, (64, 64, 3)), 0, 255)
    jpeg = tmp_path / "noisy.jpg"
    Image.fromarray(noisy.astype(np.uint8)).save(jpeg, quality=75)
    *_, used = client.predict(
        "denoise.color", handle_file(str(jpeg)), 25, True, 0, 0, False, False, api_name="/denoise"
    )
    direct = app.genrepair.denoise(app.get_model("denoise.color"), str(jpeg)).info["genrepair_sigma"]
    assert used == round(direct) and used > 5  # the JPEG-aware estimate, not the pickled Image's plain one
    hole = np.zeros((64, 64), bool)
    hole[10:30, 20:50] = True
    src, mask = png(tmp_path, "img.png", scene()), png(tmp_path, "mask.png", (hole * 255).astype(np.uint8))
    _, _, out_file, _ = client.predict("inpaint.photo", editor(src), handle_file(mask), api_name="/inpaint")
    assert np.array_equal(pixels(out_file)[~hole], scene()[~hole])
    gallery, _ = client.predict("gan.emoji", 2, 11, "random", 0, api_name="/generate")
    direct = app.genrepair.generate(app.get_model("gan.emoji"), 2, 11)
    assert np.array_equal(pixels(gallery[1]["image"]), np.asarray(direct[1].convert("RGB")))
    strip, _ = client.predict("gan.emoji", 3, 9, 4, "random", 0, api_name="/interpolate")
    assert pixels(strip).shape[1] > pixels(strip).shape[0]  # one row of 4
    (_, out), back, _, note = client.predict("cyclegan.flat2fluent3d", handle_file(src), api_name="/translate")
    assert pixels(out).shape == (64, 64, 3) and ("round trip" in note) == (back is not None)
    assert calls == ["denoise_on_gpu", "inpaint_on_gpu", "generate_on_gpu", "interpolate_on_gpu", "translate_on_gpu"]


def test_denoise_best_quality_averages_eight_passes(client, tmp_path):
    needs("denoise.color")
    src = png(tmp_path, "img.png", scene(40))
    _, _, out_file, note, _ = client.predict(
        "denoise.color", handle_file(src), 10, False, 0, 0, False, True, api_name="/denoise"
    )
    assert "average of 8 flipped/rotated passes" in note
    want = np.asarray(app.genrepair.denoise(app.get_model("denoise.color"), src, sigma=10, ensemble=8), float)
    assert np.abs(pixels(out_file).astype(float) - want).max() <= 1  # the pipeline's 8-pass result


# ---------------------------------------------------------------- inpaint


def test_inpaint_best_quality_averages_eight_passes(client, tmp_path):
    needs("inpaint.photo")
    img, hole = scene(), np.zeros((64, 64), bool)
    hole[10:30, 20:50] = True
    src, mask = png(tmp_path, "img.png", img), png(tmp_path, "mask.png", (hole * 255).astype(np.uint8))
    _, _, out_file, note = client.predict(
        "inpaint.photo", editor(src), handle_file(mask), False, False, True, api_name="/inpaint"
    )
    assert "average of 8 flipped/rotated passes" in note
    want = np.asarray(app.genrepair.inpaint(app.get_model("inpaint.photo"), src, mask, ensemble=8), float)
    assert np.abs(pixels(out_file).astype(float) - want).max() <= 1  # the pipeline's 8-pass result
    assert np.array_equal(pixels(out_file)[~hole], img[~hole])


def editor(background: str, layers: list[str] | None = None) -> dict:
    return {"background": handle_file(background), "layers": [handle_file(p) for p in layers or []], "composite": None}


def test_inpaint_mask_upload_and_editor_layer_agree(client, tmp_path):
    needs("inpaint.photo")
    img = scene()
    hole = np.zeros((64, 64), bool)
    hole[20:40, 24:44] = True
    src = png(tmp_path, "img.png", img)
    mask = png(tmp_path, "mask.png", (hole * 255).astype(np.uint8))
    layer = np.zeros((64, 64, 4), np.uint8)
    layer[hole] = (255, 59, 48, 255)
    layer_path = png(tmp_path, "layer.png", layer)

    (_, after), baseline, out_file, note = client.predict(
        "inpaint.photo", editor(src), handle_file(mask), False, True, api_name="/inpaint"
    )
    out = pixels(out_file)
    assert Path(out_file).name == "img-inpainted.png"  # named after the upload, as in the other tabs
    assert out.shape == img.shape
    assert np.array_equal(out[~hole], img[~hole])  # outside the hole: bit for bit
    assert not np.array_equal(out[hole], img[hole])
    assert np.array_equal(out, pixels(after))
    assert pixels(baseline).shape == img.shape
    assert "400 pixels" in note

    _, _, layer_file, _ = client.predict(
        "inpaint.photo", editor(src, [layer_path]), None, False, False, api_name="/inpaint"
    )
    assert np.array_equal(pixels(layer_file), out)
    opaque = png(tmp_path, "opaque_layer.png", np.repeat((hole * 255).astype(np.uint8)[..., None], 3, 2))
    double = png(tmp_path, "double_layer.png", np.kron(layer, np.ones((2, 2, 1), np.uint8)))  # the canvas at 2x
    for other in (opaque, double):  # an opaque layer is read as a mask file (it was a hole over the whole image)
        _, _, other_file, _ = client.predict(
            "inpaint.photo", editor(src, [other]), None, False, False, api_name="/inpaint"
        )
        assert np.array_equal(pixels(other_file), out), other
    with pytest.raises(AppError, match="The Mask layer is 64x32 but the image is 64x64; they must match"):
        client.predict("inpaint.photo", editor(src, [png(tmp_path, "wide.png", layer[::2])]), None, False, False,
                       api_name="/inpaint")  # fmt: skip

    with pytest.raises(AppError, match=r"notes\.png: not a recognised image file \(PNG, JPEG"):
        text = tmp_path / "notes.png"
        text.write_text("not an image")
        client.predict("inpaint.photo", editor(str(text)), handle_file(mask), False, False, api_name="/inpaint")

    # a phone photo with an EXIF rotation: the mask is drawn on the upright picture, as the browser shows it
    rotated = exif_rotated_jpeg(tmp_path / "phone.jpg")  # stored 30x20, shown 20x30
    upright_mask = np.zeros((30, 20), np.uint8)
    upright_mask[10:20, 5:15] = 255
    _, _, rotated_file, _ = client.predict(
        "inpaint.photo", editor(str(rotated)), handle_file(png(tmp_path, "um.png", upright_mask)), False, False,
        api_name="/inpaint",
    )  # fmt: skip
    assert pixels(rotated_file).shape[:2] == (30, 20)

    gray = scene()[..., 1]
    _, _, gray_file, _ = client.predict(
        "inpaint.photo", editor(png(tmp_path, "gray.png", gray)), handle_file(mask), False, False, api_name="/inpaint"
    )
    assert pixels(gray_file).shape == gray.shape  # a gray upload comes back gray
    assert np.array_equal(pixels(gray_file)[~hole], gray[~hole])

    half = png(tmp_path, "half.png", (hole[::2, ::2] * 255).astype(np.uint8))  # painted on a half-size preview
    _, _, half_file, note = client.predict("inpaint.photo", editor(src), handle_file(half), False, False,
                                           api_name="/inpaint")  # fmt: skip
    assert np.array_equal(pixels(half_file), out) and "from the uploaded mask file (scaled from 32x32)" in note
    wide = png(tmp_path, "wide_mask.png", np.full((16, 32), 255, np.uint8))  # another picture's (an example's, say)
    with pytest.raises(AppError, match=r"The uploaded mask is 32x16 but the image is 64x64.*remove it \(×"):
        client.predict("inpaint.photo", editor(src), handle_file(wide), False, False, api_name="/inpaint")
    _, _, wide_file, note = client.predict("inpaint.photo", editor(src, [layer_path]), handle_file(wide),
                                           False, False, api_name="/inpaint")  # fmt: skip
    assert np.array_equal(pixels(wide_file), out)  # the painted strokes alone
    assert "from the painted Mask layer (the uploaded mask, 32x16, is another picture's shape: left out)" in note

    _, _, inverted_file, note = client.predict(
        "inpaint.photo", editor(src), handle_file(mask), True, False, api_name="/inpaint"
    )
    assert np.array_equal(pixels(inverted_file)[hole], img[hole])
    assert f"{64 * 64 - 400} pixels" in note
    _, _, both_file, note = client.predict(  # a mask file and painted strokes: both are the hole, the note says so
        "inpaint.photo", editor(src, [layer_path]), handle_file(mask), False, False, api_name="/inpaint"
    )
    assert "from the uploaded mask file and the painted Mask layer" in note


def test_icc_profile_survives_the_app(client, tmp_path):
    """A profiled photo (Display P3, Adobe RGB) uploaded through the API: the before view and the result files
    carry its profile, so they display in the upload's colours."""
    needs("denoise.color")
    needs("inpaint.photo")
    icc = icc_profile()
    src = str(tmp_path / "profiled.png")
    Image.fromarray(scene(48)).save(src, icc_profile=icc)
    mask = np.zeros((48, 48), np.uint8)
    mask[8:24, 8:24] = 255
    (before, after), classic, out_file, _, _ = client.predict(
        "denoise.color", handle_file(src), 10, False, 0, 0, True, api_name="/denoise"
    )
    (hole, filled), telea, inpainted, _ = client.predict(
        "inpaint.photo", editor(src), handle_file(png(tmp_path, "m.png", mask)), False, True, api_name="/inpaint"
    )  # the hole view and the OpenCV comparisons had none
    for f in (before, after, classic, out_file, hole, filled, telea, inpainted):
        f = f if isinstance(f, str) else f["path"]
        assert Image.open(f).info.get("icc_profile") == icc, f


def test_inpaint_keeps_16_bit_and_gray_alpha_uploads(client, tmp_path):
    """The editor converts its background to 8-bit RGBA; an uploaded file is used as it is (as in the
    other tabs): 16-bit gray and color stay 16-bit (color turned upright by its EXIF orientation) and gray
    with alpha keeps its alpha, untouched outside the hole."""
    needs("inpaint.photo")
    hole = np.zeros((48, 64), bool)
    hole[10:30, 20:40] = True
    mask = handle_file(png(tmp_path, "mask.png", (hole * 255).astype(np.uint8)))
    deep = np.linspace(0, 65535, 48 * 64).reshape(48, 64).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    _, _, out_file, _ = client.predict("inpaint.photo", editor(str(tmp_path / "deep.png")), mask, False, False,
                                       api_name="/inpaint")  # fmt: skip
    out = Image.open(out_file)
    assert out.mode in ("I;16", "I") and np.array_equal(np.asarray(out)[~hole], deep[~hole])
    la = np.dstack([(deep >> 8).astype(np.uint8), np.full((48, 64), 200, np.uint8)])
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    _, _, out_file, _ = client.predict("inpaint.photo", editor(str(tmp_path / "la.png")), mask, False, False,
                                       api_name="/inpaint")  # fmt: skip
    out = Image.open(out_file)
    assert out.mode == "LA" and np.array_equal(np.asarray(out)[~hole], la[~hole])
    import cv2

    stored = np.random.default_rng(0).integers(0, 65536, (64, 48, 3), dtype=np.uint16)  # turned upright by EXIF
    src = png16_rgb(tmp_path / "rgb16.png", stored, orientation=6)
    _, _, out_file, _ = client.predict("inpaint.photo", editor(str(src)), mask, False, False, api_name="/inpaint")
    out = cv2.imread(out_file, cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and np.array_equal(out[..., ::-1][~hole], np.rot90(stored, -1)[~hole])


def test_inpaint_checks_the_pixel_limit_before_decoding(client, tmp_path, monkeypatch):
    needs("inpaint.photo")
    monkeypatch.setenv("GENREPAIR_MAX_PIXELS", "1000")
    src = png(tmp_path, "big.png", scene())
    with pytest.raises(AppError, match=r"big\.png: 64x64 = 4096 pixels is over the pixel limit of 1000"):
        client.predict("inpaint.photo", editor(src), None, False, False, api_name="/inpaint")


def test_inpaint_checks_every_layer_before_decoding_and_caps_their_number(client, tmp_path, monkeypatch):
    """Layers are files too: each one's pixels are checked from its header (a small PNG of a huge blank image
    sent as layers used to be decoded first), and more layers than the tab uses are refused."""
    needs("inpaint.photo")
    small = png(tmp_path, "small.png", scene(16))
    huge = tmp_path / "huge.png"
    Image.new("L", (3000, 2000)).save(huge)  # a few KB on disk, 6 MP once decoded
    monkeypatch.setenv("GENREPAIR_MAX_PIXELS", "1000000")
    with pytest.raises(AppError, match=r"huge\.png: 3000x2000 = 6000000 pixels is over the pixel limit"):
        client.predict("inpaint.photo", editor(small, [str(huge)]), None, False, False, api_name="/inpaint")
    with pytest.raises(AppError, match=r"Too many layers \(5\)"):
        client.predict("inpaint.photo", editor(small, [small] * 5), None, False, False, api_name="/inpaint")


def test_editor_uploads_sent_as_blobs_are_checked_as_they_arrive(client, tmp_path, monkeypatch):
    """The browser's editor sends its canvas to Gradio's accept_blobs, then runs the request with only an id. Those
    files were never checked: a 60 MP blank PNG of 251 KB was decoded before the pixel limit refused it, any number
    of layers passed, and a layer index of 20000000 made Gradio pad a list to that length (153 MB)."""
    import httpx

    needs("inpaint.photo")
    editor_id = next(b._id for b in app.demo.blocks.values() if isinstance(b, app.gr.ImageEditor))
    url = client.src.rstrip("/") + "/gradio_api/component_server"

    def send(request: str, kind: str, data: bytes, index: int | None = None) -> None:
        form = {"session_hash": "blobs", "component_id": str(editor_id), "fn_name": "accept_blobs", "id": request,
                "type": kind, "index": "null" if index is None else str(index)}  # fmt: skip
        httpx.post(url, data=form, files={"file": (f"{kind}.png", data)}, timeout=60).raise_for_status()

    def encoded(arr: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="PNG")
        return buf.getvalue()

    def run(request: str):
        payload = {"id": request, "background": None, "layers": [], "composite": None}
        return client.predict("inpaint.photo", payload, None, False, False, api_name="/inpaint")

    rgba = np.dstack([scene(), np.full((64, 64), 255, np.uint8)])
    strokes = np.zeros((64, 64, 4), np.uint8)
    strokes[20:40, 24:44] = (255, 59, 48, 255)
    send("fine", "background", encoded(rgba))
    send("fine", "layer", encoded(strokes), 0)
    _, _, out_file, note = run("fine")  # the browser's way still works
    assert pixels(out_file).shape == (64, 64, 3) and "filled 400 pixels" in note
    send("stray", "background", encoded(rgba))
    send("stray", "layer", encoded(strokes), 20_000_000)
    with pytest.raises(AppError, match=r"Too many layers \(layer 20000000\)"):
        run("stray")
    with pytest.raises(AppError, match="The editor's image did not reach the server"):
        run("never-sent")
    _, _, out_file, _ = client.predict(  # an API caller's files with a stray id: the files, not "Upload an image"
        "inpaint.photo", {**editor(png(tmp_path, "bg.png", scene())), "id": "stray"},
        handle_file(png(tmp_path, "hole.png", strokes[..., 3])), False, False, api_name="/inpaint",
    )  # fmt: skip
    assert pixels(out_file).shape == (64, 64, 3)
    monkeypatch.setenv("GENREPAIR_MAX_PIXELS", "1000")
    send("big", "background", encoded(rgba))
    with pytest.raises(AppError, match=r"background\.png: 64x64 = 4096 pixels is over the pixel limit of 1000"):
        run("big")
    monkeypatch.delenv("GENREPAIR_MAX_PIXELS")
    monkeypatch.setenv("GENREPAIR_QUEUE_SIZE", "4")  # keeps 2 x 4 + 8 = 16
    for i in range(24):  # requests that never run: the oldest are dropped
        send(f"abandoned-{i}", "layer", encoded(strokes), 0)
    component = next(b for b in app.demo.blocks.values() if isinstance(b, app.gr.ImageEditor))
    assert len(component.blob_storage) <= 16 and "abandoned-0" not in component.blob_storage
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 4), np.uint8)  # about 16 KB as PNG
    monkeypatch.setenv("GENREPAIR_MAX_UPLOAD_BYTES", "20000")  # the files of 4 such requests are kept, not 16
    for i in range(12):
        send(f"heavy-{i}", "background", encoded(noise))
    held = sum(map(app._blob_bytes, component.blob_storage.values()))
    assert held <= 4 * 20000 and "heavy-11" in component.blob_storage and "heavy-0" not in component.blob_storage


def test_login_for_several_users(monkeypatch, tmp_path):
    users = tmp_path / "users.txt"
    users.write_text("# who may use the demo\nann:pass one\r\n\nbob:b:2\n", encoding="utf-8")
    monkeypatch.setenv("GENREPAIR_AUTH_FILE", str(users))
    assert app.auth() == [("ann", "pass one"), ("bob", "b:2")]
    monkeypatch.setenv("GENREPAIR_AUTH", "me:s3cret")  # both: every user named
    assert app.auth() == [("me", "s3cret"), ("ann", "pass one"), ("bob", "b:2")]
    monkeypatch.setenv("GENREPAIR_AUTH", "bob:other")
    with pytest.raises(ValueError, match="GENREPAIR_AUTH_FILE line 4: user 'bob' is given twice"):
        app.check_settings()
    monkeypatch.delenv("GENREPAIR_AUTH")
    users.write_text("ann:ok\nbob\n", encoding="utf-8")
    with pytest.raises(ValueError, match='GENREPAIR_AUTH_FILE line 2 must be "user:password"'):
        app.check_settings()
    users.write_text("# nobody yet\n", encoding="utf-8")
    with pytest.raises(ValueError, match="has no user:password line"):
        app.check_settings()
    monkeypatch.setenv("GENREPAIR_AUTH_FILE", str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="GENREPAIR_AUTH_FILE: cannot read .*missing.txt"):
        app.check_settings()


def test_settings_are_checked_at_start(monkeypatch):
    for name, value, message in [
        ("GENREPAIR_CONCURRENCY", "0", "GENREPAIR_CONCURRENCY must be at least 1"),
        ("GENREPAIR_MAX_PIXELS", "1e6", "GENREPAIR_MAX_PIXELS must be a whole number"),
        ("GENREPAIR_AUTH", "admin", 'GENREPAIR_AUTH must be "user:password"'),
        ("GENREPAIR_TILE", "64", "GENREPAIR_TILE must be at least 128"),
        ("GENREPAIR_PREFER_HUB", "2", "GENREPAIR_PREFER_HUB must be 1/0, on/off"),
        ("GENREPAIR_ALLOW_ANY_REPO", "maybe", "GENREPAIR_ALLOW_ANY_REPO must be 1/0, on/off"),  # was off silently
    ]:
        with monkeypatch.context() as m:
            m.setenv(name, value)
            with pytest.raises(ValueError, match=message):
                app.check_settings()
    monkeypatch.setenv("GENREPAIR_AUTH", "me:s3cret:with:colons")
    assert app.auth() == [("me", "s3cret:with:colons")]
    for value in ("fifty", "10", "1.5gb"):  # Gradio's own parse raised a bare ValueError at launch
        monkeypatch.setenv("GENREPAIR_MAX_FILE_SIZE", value)
        with pytest.raises(ValueError, match="GENREPAIR_MAX_FILE_SIZE must be a whole number and a unit"):
            app.check_settings()
    monkeypatch.setenv("GENREPAIR_MAX_FILE_SIZE", "200 MB")
    monkeypatch.setenv("GENREPAIR_DEVICE", "tpu")
    with pytest.raises(ValueError, match="GENREPAIR_DEVICE: unsupported device 'tpu'"):
        app.check_settings()


def test_sigterm_stops_the_server_and_removes_uploads_and_results(tmp_path):
    """docker stop / systemd send SIGTERM: it stops the server as Ctrl-C does, so Gradio deletes its cache of
    users' uploads and results and the app removes its output folders (sys.exit left both behind)."""
    import signal
    import subprocess
    import sys

    from app_server import REPO, free_port

    needs("denoise.color")
    cache, tmp = tmp_path / "gradio", tmp_path / "tmp"
    tmp.mkdir()
    port = free_port()
    env = {**os.environ, "GRADIO_TEMP_DIR": str(cache), "TMPDIR": str(tmp), "GRADIO_SERVER_PORT": str(port),
           "GRADIO_SERVER_NAME": "127.0.0.1", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        client = None
        for _ in range(120):
            try:
                client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(1)
        assert client is not None, "the app did not start"
        src = png(tmp_path, "mine.png", scene(40))
        client.predict("denoise.color", handle_file(src), 10, False, 0, 0, False, False, api_name="/denoise")
        uploads = [p for p in cache.rglob("*") if p.is_file() and not p.name.startswith("landscape")]
        assert any(p.name == "mine.png" for p in uploads) and any(tmp.glob("genrepair-app-*"))
        big = np.random.default_rng(0).integers(0, 256, (900, 900, 3), dtype=np.uint8)
        job = client.submit(  # still running at the stop: Gradio's own clean-up gives up after 5 s
            "denoise.color", handle_file(png(tmp_path, "busy.png", big)), 10, False, 0, 0, False, True,
            api_name="/denoise",
        )  # fmt: skip
        for _ in range(100):
            if any(p.name == "busy.png" for p in cache.rglob("*")):
                break
            time.sleep(0.1)
        time.sleep(1)
        assert not job.done()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0  # not -6: torch's threads aborted the exit
    finally:
        server.kill()
    left = [p.name for p in cache.rglob("*") if p.is_file() and not p.name.startswith("landscape")]
    assert "mine.png" not in left and "busy.png" not in left
    assert not any(p.name.endswith("-denoised.png") for p in cache.rglob("*"))
    assert not any(tmp.glob("genrepair-app-*"))


def test_inpaint_empty_mask_is_an_error(client, tmp_path):
    needs("inpaint.photo")
    src = png(tmp_path, "img.png", scene())
    with pytest.raises(AppError, match="mask is empty"):
        client.predict("inpaint.photo", editor(src), None, False, False, api_name="/inpaint")
    with pytest.raises(AppError, match="mask is empty"):  # mask, invert and comparison may be left out
        client.predict("inpaint.photo", editor(src), api_name="/inpaint")


# ---------------------------------------------------------------- bad input, server survives


def test_bad_input_raises_and_server_stays_up(client, tmp_path):
    needs("denoise.color")
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    unreadable = r"notes\.png: not a recognised image file \(PNG, JPEG"  # Gradio opens it before the handler runs
    with pytest.raises(AppError, match=unreadable):
        client.predict("denoise.color", handle_file(str(text)), 25, True, 0, 0, False, api_name="/denoise")
    good = png(tmp_path, "good.png", scene(32))
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(Path(good).read_bytes()[:120])
    with pytest.raises(AppError, match="damaged or truncated"):
        client.predict("denoise.color", handle_file(str(truncated)), 25, True, 0, 0, False, api_name="/denoise")
    cut = tmp_path / "cut.jpg"  # a JPEG cut short: Gradio cannot open it; the message says why
    Image.fromarray(scene(64)).save(tmp_path / "whole.jpg", quality=90)
    cut.write_bytes((tmp_path / "whole.jpg").read_bytes()[:300])
    with pytest.raises(AppError, match=r"cut\.jpg: the image is damaged or truncated"):
        client.predict("denoise.color", handle_file(str(cut)), 25, True, 0, 0, False, api_name="/denoise")
    with pytest.raises(AppError, match=r"cut\.jpg: the image is damaged or truncated"):
        client.predict("inpaint.photo", editor(str(cut)), handle_file(good), False, False, api_name="/inpaint")
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict("no.such.model", handle_file(good), 25, True, 0, 0, False, api_name="/denoise")
    _, _, out_file, _, _ = client.predict(
        "denoise.color", handle_file(good), 25, True, 0, 0, False, api_name="/denoise"
    )
    assert pixels(out_file).shape == (32, 32, 3)


def test_unreadable_and_oversized_uploads_get_the_same_message_in_every_tab(client, tmp_path, monkeypatch):
    """An SVG, or an image over Pillow's own limit (refused before its size could be read), is named the same way
    by Translate, Denoise and Inpaint (image or mask), and the pixel limit is said with the image's size."""
    needs("cyclegan.flat2fluent3d")
    needs("denoise.color")
    needs("inpaint.photo")
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>')
    huge = tmp_path / "huge.png"
    Image.new("L", (300, 200)).save(huge)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow refuses over 2000 pixels, as over 179 MP
    monkeypatch.setenv("GENREPAIR_MAX_PIXELS", "500")
    good = png(tmp_path, "good.png", scene(16))
    for path, message in [
        (svg, r"logo\.svg: an SVG drawing, not a pixel image; export it as PNG first\.$"),
        (huge, r"huge\.png: 300x200 = 60000 pixels is over the pixel limit of 500 \(GENREPAIR_MAX_PIXELS\)\.$"),
    ]:
        calls = {
            "translate": lambda p: client.predict("cyclegan.flat2fluent3d", handle_file(p), api_name="/translate"),
            "denoise": lambda p: client.predict("denoise.color", handle_file(p), 25, True, 0, 0, False, api_name="/denoise"),
            "inpaint": lambda p: client.predict("inpaint.photo", editor(p), None, False, False, api_name="/inpaint"),
            "mask": lambda p: client.predict("inpaint.photo", editor(good), handle_file(p), False, False, api_name="/inpaint"),
        }  # fmt: skip
        for tab, call in calls.items():
            with pytest.raises(AppError) as e:
                call(str(path))
            assert re.search(message, str(e.value)), (tab, str(e.value))


def test_downloads_are_named_after_the_upload_and_never_hidden(client, tmp_path):
    needs("denoise.color")
    for name, download in [("beach photo.png", "beach photo-denoised.png"), ("..png", "image-denoised.png"),
                           (".hidden.png", "hidden-denoised.png"), ("é" * 120 + ".png", "é" * 75 + "-denoised.png")]:  # fmt: skip
        src = tmp_path / name
        Image.fromarray(scene(16)).save(src, format="PNG")
        _, _, out_file, _, _ = client.predict(
            "denoise.color", handle_file(str(src)), 10, False, 0, 0, False, api_name="/denoise"
        )
        assert Path(out_file).name == download


def test_files_the_request_did_not_upload_are_refused(client, tmp_path):
    """A file payload without Gradio's "meta" skipped its upload-folder check: the server's own files came back as
    the "input" picture (any image it can read), and the other handlers opened any path."""
    needs("denoise.color")
    secret = png(tmp_path, "secret.png", scene(16))  # a picture on the server, outside the upload folder
    for path in (secret, str(Path(app.__file__).parent / "examples" / ".." / "pyproject.toml")):
        with pytest.raises(AppError, match="was not uploaded to this server"):
            client.predict("denoise.color", {"path": path}, 15, False, 0, 0, False, api_name="/denoise")
    assert not app.served(secret) and app.served(app.example("landscape.png"))
    assert app.match_denoiser("denoise.color", secret).value is None  # not opened: no probing of server files


def test_denoise_upload_picks_the_denoiser_for_the_picture(tmp_path, monkeypatch):
    """Uploading a gray picture (or gray stored as RGB, here a JPEG) switches denoise.color to denoise.gray and a
    color picture switches back; another model the user picked stays."""
    needs("denoise.color")
    needs("denoise.gray")
    monkeypatch.setattr(app, "_served_roots", lambda: [tmp_path.resolve()])  # as if uploaded
    gray = png(tmp_path, "g.png", scene(40)[..., 0])
    Image.open(gray).convert("RGB").save(tmp_path / "g.jpg")
    color = png(tmp_path, "c.png", scene(40))
    assert app.match_denoiser("denoise.color", gray).value == "denoise.gray"
    assert app.match_denoiser("denoise.color", str(tmp_path / "g.jpg")).value == "denoise.gray"
    assert app.match_denoiser("denoise.gray", color).value == "denoise.color"
    assert app.match_denoiser("dncnn.gray", color).value is None  # not one of the pair: unchanged
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    assert app.match_denoiser("denoise.color", str(broken)).value is None  # the run reports it


def test_only_an_rgba_background_png_counts_as_the_browser_canvas(tmp_path):
    """The editor's canvas export (background.png, 8-bit RGBA) is converted like any canvas image; a user's own
    16-bit file of that name is the upload itself and keeps its depth."""
    from types import SimpleNamespace

    folder = tmp_path / "a"
    folder.mkdir()
    Image.new("RGBA", (4, 4)).save(folder / "background.png")
    deep = tmp_path / "b"
    deep.mkdir()
    Image.fromarray(np.full((4, 4), 40000, np.uint16)).save(deep / "background.png")
    other = tmp_path / "c.png"
    Image.new("RGBA", (4, 4)).save(other)

    def data(path):
        return SimpleNamespace(path=str(path), orig_name=Path(path).name)

    assert app._canvas_export(data(folder / "background.png"))
    assert not app._canvas_export(data(deep / "background.png"))
    assert not app._canvas_export(data(other))


def test_clear_mask_empties_the_mask_layer_and_keeps_the_sketch(tmp_path):
    bg = Image.fromarray(scene(20))
    mask = Image.new("RGBA", (20, 20), (255, 0, 0, 255))
    sketch = Image.new("RGBA", (20, 20), (0, 0, 255, 0))
    sketch.putpixel((3, 4), (0, 0, 255, 255))
    value, uploaded = app.clear_mask({"background": bg, "layers": [mask, sketch], "composite": None})
    assert uploaded is None  # an uploaded mask file is dropped too
    assert np.asarray(value["layers"][0])[..., 3].max() == 0  # the mask layer is empty
    assert np.array_equal(np.asarray(value["layers"][1]), np.asarray(sketch))  # the sketch stays
    assert np.array_equal(np.asarray(value["background"].convert("RGB")), np.asarray(bg))
    assert app.clear_mask(None) == (None, None)


def test_clear_mask_drops_a_sketch_layer_of_another_shape():
    bg = Image.fromarray(scene(20))
    sketch = Image.new("RGBA", (40, 10), (0, 0, 255, 255))  # only a hand-made API request sends this
    value, _ = app.clear_mask({"background": bg, "layers": [None, sketch], "composite": None})
    assert len(value["layers"]) == 1  # the empty mask layer; the sketch was not stretched over the picture
    assert np.array_equal(np.asarray(value["composite"].convert("RGB")), np.asarray(bg))


def test_unqueued_handlers_refuse_calls_beyond_the_concurrency_limit(monkeypatch):
    monkeypatch.setenv("GENREPAIR_CONCURRENCY", "1")
    entered, release = threading.Event(), threading.Event()

    @app.refused_when_busy
    def slow():
        entered.set()
        release.wait(10)
        return "done"

    results = []
    first = threading.Thread(target=lambda: results.append(slow()))
    first.start()
    assert entered.wait(10)
    with pytest.raises(app.gr.Error, match="busy"):
        slow()  # refused at once, not queued behind the first
    release.set()
    first.join(10)
    assert results == ["done"]
    assert slow() == "done"  # the slot was given back


def test_reverse_direction_takes_only_the_output_of_the_model_shown(tmp_path):
    """Reverse swaps the model and feeds the last output back, unless that output came from another model (one
    picked since, without a run: its output is another style, and the user's input was replaced by it)."""
    for name in ("cyclegan.flat2fluent3d", "cyclegan.fluent3d2flat", "cyclegan.sketch2flat", "cyclegan.flat2sketch"):
        needs(name)
    out = tmp_path / "cyclegan.flat2fluent3d-smiley.png"
    assert app.reverse_direction("cyclegan.flat2fluent3d", str(out)) == ("cyclegan.fluent3d2flat", str(out))
    model, image = app.reverse_direction("cyclegan.sketch2flat", str(out))
    assert model == "cyclegan.flat2sketch" and isinstance(image, type(app.gr.skip()))
    model, image = app.reverse_direction("cyclegan.sketch2flat", None)
    assert model == "cyclegan.flat2sketch" and isinstance(image, type(app.gr.skip()))
