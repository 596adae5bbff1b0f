"""Awkward files: each one works with the conversion documented in ``genrepair.imageio``, or fails
with a specific error. Input files are never modified."""

from __future__ import annotations

import io
import struct
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import (
    assert_unchanged,
    exif_rotated_jpeg,
    icc_profile,
    identity_denoiser,
    photo,
    png16_rgb,
    png_bytes,
    png_chunk,
    snapshot,
    tiny,
)
from PIL import Image, ImageOps, features

from genrepair import ImageInputError, ModelLoadError, denoise, inpaint, load_model, translate
from genrepair.imageio import RGB16, check_file, decode, open_image, rgb16, write_png

pytestmark = pytest.mark.usefixtures("isolated_env")


@pytest.fixture(scope="module")
def identity():
    return identity_denoiser()


def through(identity, path: Path) -> Image.Image:
    """Denoise a file with the identity model, checking that the file is left as it was."""
    before = snapshot(path)
    out = denoise(identity, path, sigma=0)
    assert_unchanged(before)
    return out


# ---------------------------------------------------------------- files that work


def test_cmyk_jpeg_becomes_rgb(identity, tmp_path: Path) -> None:
    src = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (9, 7), (0, 255, 0, 0)).save(src, quality=100)  # pure magenta ink
    out = through(identity, src)
    assert out.mode == "RGB" and out.size == (9, 7)
    assert np.abs(np.asarray(out, np.int64) - [255, 0, 255]).max() <= 3


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
def test_icc_profile_is_carried_to_every_output(identity, inpainter, mode: str, tmp_path: Path) -> None:
    """A phone's Display P3 or an Adobe RGB photo: the pixels are worked on as stored, so the result carries
    the same profile (else it would display in other colours); the saved PNG holds it."""
    icc = icc_profile(b"GRAY" if mode == "L" else b"RGB ")
    src = tmp_path / "profiled.png"
    photo(24, 16, mode=mode).save(src, icc_profile=icc)
    mask = Image.new("L", (24, 16), 0)
    mask.paste(255, (4, 4, 12, 12))
    translated = translate(tiny("ResnetGenerator"), src)
    outs = [through(identity, src), inpaint(inpainter, src, mask)] + ([translated] if mode != "L" else [])
    if mode == "L":  # a colour model colours a gray picture: a gray profile does not describe its output
        assert translated.mode == "RGB" and "icc_profile" not in translated.info
    for out in outs:
        assert out.info.get("icc_profile") == icc
        out.save(tmp_path / "out.png")
        assert Image.open(tmp_path / "out.png").info.get("icc_profile") == icc


def test_a_profile_that_does_not_fit_the_output_is_dropped(identity, tmp_path: Path) -> None:
    """A CMYK file's profile says nothing about the RGB pixels it is converted to, nor an RGB profile about
    gray pixels: neither is attached to a result."""
    src = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (9, 7), (0, 255, 0, 0)).save(src, icc_profile=icc_profile(b"CMYK"))
    assert Image.open(src).info.get("icc_profile")  # the file does hold it
    assert "icc_profile" not in through(identity, src).info
    gray = tmp_path / "gray.png"
    Image.new("L", (9, 7), 128).save(gray, icc_profile=icc_profile(b"RGB "))
    assert decode(Image.open(gray)).icc is None


def test_16_bit_gray_png_stays_16_bit(identity, tmp_path: Path) -> None:
    arr = np.linspace(0, 65535, 12 * 10).reshape(10, 12).astype(np.uint16)
    src = tmp_path / "gray16.png"
    Image.fromarray(arr).save(src)
    out = through(identity, src)
    assert out.mode == "I;16"
    assert np.array_equal(np.asarray(out), arr)


def test_dark_16_bit_pgm_and_32_bit_tiff_keep_their_brightness(identity, tmp_path: Path) -> None:
    """Pillow opens 16-bit PGM (and 32-bit integer TIFF) as mode "I": white is 65535 whatever the content,
    so a dark picture stays dark (it used to be read as 8-bit when no value passed 255: 257x brighter)."""
    arr = np.full((10, 12), 200, np.uint16)
    arr[:, 6:] = 250
    Image.fromarray(arr).save(tmp_path / "dark.pgm")
    assert Image.open(tmp_path / "dark.pgm").mode == "I"
    out = through(identity, tmp_path / "dark.pgm")
    assert out.mode == "I;16" and np.array_equal(np.asarray(out), arr)
    Image.fromarray(arr.astype(np.int32) * 65536).save(tmp_path / "deep.tif")  # past 16 bits: 32-bit scale
    out = through(identity, tmp_path / "deep.tif")
    assert np.abs(np.asarray(out, float) - arr * 65536.0 / (2**31 - 1) * 65535).max() <= 1


def test_32_bit_unsigned_tiff_uses_its_full_range_and_signed_negatives_are_refused(identity, tmp_path):
    """Pillow holds an unsigned 32-bit TIFF as signed 32-bit: values past 2**31 came back negative (black)."""
    tifffile = pytest.importorskip("tifffile")
    arr = np.linspace(0, 2**32 - 1, 20 * 30).reshape(20, 30).astype(np.uint32)
    tifffile.imwrite(tmp_path / "u32.tif", arr)
    out = np.asarray(through(identity, tmp_path / "u32.tif"), float)
    assert np.abs(out - arr / (2**32 - 1) * 65535).max() <= 1
    for dtype in (np.int16, np.int32):
        tifffile.imwrite(tmp_path / "signed.tif", (arr // 2**20).astype(dtype) - 100)
        with pytest.raises(ImageInputError, match=r"signed integer image with negative values \(down to -100\)"):
            denoise(identity, tmp_path / "signed.tif", sigma=0)
    tifffile.imwrite(tmp_path / "s16.tif", (arr // 2**17).astype(np.int16))  # signed, no negatives: 16-bit scale
    out = np.asarray(through(identity, tmp_path / "s16.tif"), float)
    assert np.array_equal(out, arr // 2**17)


def test_float_tiff_scale_ignores_a_few_outliers_and_refuses_nan(identity, tmp_path: Path) -> None:
    arr = np.linspace(0.25, 0.75, 40 * 60, dtype=np.float32).reshape(40, 60)
    arr[0, 0] = 1.5  # one over-range pixel in a 0-1 image: clipped, the rest keeps its scale
    Image.fromarray(arr).save(tmp_path / "hi.tif")
    out = np.asarray(through(identity, tmp_path / "hi.tif"), float) / 65535
    assert np.abs(out[1:] - arr[1:]).max() < 1e-4 and out[0, 0] == 1.0
    Image.fromarray(arr * 255).save(tmp_path / "u8.tif")  # a 0-255 float image
    out = np.asarray(through(identity, tmp_path / "u8.tif"), float) / 65535
    assert np.abs(out[1:] - arr[1:]).max() < 1e-4
    over = arr.copy()
    over[np.random.default_rng(1).random(arr.shape) < 0.02] = 1.02  # 2% overshoot (resampling, sharpening)
    Image.fromarray(over).save(tmp_path / "over.tif")
    out = np.asarray(through(identity, tmp_path / "over.tif"), float) / 65535  # read as 0-1: was all black
    assert np.abs(out - np.minimum(over, 1)).max() < 1e-4
    assert np.abs(np.asarray(denoise(identity, over, sigma=0), float) / 65535 - np.minimum(over, 1)).max() < 1e-4
    for bad in (np.nan, np.inf):
        arr[3, 4] = bad
        Image.fromarray(arr).save(tmp_path / "bad.tif")
        with pytest.raises(ImageInputError, match="1 NaN or infinite pixel"):
            denoise(identity, tmp_path / "bad.tif")


def _read16(path: Path) -> np.ndarray:
    """A 16-bit PNG/TIFF's pixels as RGB(A), read by OpenCV (Pillow would give 8 bits)."""
    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert arr is not None and arr.dtype == np.uint16, f"{path.name} is not a 16-bit image"
    return arr[..., [2, 1, 0, 3][: arr.shape[2]]]


def test_16_bit_rgb_png_keeps_16_bits(identity, tmp_path: Path) -> None:
    """Pillow reads 16-bit RGB PNGs as 8 bits (the high byte); the pipelines read all 16, carry them with the
    8-bit image (which stays what Pillow shows) and ``write_png`` saves them."""
    arr = np.random.default_rng(0).integers(0, 65536, (10, 12, 3), dtype=np.uint16)
    src = png16_rgb(tmp_path / "rgb16.png", arr)
    out = through(identity, src)
    assert out.mode == "RGB" and out.size == (12, 10)
    assert np.array_equal(np.asarray(out), (arr >> 8).astype(np.uint8))  # what img.save would write
    assert np.array_equal(rgb16(out), arr)
    write_png(out, tmp_path / "out.png")
    assert np.array_equal(_read16(tmp_path / "out.png"), arr)
    d = decode(open_image(tmp_path / "out.png"))  # and it reads back at 16 bits
    assert d.high_bit and np.array_equal(np.round(d.pixels * 65535).astype(np.uint16), arr)


@pytest.mark.parametrize("orientation", [1, 3, 6, 7, 8])
def test_16_bit_rgba_png_is_turned_upright_with_its_16_bits(identity, tmp_path: Path, orientation: int) -> None:
    arr = np.random.default_rng(orientation).integers(0, 65536, (6, 10, 4), dtype=np.uint16)
    icc = icc_profile()
    src = png16_rgb(tmp_path / "rgba16.png", arr, orientation=orientation, icc=icc)
    out = through(identity, src)
    with Image.open(src) as img:  # Pillow's 8-bit reading, turned upright, is the reference for the turn
        upright = np.asarray(ImageOps.exif_transpose(img))
    assert out.mode == "RGBA" and np.array_equal(np.asarray(out), upright)
    wide = rgb16(out)
    assert wide is not None and np.array_equal(wide >> 8, upright)
    assert sorted(np.unique(wide)) == sorted(np.unique(arr))  # the low bytes came along
    write_png(out, tmp_path / "out.png")
    assert np.array_equal(_read16(tmp_path / "out.png"), wide)
    with Image.open(tmp_path / "out.png") as back:
        assert back.info.get("icc_profile") == icc  # OpenCV writes no profile: ours is put in


def test_16_bit_rgb_tiff_and_arrays_keep_16_bits(identity, tmp_path: Path) -> None:
    arr = np.random.default_rng(1).integers(0, 65536, (9, 7, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "rgb16.tif"), arr[..., ::-1])
    assert np.array_equal(rgb16(through(identity, tmp_path / "rgb16.tif")), arr)
    held = arr.copy()
    assert np.array_equal(rgb16(denoise(identity, held, sigma=0)), arr)  # a uint16 array, as OpenCV users hold
    assert np.array_equal(held, arr)


@pytest.mark.parametrize(
    "layout",
    [
        {},
        {"byteorder": ">"},
        {"rowsperstrip": 3},
        {"tile": (16, 16)},
        {"extrasamples": ["unassalpha"]},
        {"extratags": [(274, "H", 1, 6, True)]},  # EXIF-style orientation: Pillow turns TIFFs as it loads them
    ],
    ids=["strip", "big-endian", "strips", "tiles", "rgba", "turned"],
)
def test_16_bit_planar_tiff_is_read_plane_by_plane(identity, tmp_path: Path, layout: dict) -> None:
    """An uncompressed 16-bit TIFF stored plane by plane (PlanarConfiguration 2): Pillow reads each plane as
    8-bit samples (stripes) and OpenCV misreads it too; the planes are read from the file instead."""
    tifffile = pytest.importorskip("tifffile")
    channels = 4 if "extrasamples" in layout else 3
    arr = np.random.default_rng(5).integers(0, 65536, (20, 30, channels), dtype=np.uint16)
    src = tmp_path / "planar.tif"
    tifffile.imwrite(src, np.moveaxis(arr, 2, 0), planarconfig="separate", photometric="rgb", **layout)
    out = through(identity, src)
    upright = np.rot90(arr, -1) if "extratags" in layout else arr
    assert out.mode == ("RGB", "RGBA")[channels - 3] and np.array_equal(rgb16(out), upright)
    assert np.array_equal(np.asarray(out), upright >> 8)
    compressed = tmp_path / "planar_zlib.tif"  # read by libtiff, right at 8 bits
    tifffile.imwrite(compressed, np.moveaxis(arr, 2, 0), planarconfig="separate", photometric="rgb",
                     compression="zlib", **layout)  # fmt: skip
    assert np.array_equal(np.asarray(through(identity, compressed)), upright >> 8)
    ends = "plane ends past the end" if not layout else ""  # one strip a plane: Pillow reads the cut plane as 8 bits
    for keep, why in ((src.stat().st_size * 2 // 3, ""), (-100, ends)):
        if keep == -100 and "tile" in layout:
            continue  # the last tile's padding is what is cut: its pixels are all there
        cut = tmp_path / "cut.tif"
        cut.write_bytes(src.read_bytes()[:keep])
        with pytest.raises(ImageInputError, match=f"cut.tif: the image is damaged or truncated.*{why}"):
            open_image(cut)


@pytest.mark.parametrize("maxval", [65535, 4095, 1023])
def test_16_bit_ppm_keeps_16_bits(identity, tmp_path: Path, maxval: int) -> None:
    """A color PPM with a maxval over 255 (``dcraw -4`` writes 16-bit ones): Pillow scales it to 8 bits; its
    samples are scaled to 0-65535 instead."""
    arr = np.arange(maxval + 1, dtype=np.uint16)  # every sample value
    arr = np.pad(arr, (0, -arr.size % 96)).reshape(-1, 32, 3)
    src = tmp_path / "raw.ppm"
    src.write_bytes(b"P6\n32 %d\n%d\n" % (arr.shape[0], maxval) + arr.astype(">u2").tobytes())
    out = through(identity, src)
    assert out.mode == "RGB" and np.array_equal(rgb16(out), np.round(arr * (65535 / maxval)).astype(np.uint16))
    with Image.open(src) as img:  # the 8-bit view stays Pillow's, to a level
        assert np.abs(np.asarray(out, int) - np.asarray(img, int)).max() <= 1


@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_jpeg2000_keeps_16_bits(identity, tmp_path: Path, channels: int) -> None:
    """A color JPEG 2000 file of 16 bits a sample: Pillow reads it at 8 bits and wraps its top values to 0 (white
    came out black); OpenCV's 16-bit pixels are used instead."""
    import cv2

    y, x = np.mgrid[0:48, 0:64]  # 32 px or more: OpenCV writes 6 levels; smooth, which it stores losslessly
    arr = np.stack([x * 1000, y * 1300, (x + y) * 500, 65535 - x * 900][:channels], -1).astype(np.uint16)
    arr[:4] = 65535  # white rows: Pillow's view of them is black
    src = tmp_path / "scan.jp2"
    assert cv2.imwrite(str(src), arr[..., [2, 1, 0, 3][:channels]])
    out = through(identity, src)
    assert out.mode == ("RGB", "RGBA")[channels - 3]
    assert np.array_equal(rgb16(out), arr)
    assert np.asarray(out)[:4].min() == 255


def _png16(path: Path, arr: np.ndarray, color_type: int, extra: bytes = b"") -> Path:
    h, w = arr.shape[:2]
    rows = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))
    path.write_bytes(png_bytes(w, h, 16, color_type, rows, extra))
    return path


def test_16_bit_transparency_keeps_16_bits(identity, tmp_path: Path) -> None:
    """A 16-bit tRNS colour key holds 16-bit values (Pillow compares 8-bit pixels with it and finds none, and
    drops it for gray); gray + alpha at 16 bits opens as RGBA in Pillow: all three come back as 16-bit RGBA."""
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 65536, (5, 6, 3), dtype=np.uint16)
    rgb[0, 0] = rgb[2, 3] = (1000, 2000, 3000)
    key = png_chunk(b"tRNS", struct.pack(">HHH", 1000, 2000, 3000))
    gray = rng.integers(0, 65536, (5, 6), dtype=np.uint16)
    gray[1, 1] = 777
    gray_key = png_chunk(b"tRNS", struct.pack(">H", 777))
    alpha = rng.integers(0, 65536, (5, 6), dtype=np.uint16)
    cases = {
        "rgb_key": (_png16(tmp_path / "rgb_key.png", rgb, 2, key), rgb, (rgb != (1000, 2000, 3000)).any(2) * 65535),
        "gray_key": (_png16(tmp_path / "gray_key.png", gray, 0, gray_key), gray[..., None], (gray != 777) * 65535),
        "gray_alpha": (_png16(tmp_path / "gray_alpha.png", np.dstack([gray, alpha]), 4), gray[..., None], alpha),
    }
    for name, (src, color, clear) in cases.items():
        out = through(identity, src)
        expected = np.dstack([np.broadcast_to(color, (5, 6, 3)), clear]).astype(np.uint16)
        assert out.mode == "RGBA" and np.array_equal(rgb16(out), expected), name
        with Image.open(src) as opened:  # Image.open's result, unread: the same (Pillow lost the key)
            assert np.array_equal(rgb16(denoise(identity, opened, sigma=0)), expected), name
        write_png(out, tmp_path / f"{name}_out.png")
        assert np.array_equal(_read16(tmp_path / f"{name}_out.png"), expected), name


def test_an_edited_16_bit_image_does_not_use_its_stale_16_bits(identity, tmp_path: Path) -> None:
    """Pillow copies ``info`` into resized or edited images: the 16-bit pixels must no longer apply."""
    arr = np.random.default_rng(2).integers(0, 65536, (10, 12, 3), dtype=np.uint16)
    img = open_image(png16_rgb(tmp_path / "rgb16.png", arr))
    assert rgb16(img) is not None
    small = img.resize((6, 5))
    assert RGB16 in small.info and rgb16(small) is None
    out = denoise(identity, small, sigma=0)
    assert rgb16(out) is None and np.array_equal(np.asarray(out), np.asarray(small))
    img.paste((1, 2, 3), (0, 0, 4, 4))  # edited in place: same size, other pixels
    assert rgb16(img) is None and not decode(img).high_bit


def test_inpainting_a_16_bit_rgb_png_keeps_the_rest_bit_for_bit(inpainter, tmp_path: Path) -> None:
    arr = np.random.default_rng(3).integers(0, 65536, (16, 24, 3), dtype=np.uint16)
    src = png16_rgb(tmp_path / "rgb16.png", arr)
    hole = np.zeros((16, 24), bool)
    hole[4:10, 6:14] = True
    out = inpaint(inpainter, src, hole)
    wide = rgb16(out)
    assert wide is not None and np.array_equal(wide[~hole], arr[~hole])
    assert not np.array_equal(wide[hole], arr[hole])
    assert np.array_equal(np.asarray(out), wide >> 8)


def test_palette_png_with_transparency_becomes_rgba(identity, tmp_path: Path) -> None:
    img = Image.new("P", (9, 7), 1)
    img.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9))
    img.paste(2, (0, 0, 4, 7))
    src = tmp_path / "pal.png"
    img.save(src, transparency=1)  # index 1 (red) is transparent
    out = through(identity, src)
    assert out.mode == "RGBA"
    a = np.asarray(out)
    assert (a[:, :4] == [0, 255, 0, 255]).all()
    assert (a[:, 4:, 3] == 0).all()


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_png_colour_key_transparency_becomes_alpha(identity, mode: str, tmp_path: Path) -> None:
    """A gray or RGB PNG whose tRNS chunk names one colour as transparent keeps that transparency."""
    img = Image.new(mode, (9, 7), 0 if mode == "L" else (0, 0, 0))
    img.paste(200 if mode == "L" else (200, 30, 30), (0, 0, 4, 7))
    src = tmp_path / "key.png"
    img.save(src, transparency=0 if mode == "L" else (0, 0, 0))  # black is transparent
    out = through(identity, src)
    assert out.mode == mode + "A"
    a = np.asarray(out)
    assert (a[:, :4, -1] == 255).all() and (a[:, 4:, -1] == 0).all()
    assert (a[:, :4, 0] == 200).all()


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_low_bit_gray_png_colour_key_becomes_alpha(identity, bits: int, tmp_path: Path) -> None:
    """1-, 2- and 4-bit gray PNGs with a tRNS key (optipng saves two-tone line art and masks so) keep their
    transparency: Pillow scales such pixels to 0-255 but not the key (and drops 1-bit transparency on L)."""
    top = 2**bits - 1
    values = np.arange(12) % (top + 1)
    pix = np.tile(values, (5, 1))
    nbytes = -(-12 * bits // 8)
    packed = ("".join(format(int(v), f"0{bits}b") for v in row).ljust(8 * nbytes, "0") for row in pix)
    rows = b"".join(b"\x00" + int(bits_, 2).to_bytes(nbytes, "big") for bits_ in packed)
    for key in sorted({0, top, min(1, top)}):
        src = tmp_path / f"key{key}.png"
        src.write_bytes(png_bytes(12, 5, bits, 0, rows, png_chunk(b"tRNS", struct.pack(">H", key))))
        out = through(identity, src)
        assert out.mode == "LA", (bits, key)
        a = np.asarray(out)
        assert np.array_equal(a[..., 1] == 0, pix == key), (bits, key)
        assert np.array_equal(a[..., 0], pix * (255 // top)), (bits, key)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_formats(identity, mode: str, tmp_path: Path) -> None:
    img = photo(11, 8).convert(mode[:-1])
    img.putalpha(Image.linear_gradient("L").resize((11, 8)))
    src = tmp_path / f"{mode}.png"
    img.save(src)
    out = through(identity, src)
    assert out.mode == mode
    assert np.array_equal(np.asarray(out), np.asarray(img))


def test_1_bit_becomes_gray(identity, tmp_path: Path) -> None:
    img = Image.new("1", (9, 7), 0)
    img.paste(1, (0, 0, 3, 7))
    src = tmp_path / "bits.png"
    img.save(src)
    out = through(identity, src)
    assert out.mode == "L"
    assert set(np.unique(np.asarray(out))) == {0, 255}
    assert (np.asarray(out)[:, :3] == 255).all()


def test_animated_gif_uses_the_first_frame(identity, tmp_path: Path) -> None:
    frames = [Image.new("RGB", (20, 10), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    src = tmp_path / "anim.gif"
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = through(identity, src)
    assert out.mode == "RGB" and out.size == (20, 10)
    assert (np.asarray(out) == [255, 0, 0]).all()


def test_a_pil_animation_left_on_a_later_frame_is_rewound(identity, tmp_path: Path) -> None:
    frames = [Image.new("RGB", (6, 4), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / "anim.gif") as img:
        img.seek(1)
        assert (np.asarray(denoise(identity, img, sigma=0)) == [255, 0, 0]).all()
        assert img.tell() == 1  # not moved under the caller


def test_exif_rotated_jpeg(identity, tmp_path: Path) -> None:
    out = through(identity, exif_rotated_jpeg(tmp_path / "rot.jpg"))
    assert out.size == (20, 30)
    assert np.asarray(out, np.int64)[:5, :, 2].mean() > 200  # the blue left edge is now the top


@pytest.mark.parametrize("size", [(1, 1), (3, 5), (5, 3)])
def test_tiny_images(identity, size, tmp_path: Path) -> None:
    src = tmp_path / "tiny.png"
    photo(*size).save(src)
    assert np.array_equal(np.asarray(through(identity, src)), np.asarray(Image.open(src)))
    assert translate(tiny("ResnetGenerator"), src).size == size
    mask = Image.new("L", size, 255)
    if size == (1, 1):
        with pytest.raises(ImageInputError, match="the mask covers the whole image"):
            inpaint(tiny("InpaintNet"), src, mask)
        return
    mask.putpixel((0, 0), 0)
    assert inpaint(tiny("InpaintNet"), src, mask).size == size


@pytest.mark.parametrize(
    ("ext", "kwargs"), [(".webp", {"lossless": True}), (".tif", {}), (".bmp", {}), (".jpg", {"quality": 95})]
)
def test_other_formats(identity, ext: str, kwargs: dict, tmp_path: Path) -> None:
    img = photo(15, 10)
    src = tmp_path / f"img{ext}"
    img.save(src, **kwargs)
    out = through(identity, src)
    assert out.mode == "RGB" and out.size == (15, 10)
    assert np.array_equal(np.asarray(out), np.asarray(Image.open(src).convert("RGB")))


@pytest.mark.slow
def test_12_megapixel_photo_is_tiled(identity) -> None:
    img = photo(4000, 3000)
    shapes = []
    handle = identity.register_forward_pre_hook(lambda _, args: shapes.append(tuple(args[0].shape[-2:])))
    try:
        out = denoise(identity, img, sigma=10)
    finally:
        handle.remove()
    assert out.size == (4000, 3000) and out.mode == "RGB"
    assert len(shapes) > 40 and max(max(s) for s in shapes) < 512 + 8, "tiles bounded by the tile size"
    assert np.array_equal(np.asarray(out)[::97, ::89], np.asarray(img)[::97, ::89])


# ---------------------------------------------------------------- files that are refused


def test_truncated_png(tmp_path: Path) -> None:
    full = tmp_path / "full.png"
    photo(64, 48).save(full)
    src = tmp_path / "cut.png"
    src.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    before = snapshot(src)
    with pytest.raises(ImageInputError, match=r"cut\.png: the image is damaged or truncated"):
        denoise(identity_denoiser(), src, sigma=5)
    assert_unchanged(before)


def test_decoders_other_errors_are_damaged_files_too(tmp_path: Path) -> None:
    """Pillow's QOI reader raises IndexError on a truncated file and its AVIF decoder RuntimeError on a damaged one:
    they escaped as tracebacks and stopped a folder run, where other damaged files are skipped with a message."""
    y, x = np.mgrid[0:48, 0:64]
    img = Image.fromarray(np.dstack([x * 4, y * 5, (x + y) * 2]).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, "QOI")
    (tmp_path / "cut.qoi").write_bytes(buf.getvalue()[: len(buf.getvalue()) * 4 // 5])
    with pytest.raises(ImageInputError, match=r"cut\.qoi: the image is damaged or truncated"):
        open_image(tmp_path / "cut.qoi")
    if not features.check("avif"):
        return
    buf = io.BytesIO()
    img.save(buf, "AVIF")
    data = buf.getvalue()
    for seed in range(100):  # bytes flipped in the second half until the decoder itself fails on them
        damaged = bytearray(data)
        for at in np.random.default_rng(seed).integers(len(data) // 2, len(data), 8):
            damaged[at] ^= 0xFF
        try:
            Image.open(io.BytesIO(bytes(damaged))).load()
        except RuntimeError:
            break
        except Exception:  # noqa: BLE001 - another error (not an AVIF any more): try another seed
            continue
    else:
        pytest.skip("no damage found that this libavif fails on with a RuntimeError")
    (tmp_path / "bad.avif").write_bytes(bytes(damaged))
    with pytest.raises(ImageInputError, match=r"bad\.avif: the image is damaged or truncated"):
        open_image(tmp_path / "bad.avif")


def test_a_file_opened_as_text_is_named(tmp_path: Path) -> None:
    photo(8, 8).save(tmp_path / "x.png")
    with (
        open(tmp_path / "x.png") as f,
        pytest.raises(ImageInputError, match=r"x\.png: opened as text; open it with 'rb'"),
    ):
        open_image(f)
    with pytest.raises(ImageInputError, match="opened as text"):
        open_image(io.StringIO("not an image"))


def test_zero_byte_file(tmp_path: Path) -> None:
    src = tmp_path / "empty.png"
    src.touch()
    with pytest.raises(ImageInputError, match=r"empty\.png: the file is empty"):
        open_image(src)


def test_text_file_named_png(tmp_path: Path) -> None:
    src = tmp_path / "readme.png"
    src.write_text("# not an image\n")
    before = snapshot(src)
    with pytest.raises(ImageInputError, match=r"readme\.png: not a recognised image file"):
        translate(tiny("ResnetGenerator"), src)
    assert_unchanged(before)


def test_svg_heic_and_other_files_say_what_can_be_read(tmp_path: Path) -> None:
    drawing = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>\n'
    (tmp_path / "drawing.svg").write_bytes(drawing)
    (tmp_path / "drawing.png").write_bytes(drawing)  # named as a PNG: known by its first bytes
    (tmp_path / "data.xml").write_bytes(b'<?xml version="1.0"?>\n<data/>\n')
    for name in ("drawing.svg", "drawing.png"):
        for read in (open_image, check_file):
            with pytest.raises(ImageInputError, match=rf"{name}: an SVG drawing, not a pixel image; export it as PNG"):
                read(tmp_path / name)
    with pytest.raises(ImageInputError, match=r"data\.xml: not a recognised image file \(PNG, JPEG, .* can be read\)"):
        open_image(tmp_path / "data.xml")
    heic = struct.pack(">I", 24) + b"ftypheic" + bytes(4) + b"mif1heic" + bytes(200)  # an iPhone photo's first box
    (tmp_path / "IMG_0001.HEIC").write_bytes(heic)
    for read in (open_image, check_file):
        with pytest.raises(ImageInputError, match=r"IMG_0001\.HEIC: a HEIC/HEIF photo, .* save or share it as JPEG"):
            read(tmp_path / "IMG_0001.HEIC")
    avif = (
        struct.pack(">I", 24) + b"ftypmif1" + bytes(4) + b"mif1avif" + bytes(200)
    )  # an AVIF whose first brand is mif1
    (tmp_path / "x.avif").write_bytes(avif)
    with pytest.raises(ImageInputError, match=r"x\.avif: not a recognised image file"):
        check_file(tmp_path / "x.avif")


def test_damaged_exif_data_is_ignored_not_fatal(identity, tmp_path: Path) -> None:
    """Pillow's EXIF parser raises SyntaxError, struct.error or TypeError on damaged EXIF blocks (seen in the wild from
    editors that write tags with the wrong type): the picture is read with a warning, turned if its orientation
    can still be read; in a CLI batch such a file used to stop the run."""
    entries = [struct.pack(">HHI", 0x0112, 3, 1) + struct.pack(">HH", 6, 0),  # orientation 6 (turn right)
               struct.pack(">HHI", 0x0128, 2, 2) + b"x\x00\x00\x00"]  # ResolutionUnit, a number, stored as text  # fmt: skip
    mistyped = b"Exif\x00\x00MM\x00\x2a" + struct.pack(">IH", 8, 2) + b"".join(entries) + bytes(4)
    cut = b"Exif\x00\x00MM\x00\xbc\x00\x00\x00\x08"  # not even a TIFF header
    rgb = np.random.default_rng(0).integers(0, 256, (16, 24, 3), np.uint8)
    for name, exif, size in (
        ("mistyped.jpg", mistyped, (16, 24)),
        ("cut.png", cut, (24, 16)),
        ("cut.webp", cut, (24, 16)),
    ):
        Image.fromarray(rgb).save(tmp_path / name, exif=exif, **({"lossless": True} if name.endswith("webp") else {}))
        with pytest.warns(UserWarning, match="EXIF data is damaged and was ignored"):
            out = through(identity, tmp_path / name)
        assert out.size == size, name
        if name.endswith("png"):
            assert np.array_equal(np.asarray(out), rgb)


def test_a_photoshop_file_reads_as_its_merged_image(tmp_path: Path) -> None:
    """Pillow numbers a PSD's merged image frame 1 (its layers are the others): it was taken for an animation left on a
    later frame, and going back to frame 0 raised EOFError."""
    h, w = 6, 5
    planes = np.arange(3 * h * w, dtype=np.uint8).reshape(3, h, w)
    header = b"8BPS" + struct.pack(">H", 1) + bytes(6) + struct.pack(">HIIHH", 3, h, w, 8, 3)
    (tmp_path / "flat.psd").write_bytes(header + bytes(4 + 4 + 4 + 2) + planes.tobytes())  # no sections, raw data
    img = open_image(tmp_path / "flat.psd")
    assert img.format == "PSD" and np.array_equal(np.asarray(img.convert("RGB")), planes.transpose(1, 2, 0))
    deep = b"8BPS" + struct.pack(">H", 1) + bytes(6) + struct.pack(">HIIHH", 3, h, w, 16, 3)  # 16 bits a channel
    (tmp_path / "deep.psd").write_bytes(deep + bytes(14) + planes.astype(">u2").tobytes())
    with pytest.raises(ImageInputError, match=r"deep\.psd: a Photoshop file whose pixel format cannot be read"):
        open_image(tmp_path / "deep.psd")


def test_a_16_bit_min_is_white_tiff_is_not_a_negative(identity, tmp_path: Path) -> None:
    """PhotometricInterpretation 0 (0 = white, as scanners write them): Pillow turns 8-bit ones around, not 16-bit ones."""
    tifffile = pytest.importorskip("tifffile")
    stored = np.tile(np.linspace(0, 65535, 24), (16, 1)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "scan16.tif", stored, photometric="miniswhite")
    tifffile.imwrite(tmp_path / "scan8.tif", (stored >> 8).astype(np.uint8), photometric="miniswhite")
    out = through(identity, tmp_path / "scan16.tif")
    assert out.mode == "I;16" and np.array_equal(np.asarray(out), 65535 - stored)
    with Image.open(tmp_path / "scan16.tif") as opened:  # handed over unread: read as the file is, not by Pillow
        assert np.array_equal(np.asarray(denoise(identity, opened, sigma=0)), 65535 - stored)
    assert np.array_equal(np.asarray(through(identity, tmp_path / "scan8.tif")), 255 - (stored >> 8))  # as before


def test_a_16_bit_tiff_with_premultiplied_alpha_keeps_16_bits(identity, tmp_path: Path) -> None:
    """Associated (premultiplied) alpha: Pillow divides its 8-bit view by alpha, OpenCV's 16 bits are as stored, so they
    did not match and the result came back at 8 bits. The 16 bits are divided by alpha too."""
    tifffile = pytest.importorskip("tifffile")
    rgb = np.random.default_rng(0).integers(0, 65536, (16, 24, 3)).astype(np.float64)
    alpha = np.full((16, 24, 1), 30000.0)
    alpha[0, :4, 0] = (0, 2000, 40000, 65535)
    stored = np.concatenate([np.round(rgb * alpha / 65535), alpha], 2).astype(np.uint16)
    tifffile.imwrite(tmp_path / "cutout.tif", stored, photometric="rgb", extrasamples=["assocalpha"])
    out = rgb16(through(identity, tmp_path / "cutout.tif"))
    assert out is not None and np.array_equal(out[..., 3], stored[..., 3])
    solid = alpha[..., 0] >= 30000
    assert np.abs(out[..., :3][solid] - rgb[solid]).max() <= 3  # rounding of the stored products only


def test_png_gamma_chromaticity_and_srgb_chunks_are_kept(identity, tmp_path: Path) -> None:
    """A PNG's gAMA, cHRM and sRGB chunks say how to show its values, as an ICC profile does (a linear-light PNG
    looked darker after); they were dropped. Beside a profile only the profile is written (it stands for them)."""
    from PIL import PngImagePlugin

    white_and_primaries = (0.3127, 0.329, 0.64, 0.33, 0.3, 0.6, 0.15, 0.06)
    chunks = [(b"gAMA", struct.pack(">I", 100000)), (b"cHRM", struct.pack(">8I", *(round(v * 1e5) for v in white_and_primaries)))]  # fmt: skip
    info = PngImagePlugin.PngInfo()
    for kind, body in chunks:
        info.add(kind, body)
    photo(24, 16).save(tmp_path / "linear.png", pnginfo=info)
    wide = np.random.default_rng(0).integers(0, 65536, (16, 24, 3), dtype=np.uint16)
    png16_rgb(tmp_path / "linear16.png", wide)
    data = (tmp_path / "linear16.png").read_bytes()
    (tmp_path / "linear16.png").write_bytes(data[:33] + b"".join(png_chunk(k, b) for k, b in chunks) + data[33:])
    srgb = PngImagePlugin.PngInfo()
    srgb.add(b"sRGB", b"\x00")
    photo(24, 16).save(tmp_path / "srgb.png", pnginfo=srgb)
    for name, want in (("linear.png", {"gamma": 1.0, "chromaticity": white_and_primaries}),
                       ("linear16.png", {"gamma": 1.0, "chromaticity": white_and_primaries}), ("srgb.png", {"srgb": 0})):  # fmt: skip
        buf = io.BytesIO()
        write_png(through(identity, tmp_path / name), buf)
        with Image.open(buf) as back:
            assert {k: back.info.get(k) for k in want} == want, name
    photo(24, 16).save(tmp_path / "both.png", pnginfo=info, icc_profile=icc_profile())
    buf = io.BytesIO()
    write_png(through(identity, tmp_path / "both.png"), buf)
    with Image.open(buf) as back:
        assert "icc_profile" in back.info and "gamma" not in back.info


def test_camera_raw_files_are_refused_not_read_as_their_preview(tmp_path: Path) -> None:
    """A DNG (or NEF, ARW...) is a TIFF whose first page is a small preview: Pillow read that preview as the image."""
    tifffile = pytest.importorskip("tifffile")
    dng_version = [(50706, 1, 4, (1, 4, 0, 0), True)]
    for name, extratags in (("photo.dng", dng_version), ("photo.nef", [])):
        with tifffile.TiffWriter(tmp_path / name) as tif:  # a 48x32 preview; the 600x400 sensor data in a sub-page
            tif.write(np.zeros((32, 48, 3), np.uint8), subifds=1, subfiletype=1, photometric="rgb", extratags=extratags)
            tif.write(np.zeros((400, 600), np.uint16), subfiletype=0)
        for read in (open_image, check_file):
            with pytest.raises(ImageInputError, match=rf"{name}: a camera RAW file .* develop it to a 16-bit TIFF"):
                read(tmp_path / name)
    tifffile.imwrite(tmp_path / "pages.tif", np.zeros((2, 8, 8), np.uint8))  # a plain multi-page TIFF still opens
    assert open_image(tmp_path / "pages.tif").size == (8, 8)


def test_a_strip_one_pixel_tall_counts_its_padding_against_the_limit(tmp_path: Path, monkeypatch) -> None:
    """The models pad each side to a multiple of 16: a 50,000,000x1 PNG of 146 KB passed the 50 MP limit and then cost
    16 times a square picture's work (half an hour of the app's endpoint). Padding counts, up to twice the limit."""
    monkeypatch.setenv("GENREPAIR_MAX_PIXELS", "1000")
    Image.new("L", (900, 1)).save(tmp_path / "strip.png")
    Image.new("L", (30, 30)).save(tmp_path / "square.png")  # padded to 32x32: fine
    for read in (open_image, check_file):
        with pytest.raises(ImageInputError, match=r"strip\.png: 900x1 is too thin: the models pad it to 912x16"):
            read(tmp_path / "strip.png")
        read(tmp_path / "square.png")


def test_images_over_pillows_own_limit_are_refused_with_their_size(tmp_path: Path, monkeypatch) -> None:
    """Pillow refuses an image over twice its limit (about 179 MP) before the size can be read: the message is the
    one every image over our limit gets, for files, bytes and header-only checks, whatever the format."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    monkeypatch.setenv("GENREPAIR_MAX_PIXELS", "500")
    for fmt in ("PNG", "JPEG", "TIFF", "WEBP"):
        path = tmp_path / f"big.{fmt.lower()}"
        Image.new("RGB", (300, 200)).save(path, format=fmt)
        message = rf"{path.name}: 300x200 = 60000 pixels is over the pixel limit of 500 \(GENREPAIR_MAX_PIXELS\)"
        for read in (open_image, check_file):
            with pytest.raises(ImageInputError, match=message):
                read(path)
        with pytest.raises(ImageInputError, match=r"image: 300x200 = 60000 pixels is over the pixel limit"):
            open_image(path.read_bytes())


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageInputError, match=r"nope\.png: no such file"):
        open_image(tmp_path / "nope.png")
    with pytest.raises(ImageInputError, match="is a folder, not an image file"):
        open_image(tmp_path)


def test_float_colour_tiff_is_named_as_such(tmp_path: Path) -> None:
    """Pillow has no mode for 32-bit float RGB: the message says what kind of file could not be read."""
    cv2.imwrite(str(tmp_path / "hdr.tif"), np.random.default_rng(0).random((4, 5, 3)).astype(np.float32))
    with pytest.raises(ImageInputError, match=r"hdr\.tif: a TIFF whose pixel format cannot be read"):
        open_image(tmp_path / "hdr.tif")


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    src = tmp_path / "bomb.png"
    src.write_bytes(png_bytes(30000, 30000, 8, 2))  # a valid header claiming 900 MP, almost no data
    before = snapshot(src)
    start = time.perf_counter()
    with pytest.raises(ImageInputError, match=r"bomb\.png: .*over the pixel limit of 50000000"):
        denoise(identity_denoiser(), src, sigma=5)
    assert time.perf_counter() - start < 1.0
    assert_unchanged(before)


def test_header_over_our_limit_but_under_pillows(tmp_path: Path) -> None:
    src = tmp_path / "big.png"
    src.write_bytes(png_bytes(9000, 9000, 8, 0))  # 81 MP: Pillow only warns, we refuse
    with pytest.raises(ImageInputError, match=r"big\.png: 9000x9000 = 81000000 pixels is over the pixel limit"):
        open_image(src)


def test_pixel_limit_is_configurable(tmp_path: Path, monkeypatch) -> None:
    src = tmp_path / "small.png"
    photo(40, 40).save(src)
    monkeypatch.setenv("GENREPAIR_MAX_PIXELS", "1000")
    with pytest.raises(ImageInputError, match=r"40x40 = 1600 pixels is over the pixel limit of 1000"):
        open_image(src)
    with pytest.raises(ImageInputError, match="over the pixel limit of 1000"):
        open_image(photo(40, 40))  # a PIL image is checked too
    monkeypatch.setenv("GENREPAIR_MAX_PIXELS", "1600")
    assert open_image(src).size == (40, 40)


def test_byte_limit_is_configurable(tmp_path: Path, monkeypatch) -> None:
    src = tmp_path / "photo.png"
    photo(40, 40).save(src)
    monkeypatch.setenv("GENREPAIR_MAX_UPLOAD_BYTES", "100")
    with pytest.raises(ImageInputError, match=r"photo\.png: \d+ bytes is over the 100-byte upload limit"):
        open_image(src)


def test_arrays_bytes_and_file_objects_are_images_too(identity, inpainter, tmp_path: Path) -> None:
    """The Python API takes what users hold: numpy arrays (uint8, 16-bit gray, float in [0, 1], bool
    masks), encoded bytes and binary file objects, with the same checks as files."""
    rgb = np.asarray(photo(24, 16))
    assert np.array_equal(np.asarray(denoise(identity, rgb, sigma=0)), rgb)
    assert np.array_equal(np.asarray(denoise(identity, rgb / 255.0, sigma=0)), rgb)
    assert np.array_equal(np.asarray(denoise(identity, rgb.astype(np.float64), sigma=0)), rgb)  # 0-255 floats
    gray = rgb[..., 0].astype(np.float64)
    out = denoise(identity, gray, sigma=0)  # float gray keeps its precision: 16-bit out
    assert out.mode == "I;16" and np.abs(np.asarray(out) / 65535 * 255 - gray).max() < 0.01
    deep = np.linspace(0, 65535, 16 * 24).reshape(16, 24).astype(np.uint16)
    out = denoise(identity, deep, sigma=0)
    assert out.mode == "I;16" and np.array_equal(np.asarray(out), deep)
    out = denoise(identity, deep.astype(">u2"), sigma=0)  # big-endian, as astropy and FITS files give them
    assert out.mode == "I;16" and np.array_equal(np.asarray(out), deep)
    assert np.array_equal(np.asarray(denoise(identity, (rgb / 255.0).astype(">f8"), sigma=0)), rgb)
    photo(24, 16).save(tmp_path / "p.png")
    data = (tmp_path / "p.png").read_bytes()
    assert np.array_equal(np.asarray(denoise(identity, data, sigma=0)), rgb)
    with open(tmp_path / "p.png", "rb") as f:
        assert np.array_equal(np.asarray(denoise(identity, f, sigma=0)), rgb)
    hole = np.zeros((16, 24), bool)
    hole[4:10, 6:14] = True
    filled = np.asarray(inpaint(inpainter, rgb, hole))
    assert np.array_equal(filled[~hole], rgb[~hole])
    (tmp_path / "empty.png").write_bytes(b"")
    with open(tmp_path / "empty.png", "rb") as f, pytest.raises(ImageInputError, match="empty.png: the file is empty"):
        denoise(identity, f, sigma=0)
    for bad, message in (
        (np.zeros((4, 5, 2), np.uint8), r"HxW, HxWx3 or HxWx4; got shape \(4, 5, 2\)"),
        (np.zeros((4, 5), np.int64), "got int64"),
        (np.full((4, 5, 3), np.nan), "NaN or infinite"),
        (b"not an image", "image: not a recognised image file"),
        (12345, "got int"),
    ):
        with pytest.raises(ImageInputError, match=message):
            denoise(identity, bad, sigma=0)


def test_decode_modes_from_pillow_directly() -> None:
    """Modes a file rarely has but a caller may pass: documented conversions, never a crash."""
    cases = {
        "I": (Image.new("I", (4, 3), 70000 // 2), 1),
        "F": (Image.new("F", (4, 3), 0.25), 1),
        "YCbCr": (Image.new("YCbCr", (4, 3), (128, 128, 128)), 3),
        "RGBX": (Image.new("RGBX", (4, 3)), 3),
        "PA": (Image.new("PA", (4, 3)), 3),
    }
    for mode, (img, channels) in cases.items():
        d = decode(img)
        assert d.pixels.shape == (3, 4, channels) and d.pixels.dtype == np.float32, mode
        assert 0 <= d.pixels.min() and d.pixels.max() <= 1, mode
    assert decode(cases["F"][0]).pixels.max() == pytest.approx(0.25)
    assert decode(cases["PA"][0]).alpha is not None


# ---------------------------------------------------------------- masks, sigma, models


@pytest.fixture(scope="module")
def inpainter():
    return tiny("InpaintNet")


def test_masks(inpainter, tmp_path: Path) -> None:
    img = photo(30, 20)
    src = tmp_path / "photo.png"
    img.save(src)
    empty, full, wrong = tmp_path / "empty.png", tmp_path / "full.png", tmp_path / "wrong.png"
    Image.new("L", (30, 20), 0).save(empty)
    Image.new("L", (30, 20), 255).save(full)
    Image.new("L", (20, 30), 255).save(wrong)
    before = snapshot(tmp_path)
    with pytest.warns(UserWarning, match="mask is empty"):
        assert np.array_equal(np.asarray(inpaint(inpainter, src, empty)), np.asarray(img))
    with pytest.raises(ImageInputError, match="the mask covers the whole image: nothing is left to fill from"):
        inpaint(inpainter, src, full)
    with pytest.raises(ImageInputError, match="mask is 20x30 but the image is 30x20; they must match"):
        inpaint(inpainter, src, wrong)
    with pytest.raises(ImageInputError, match=r"mask\.png: no such file"):
        inpaint(inpainter, src, tmp_path / "mask.png")
    assert_unchanged(before)


@pytest.mark.parametrize("sigma", [-0.5, 76, 1e9, "-3", "lots", True, float("nan")])
def test_sigma_out_of_range(sigma) -> None:
    with pytest.raises(ValueError, match=r"sigma must be (between 0 and 75|a number)"):
        denoise(tiny("NoiseCondUNet"), photo(8, 8), sigma=sigma)


@pytest.mark.parametrize("name", ["", "denoise", "gan.nope", "GAN.EMOJI", "../etc/passwd"])
def test_unknown_model_names(name: str) -> None:
    with pytest.raises(ModelLoadError, match=r"unknown model|not a model folder|is a file|no such folder"):
        load_model(name, allow_any_repo=False)


def test_model_folder_without_weights(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="lacks model.safetensors"):
        load_model(tmp_path)
