"""Reading users' images safely and turning any PIL mode into float arrays and back.

Conversions (documented): EXIF orientation is applied; CMYK and YCbCr become RGB; palette images
become RGB or RGBA (if they carry transparency); 1-bit becomes L; 16-bit and 32-bit gray are scaled
to [0, 1] from their full range (65535, or 2**32 - 1 / 2**31 - 1 (signed) when values pass 16 bits; a signed
image with negative values is refused), float gray from 0-1
(or 0-255, see ``_peak``; NaN and infinity are refused), and all come back as 16-bit gray; animated
images use their first frame.
16-bit color: Pillow holds 8 bits a channel, so a 16-bit RGB(A) PNG or TIFF (or a uint16 HxWx3/4 array)
opens as an 8-bit PIL image (the high bytes, as Pillow shows it) that carries the full pixels, read by
OpenCV (an uncompressed TIFF stored plane by plane: from its planes; a PPM with a maxval over 255, or a JPEG
2000 file of 9-16 bits a sample: scaled to 65535), in ``info[RGB16]``; :func:`decode` uses them and
:func:`encode` makes such an image again, which :func:`write_png` saves as a 16-bit PNG. 16-bit gray with
alpha (an alpha channel, which Pillow opens as RGBA, or a tRNS colour key) comes back as 16-bit RGBA; a
16-bit tRNS key is compared at 16 bits.
Sizes are checked from the header before any pixel is decoded (``GENREPAIR_MAX_PIXELS``,
``GENREPAIR_MAX_UPLOAD_BYTES``).
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 50_000_000
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1")  # not AVIF
PAD_SIDE = 16  # the models work on sides padded to a multiple of this (their downsampling); counted in the limit
COLOUR_KEYS = ("gamma", "chromaticity", "srgb")  # Pillow's names for a PNG's gAMA, cHRM and sRGB chunks
READABLE = "PNG, JPEG, WebP, AVIF, BMP, TIFF, GIF and other formats Pillow knows"
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
RGB16 = "genrepair.rgb16"  # PIL ``info`` key: the uint16 HxWx3/4 pixels behind an 8-bit RGB(A) image
UNSIGNED32 = "genrepair.unsigned32"  # PIL ``info`` key: a mode "I" image read from unsigned 32-bit samples


class ImageInputError(ValueError):
    """The input is not an image we can use; the message says why."""


def env_int(name: str, default: int, minimum: int = 1) -> int:
    """A whole-number setting from the environment; a malformed one is named in the error (it used to
    surface as the image being "damaged")."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {number}")
    return number


def max_pixels() -> int:
    return env_int("GENREPAIR_MAX_PIXELS", DEFAULT_MAX_PIXELS)


def max_bytes() -> int:
    return env_int("GENREPAIR_MAX_UPLOAD_BYTES", DEFAULT_MAX_BYTES)


def open_image(src) -> Image.Image:
    """An image from a path, a PIL image, a numpy array, bytes or a binary file object, with the size
    limits checked before any pixel is decoded.

    Arrays: HxW (gray) or HxWx3/HxWx4 (RGB/RGBA); uint8 as PIL has them, uint16 at 16 bits (color in
    ``info[RGB16]``); floats in 0-1 or 0-255 (decided as for float files, ``_peak``), gray kept at float
    precision, color as 8 bits; booleans as black and white.
    """
    max_pixels(), max_bytes()  # a malformed setting is its own error, not blamed on the image below
    if isinstance(src, Image.Image):
        img = _from_its_file(src) or src
    elif isinstance(src, np.ndarray):
        img = _from_array(src)
    elif isinstance(src, (bytes, bytearray, memoryview)) or hasattr(src, "read"):
        try:
            data = bytes(src) if not hasattr(src, "read") else src.read(max_bytes() + 1)
        except UnicodeDecodeError:  # open(path) without "rb": the text layer fails on the image's bytes
            data = ""
        if isinstance(data, str):
            raise ImageInputError(f"{getattr(src, 'name', 'the file')}: opened as text; open it with 'rb'")
        img = _decode_file(io.BytesIO(data), len(data), getattr(src, "name", None) or "image")
    elif isinstance(src, (str, os.PathLike)):
        path = Path(src)
        if path.is_dir():
            raise ImageInputError(f"{path}: is a folder, not an image file")
        if not path.is_file():
            raise ImageInputError(f"{path}: no such file")
        with open(path, "rb") as f:
            img = _decode_file(f, path.stat().st_size, path.name)
    else:
        raise ImageInputError(
            f"expected an image file path, a PIL image, a numpy array, bytes or a binary file; got {type(src).__name__}"
        )
    _check_pixels(img, "image")
    # an animation the caller left on a later frame: its first frame, as for a file. A PSD opens on its merged
    # image, which Pillow numbers 1 (its layers are the other frames, and there is no frame 0 to go back to)
    if img.tell() != 0 and img.format != "PSD":
        frame = img.tell()
        img.seek(0)
        _check_pixels(img, "image")  # frame 0 may be larger (a pyramidal TIFF left on a thumbnail page)
        first = img.copy()
        img.seek(frame)  # the caller's image stays where it was
        img = first
    return img


def _from_its_file(img: Image.Image) -> Image.Image | None:
    """``Image.open(path)`` handed over before any pixel was read: the file read as a path is, or None. Read by
    Pillow, a 16-bit MinIsWhite TIFF came out as a negative, a white 16-bit JPEG 2000 black, a planar 16-bit TIFF
    striped, and a 2-bit PNG's or 16-bit PNG's tRNS colour key lost. An image already loaded (or changed, or set to
    a draft size or another frame) is taken as it is."""
    path = getattr(img, "filename", "")
    if not getattr(img, "tile", None) or not path or img.tell() != 0 or not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as f:
            fresh = _decode_file(f, os.path.getsize(path), Path(path).name)
    except (ImageInputError, OSError):
        return None  # what Pillow makes of it, as before: its own errors then say what is wrong
    return fresh if fresh.size == img.size else None


def _check_size(size: int, name: str) -> None:
    if size == 0:
        raise ImageInputError(f"{name}: the file is empty")
    if size > max_bytes():
        raise ImageInputError(f"{name}: {size} bytes is over the {max_bytes()}-byte upload limit")


def check_file(src: str | os.PathLike | bytes, name: str | None = None) -> None:
    """An image file's byte and pixel limits, from its size and header only: nothing is decoded. ``src``: a path,
    or the file's bytes (named ``name`` in messages)."""
    if isinstance(src, bytes | bytearray):
        _check_header(io.BytesIO(src), len(src), name or "image")
        return
    path = Path(src)
    with open(path, "rb") as f:
        _check_header(f, path.stat().st_size, path.name)


def _check_header(f, size: int, name: str) -> None:
    _check_size(size, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies
            with Image.open(f) as img:
                _check_pixels(img, name)
                _refuse_raw(img, name)
    except Image.DecompressionBombError as e:
        _refuse_bomb(f, name, e)
    except UnidentifiedImageError as e:
        f.seek(0)
        _refuse_unidentified(name, f.read(512), e)


def _refuse_unidentified(name: str, head: bytes, e: UnidentifiedImageError) -> NoReturn:
    """Pillow did not recognise the file (``head``: its first bytes). A TIFF is one in a pixel format Pillow has no
    mode for, an SVG is a drawing and a HEIC photo needs a codec Pillow lacks: each gets its own advice; anything
    else says which formats can be read."""
    if head[:4] in (b"II*\0", b"MM\0*"):
        raise ImageInputError(
            f"{name}: a TIFF whose pixel format cannot be read (such as 32-bit float colour, 64-bit samples or "
            "16-bit gray with alpha); "
            "save it as an 8- or 16-bit TIFF or PNG"
        ) from None
    if head[:4] == b"8BPS":
        raise ImageInputError(
            f"{name}: a Photoshop file whose pixel format cannot be read (16 or 32 bits a channel, say); save it as "
            "an 8-bit PSD, or as a 16-bit PNG or TIFF"
        ) from e
    if _is_svg(name, head):
        raise ImageInputError(f"{name}: an SVG drawing, not a pixel image; export it as PNG first") from e
    if _is_heif(head):
        raise ImageInputError(
            f"{name}: a HEIC/HEIF photo, which cannot be read here; save or share it as JPEG or PNG "
            "(an iPhone does so with Settings > Camera > Formats > Most Compatible)"
        ) from e
    raise ImageInputError(f"{name}: not a recognised image file ({READABLE} can be read)") from e


def _invert_min_is_white16(img: Image.Image) -> None:
    """A 16-bit gray TIFF stored MinIsWhite (PhotometricInterpretation 0: 0 is white, as scanners and X-ray
    images write them) turned into the usual 0 = black, in place: Pillow inverts 8-bit ones but not 16-bit ones,
    which came out as negatives."""
    tags = getattr(img, "tag_v2", None) if img.format == "TIFF" else None
    if tags is not None and tags.get(262) == 0 and img.mode in ("I;16", "I;16B"):
        arr = np.asarray(img)
        img.frombytes((np.iinfo(np.uint16).max - arr).astype(arr.dtype).tobytes(), "raw", img.mode)


def _refuse_raw(img: Image.Image, name: str) -> None:
    """A camera RAW file built on TIFF (DNG, and NEF, ARW, CR2 and others like it) opens in Pillow as its first
    page, a small preview, with the sensor data in sub-pages Pillow does not read: refused, not shrunk in silence.
    Known by the DNG version tag, or a first page marked reduced-resolution (NewSubfileType 1) with sub-pages."""
    tags = getattr(img, "tag_v2", None) if img.format == "TIFF" else None
    if tags is not None and (50706 in tags or (tags.get(254, 0) & 1 and 330 in tags)):
        raise ImageInputError(
            f"{name}: a camera RAW file (DNG or similar), of which only the small preview could be read; "
            "develop it to a 16-bit TIFF or PNG (or a JPEG) first"
        )


def _is_heif(head: bytes) -> bool:
    """A HEIC/HEIF file by its ftyp box: a HEIF brand first, and no AVIF brand among the compatible ones (an AVIF
    may name mif1 first; Pillow reads AVIF)."""
    box = head[: int.from_bytes(head[:4], "big")]
    brands = {box[i : i + 4] for i in range(16, len(box) - 3, 4)} | {box[8:12]}
    return box[4:8] == b"ftyp" and box[8:12] in HEIF_BRANDS and not brands & {b"avif", b"avis"}


def _is_svg(name: str, head: bytes) -> bool:
    """An SVG drawing by its name or its first bytes (an XML or <svg> start, after any byte-order mark)."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    xml_svg = start.startswith(b"<?xml") and b"<svg" in start
    return name.lower().endswith((".svg", ".svgz")) or start.startswith(b"<svg") or xml_svg


def _decode_file(f, size: int, name: str) -> Image.Image:
    name = Path(str(name)).name
    _check_size(size, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies
            img = Image.open(f)
            _check_pixels(img, name)  # from the header, before any pixel is decoded
            _refuse_raw(img, name)
            wide = img.mode in ("RGB", "RGBA") and ";16" in _rawmode(img)  # 16-bit gray + alpha opens as RGBA
            premultiplied = _rawmode(img).startswith("RGBa")
            planar = _planar16(img, name)
            maxval = _ppm_maxval(img)
            jp2 = img.format == "JPEG2000" and img.mode in ("RGB", "RGBA")
            unsigned32 = _unsigned32(img)
            # Pillow turns a TIFF upright as it loads it (its size is the upright one already): planes read as
            # stored are turned the same way (OpenCV turns TIFFs itself)
            turn = img.tag_v2.get(274, 1) if planar else 1
            w, h = img.size if turn < 5 else img.size[::-1]
            _scale_gray_key(img)
            img.load()  # the first frame of an animation; the file can be closed after this
            _invert_min_is_white16(img)
            if unsigned32:
                img.info[UNSIGNED32] = True
            if wide or planar or maxval or jp2:
                f.seek(0)
                data = f.read()
            if wide:  # 16 bits a channel, which Pillow reads as 8: OpenCV reads them all
                _attach_rgb16(img, data, premultiplied)
            elif planar:  # Pillow read each 16-bit plane as 8-bit stripes: put the right pixels in its place
                arr = _read_planes((h, w, len(img.mode)), img.mode, planar, data)
                _put_rgb16(img, _ORIENT.get(turn, _as_is)(arr))
            elif maxval and (arr := _read_ppm16(img, maxval, data)) is not None:
                _put_rgb16(img, arr)
            elif jp2 and (arr := _read_jp2_16(img, data)) is not None:
                _put_rgb16(img, arr)
    except ImageInputError:
        raise
    except Image.DecompressionBombError as e:
        _refuse_bomb(f, name, e)
    except UnidentifiedImageError as e:
        f.seek(0)
        _refuse_unidentified(name, f.read(512), e)
    # RuntimeError: Pillow's AVIF decoder ("Failed to decode frame 0"); IndexError: a truncated QOI
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, RuntimeError, struct.error) as e:
        from .device import is_out_of_memory

        if is_out_of_memory(e):
            raise
        raise ImageInputError(f"{name}: the image is damaged or truncated ({e})") from e
    return img


def _scale_gray_key(img: Image.Image) -> None:
    """A 2- or 4-bit gray PNG's tRNS colour key in the 0-255 values Pillow gives its pixels (it scales the pixels,
    not the key: key 1 of a 2-bit file stands for 85). Known only before loading, from how the file stores them."""
    key, bits = img.info.get("transparency"), {"L;2": 2, "L;4": 4}.get(_rawmode(img))
    if img.format == "PNG" and bits and isinstance(key, int) and 0 <= key < 2**bits:
        img.info["transparency"] = key * (255 // (2**bits - 1))


def _rawmode(img: Image.Image) -> str:
    """How the file stores its first tile's pixels ("RGB;16B" for a 16-bit PNG), or "" when unknown."""
    try:
        args = img.tile[0][3]
    except (IndexError, TypeError, AttributeError):
        return ""
    raw = args[0] if isinstance(args, tuple) and args else args
    return raw if isinstance(raw, str) else ""


def _unsigned32(img: Image.Image) -> bool:
    """Stored as unsigned 32-bit samples (a TIFF), which Pillow holds as signed mode "I" (known before loading only)."""
    return img.mode == "I" and _rawmode(img) in ("I;32N", "I;32BN")


def _planar16(img: Image.Image, name: str) -> list | None:
    """The tiles of an uncompressed 16-bit RGB(A) TIFF stored plane by plane (PlanarConfiguration 2), which
    Pillow reads at 8 bits a sample (stripes of garbage; OpenCV misreads them too); None for any other file.
    Compressed ones go through libtiff, which reads them right (at 8 bits)."""
    tags = getattr(img, "tag_v2", None)
    if img.format != "TIFF" or tags is None or tags.get(284) != 2 or img.mode not in ("RGB", "RGBA"):
        return None
    bits = tags.get(258)
    if set(bits if isinstance(bits, tuple) else (bits,)) != {16}:
        return None
    tiles = [tuple(t) for t in img.tile]
    if not tiles or any(t[0] != "raw" for t in tiles):
        return None
    if any(not isinstance(t[3], tuple) or t[3][0] not in img.mode or t[3][2:] != (1,) for t in tiles):
        planes = "".join(sorted({str(t[3][0]) for t in tiles}))
        raise ImageInputError(
            f"{name}: a 16-bit TIFF stored plane by plane with planes {planes!r} (premultiplied alpha or extra "
            "channels) cannot be read; save it as an RGB(A) PNG or a TIFF stored pixel by pixel"
        )
    return tiles


def _read_planes(shape: tuple[int, int, int], mode: str, tiles: list, data: bytes) -> np.ndarray:
    """uint16 HxWxC pixels, as stored, from a planar TIFF's raw tiles (from :func:`_planar16`) in the file's
    byte order."""
    dtype = np.dtype("<u2" if data[:2] == b"II" else ">u2")
    arr = np.zeros(shape, np.uint16)
    for _, (x0, y0, x1, y1), offset, (plane, stride, _) in tiles:
        row = stride // 2 or x1 - x0  # samples from one row of a tile to the next (tiles are padded at the edges)
        count = row * (y1 - y0)
        if offset + 2 * count > len(data):
            raise ValueError(f"a {plane} plane ends past the end of the file")
        values = np.frombuffer(data, dtype, count, offset).reshape(y1 - y0, row)
        arr[y0:y1, x0:x1, mode.index(plane)] = values[:, : x1 - x0]
    return arr


def _ppm_maxval(img: Image.Image) -> int | None:
    """A color PPM's maxval when it is over 255 (16-bit samples, as ``dcraw -4`` writes), else None."""
    if img.format != "PPM" or img.mode != "RGB" or not img.tile:
        return None
    args = tuple(img.tile[0])[3]
    maxval = args[1] if isinstance(args, tuple) and len(args) > 1 else None
    return maxval if isinstance(maxval, int) and maxval > 255 else None


def _read_ppm16(img: Image.Image, maxval: int, data: bytes) -> np.ndarray | None:
    """A 16-bit PPM's pixels scaled to 0-65535 (Pillow scales them to 8 bits), read by OpenCV; None if
    OpenCV does not read the picture Pillow did."""
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16 or arr.shape != (img.height, img.width, 3):
        return None
    samples = np.minimum(arr[..., ::-1].astype(np.uint32), maxval)  # values over maxval are clipped, as by Pillow
    scaled = ((samples * 65535 + maxval // 2) // maxval).astype(np.uint16)  # rounded, in whole numbers
    if np.abs(scaled / np.float32(257) - np.asarray(img, np.float32)).max() > 1:  # Pillow's own 8-bit scaling
        return None
    return scaled


def _jp2_precision(data: bytes) -> int | None:
    """Bits a sample of a JPEG 2000 file's components (from the codestream's SIZ marker), when all are the
    same and unsigned; None otherwise."""
    at = data.find(b"\xff\x51")
    if at < 0 or len(data) < at + 40:
        return None
    count = int.from_bytes(data[at + 38 : at + 40], "big")
    ssiz = data[at + 40 : at + 40 + 3 * count : 3]
    if count == 0 or len(ssiz) != count or len(set(ssiz)) != 1 or ssiz[0] & 0x80:
        return None
    return (ssiz[0] & 0x7F) + 1


def _read_jp2_16(img: Image.Image, data: bytes) -> np.ndarray | None:
    """A color JPEG 2000 file of 9-16 bits a sample scaled to 0-65535, read by OpenCV: Pillow reads it at 8
    bits and wraps its top values round to 0 (white came out black). None for 8-bit files, or if OpenCV does not
    read the picture Pillow did."""
    import cv2

    bits = _jp2_precision(data)
    if bits is None or not 8 < bits <= 16:
        return None
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16 or arr.shape != (img.height, img.width, len(img.mode)):
        return None
    top = (1 << bits) - 1
    samples = np.minimum(arr[..., [2, 1, 0, 3][: arr.shape[2]]].astype(np.uint32), top)
    scaled = ((samples * 65535 + top // 2) // top).astype(np.uint16)
    off = (scaled / np.float32(257) - np.asarray(img, np.float32)) % 256  # Pillow's view, wrapped at the top
    if np.minimum(off, 256 - off).max() > 1.5:
        return None
    return scaled


def _put_rgb16(img: Image.Image, arr: np.ndarray) -> None:
    """Make ``img`` (loaded, RGB(A)) show ``arr``'s high bytes and carry ``arr`` in ``info[RGB16]``."""
    arr = np.ascontiguousarray(arr)
    img.paste(Image.fromarray((arr >> 8).astype(np.uint8)))
    img.info[RGB16] = arr


def _attach_rgb16(img: Image.Image, data: bytes, premultiplied: bool = False) -> None:
    """Put the file's 16-bit pixels in ``img.info[RGB16]``, if OpenCV reads the same picture from ``data``;
    ``premultiplied``: the colour is stored multiplied by alpha (a TIFF's associated alpha), divided out here."""
    import cv2

    # as stored (no EXIF turn) for a PNG, as Pillow is; a TIFF turned by its orientation tag, as Pillow does on load
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is not None and arr.ndim == 3 and arr.shape[2] == 4 and img.mode == "RGB":
        arr = arr[..., :3]  # OpenCV's alpha from a tRNS colour key: decode makes it from the key itself
    if arr is None or arr.dtype != np.uint16 or arr.ndim != 3 or arr.shape[2] != len(img.mode):
        return
    arr = arr[..., [2, 1, 0, 3][: arr.shape[2]]]  # OpenCV's BGR(A) -> RGB(A)
    if premultiplied:  # a TIFF's associated alpha: Pillow divides its 8-bit view by alpha, OpenCV leaves it stored
        alpha = arr[..., 3:].astype(np.float64)
        rgb = np.round(arr[..., :3] * 65535.0 / np.maximum(alpha, 1))
        arr = np.concatenate([np.clip(np.where(alpha > 0, rgb, 0), 0, 65535), alpha], 2).astype(np.uint16)
        # the same picture as Pillow's, which divides 8-bit colour by 8-bit alpha: a few levels apart, more where
        # alpha is low (at alpha 117 of 255, up to 3); Pillow's view is then replaced by these high bytes
        a8 = (arr[..., 3] >> 8).astype(np.float64)
        seen = a8 >= 16
        off = np.abs((arr[..., :3] >> 8).astype(int) - np.asarray(img)[..., :3]).max(2)
        if np.all(off[seen] <= 2 + 255 / a8[seen]):
            _put_rgb16(img, arr)
        return
    img.info[RGB16] = arr
    if rgb16(img) is None:  # not the picture Pillow decoded (another page of a TIFF, say): keep 8 bits
        del img.info[RGB16]


def rgb16(img: Image.Image) -> np.ndarray | None:
    """The uint16 RGB(A) pixels an image carries in ``info[RGB16]``, when they are still its pixels: their
    high bytes equal the image's, so an image edited or resized since (which copies ``info``) has none."""
    arr = img.info.get(RGB16)
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint16 or img.mode not in ("RGB", "RGBA"):
        return None
    if arr.shape != (img.height, img.width, len(img.mode)) or not np.array_equal(arr >> 8, np.asarray(img)):
        return None
    return arr


def _wide_image(arr: np.ndarray) -> Image.Image:
    """uint16 HxWx3/4 -> 8-bit RGB(A) PIL image (the high bytes) carrying ``arr`` in ``info[RGB16]``."""
    arr = np.ascontiguousarray(arr)
    img = Image.fromarray((arr >> 8).astype(np.uint8))
    img.info[RGB16] = arr
    return img


def _as_is(a: np.ndarray) -> np.ndarray:
    return a


# EXIF orientation -> the same transposition of an HxWxC array (as ImageOps.exif_transpose does to the image)
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def _from_array(a: np.ndarray) -> Image.Image:
    if a.dtype.byteorder not in ("=", "|"):  # big-endian samples (FITS, astropy, some TIFF readers): native order
        a = a.astype(a.dtype.newbyteorder("="))
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ImageInputError(f"an image array is HxW, HxWx3 or HxWx4; got shape {a.shape}")
    if a.ndim == 2 and a.dtype == np.uint16:
        return Image.fromarray(np.ascontiguousarray(a))
    if a.dtype == np.uint16:
        return _wide_image(a.copy())  # the caller's array stays theirs
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype.kind == "f":
        a = np.clip(a / _peak(a.astype(np.float64), "F"), 0, 1)
        if a.ndim == 2:
            return Image.fromarray(a.astype(np.float32))  # mode F, read back as 0-1
        a = (a * 255 + 0.5).astype(np.uint8)
    elif a.dtype != np.uint8:
        raise ImageInputError(f"image arrays are uint8, uint16, bool or float (0-1, or 0-255); got {a.dtype}")
    return Image.fromarray(np.ascontiguousarray(a))


def _check_pixels(img: Image.Image, label: str) -> None:
    w, h = img.size
    if w < 1 or h < 1:
        raise ImageInputError(f"{label}: image has no pixels ({w}x{h})")
    if w * h > max_pixels():
        raise ImageInputError(_over_the_limit(label, w, h))
    pw, ph = -(-w // PAD_SIDE) * PAD_SIDE, -(-h // PAD_SIDE) * PAD_SIDE
    if pw * ph > 2 * max_pixels():  # a strip 1 px tall is padded to 16 for the models: 16 times the work
        raise ImageInputError(
            f"{label}: {w}x{h} is too thin: the models pad it to {pw}x{ph} = {pw * ph} pixels, over twice the pixel "
            f"limit of {max_pixels()} (GENREPAIR_MAX_PIXELS)"
        )


def _over_the_limit(label: str, w: int, h: int) -> str:
    return f"{label}: {w}x{h} = {w * h} pixels is over the pixel limit of {max_pixels()} (GENREPAIR_MAX_PIXELS)"


def _refuse_bomb(f, name: str, e: Image.DecompressionBombError) -> NoReturn:
    """Pillow refuses to open an image over twice its own limit (about 179 MP) before we can read its size:
    the size is read from the header by the format's own plug-in, so the message is the one every other image
    over our limit gets."""
    f.seek(0)
    head = f.read(16)
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        try:
            if accept and not accept(head):
                continue
            f.seek(0)
            w, h = factory(f, name).size
        except Exception:  # noqa: BLE001, S112 - not this format: try the next
            continue
        raise ImageInputError(_over_the_limit(name, w, h)) from e
    raise ImageInputError(f"{name}: over the pixel limit of {max_pixels()} (GENREPAIR_MAX_PIXELS)") from e


@dataclass
class Decoded:
    """An image as float32 HxWxC in [0, 1] (C = 1 or 3), its alpha (HxW, or None) and its origin."""

    pixels: np.ndarray
    alpha: np.ndarray | None
    high_bit: bool  # came from a 16/32-bit gray or 16-bit color image
    icc: bytes | None = None  # the file's ICC colour profile, when it describes these pixels (RGB or gray)
    colour: dict | None = None  # a PNG's other colour chunks, as Pillow reads them: gamma, chromaticity, srgb

    @property
    def gray(self) -> bool:
        return self.pixels.shape[2] == 1


def _icc_for(icc, channels: int) -> bytes | None:
    """``icc`` if it is a profile for ``channels``-channel pixels (a CMYK file's profile is not, once converted)."""
    space = {1: b"GRAY", 3: b"RGB "}.get(channels)
    return icc if isinstance(icc, bytes) and len(icc) >= 128 and icc[16:20] == space else None


_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
              5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}  # fmt: skip


def orientation(img: Image.Image) -> int:
    """The EXIF orientation (1-8; 1 = as stored). Damaged EXIF data (a cut or mistyped block, which Pillow raises
    SyntaxError, struct.error or TypeError on) counts as 1, with a warning: the picture itself is fine."""
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception as e:  # noqa: BLE001 - Pillow's EXIF parser raises many kinds on damaged data
        _warn_exif(e)
        return 1
    return value if isinstance(value, int) and value in range(1, 9) else 1


def _warn_exif(e: Exception) -> None:
    warnings.warn(f"the image's EXIF data is damaged and was ignored ({type(e).__name__}: {e})", stacklevel=4)


def upright(img: Image.Image) -> Image.Image:
    """``img`` turned as its EXIF orientation says (``ImageOps.exif_transpose``), its 16-bit pixels too. Where
    Pillow fails on damaged EXIF data, the orientation is read as :func:`orientation` reads it, the picture turned
    by it and the EXIF block dropped."""
    wide = rgb16(img)
    try:
        turned = ImageOps.exif_transpose(img) or img
        o = orientation(img) if turned is not img else 1
    except Exception as e:  # noqa: BLE001 - as in orientation(): damaged EXIF data, not a damaged picture
        _warn_exif(e)
        o = orientation(img)
        turned = img.transpose(_TRANSPOSE[o]) if o != 1 else img.copy()
        turned.info = {k: v for k, v in img.info.items() if k != "exif"}
    if wide is not None and turned is not img:  # a copy holds the unturned 16 bits: turn them the same way
        turned.info[RGB16] = _ORIENT.get(o, _as_is)(wide)
        if rgb16(turned) is None:
            del turned.info[RGB16]
    return turned


def decode(img: Image.Image, exif: bool = True) -> Decoded:
    """Pixels as float in [0, 1], upright per the EXIF orientation (``exif=False``: as stored in the file).

    The values are kept as stored, in the file's colour space: an ICC profile (a phone's Display P3, Adobe RGB)
    is carried in ``icc`` and :func:`encode` attaches it to the result, so colours look the same after."""
    # Pillow holds an unsigned 32-bit TIFF as signed: known from how it is stored (loading forgets that)
    unsigned32 = img.mode == "I" and (img.info.get(UNSIGNED32) or _unsigned32(img))
    if exif:
        img = upright(img)
    wide = rgb16(img)
    icc = img.info.get("icc_profile")
    colour = {k: img.info[k] for k in COLOUR_KEYS if k in img.info} or None
    key = img.info.get("transparency")  # a PNG tRNS colour key: pixels of exactly that value are clear
    if wide is not None:
        px = wide.astype(np.float32) / 65535.0
        alpha = px[..., 3] if px.shape[2] == 4 else None
        if alpha is None and isinstance(key, tuple) and len(key) == 3:  # a 16-bit key (Pillow compares 8 bits)
            alpha = (wide != np.array(key, np.uint16)).any(2).astype(np.float32)
        return Decoded(np.ascontiguousarray(px[..., :3]), alpha, True, _icc_for(icc, 3), colour)
    mode = img.mode
    alpha = None
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img)
        arr = (arr.view(np.uint32) if unsigned32 and arr.dtype == np.int32 else arr).astype(np.float64)
        if mode == "I" and not unsigned32 and arr.size and arr.min() < 0:
            raise ImageInputError(
                f"a signed integer image with negative values (down to {int(arr.min())}) has no black level to "
                "read it by; save it unsigned, with 0 as black"
            )
        if isinstance(key, int) and mode.startswith("I;16"):
            alpha = (arr != key).astype(np.float32)
        return Decoded(
            np.clip(arr / _peak(arr, mode, unsigned32), 0, 1).astype(np.float32)[..., None],
            alpha,
            True,
            _icc_for(icc, 1),
            colour,
        )
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("L", "RGB") and "transparency" in img.info:  # a PNG tRNS colour key: that colour is clear
        img = img.convert("LA" if mode == "L" else "RGBA")
    elif mode == "1":
        img = img.convert("L")
        if isinstance(key, int):  # a 1-bit PNG's tRNS key, which Pillow gives as 0 or 255
            img.info["transparency"] = 255 if key else 0
            img = img.convert("LA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        img = img.convert("RGB")
    elif mode == "La":  # premultiplied gray + alpha (Pillow cannot take it to RGBA)
        img = img.convert("LA")
    elif mode in ("RGBa", "PA"):
        img = img.convert("RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in mode else "RGB")
    if img.mode in ("LA", "RGBA"):
        alpha = np.asarray(img.getchannel("A"), dtype=np.float32) / 255.0
        img = img.convert("L" if img.mode == "LA" else "RGB")
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if arr.ndim == 2:
        arr = arr[..., None]
    return Decoded(arr, alpha, False, _icc_for(icc, arr.shape[2]), colour)


def _peak(arr: np.ndarray, mode: str, unsigned32: bool = False) -> float:
    """The value that stands for white in a 16/32-bit integer or float gray image. Integers: 16-bit
    (Pillow opens 16-bit PGM as "I", scaled to 0-65535 whatever its maxval), unless values go past it (32-bit
    TIFF: 2**32 - 1 when ``unsigned32``, else 2**31 - 1). Floats: 0-1 by convention, 0-255 when more than half
    of the values lie above 1 (the median decides, so a few bright outliers in a 0-1 image, an overshoot after
    resampling or sharpening, are clipped instead of darkening the whole image), 0-65535 when the 99.9th
    percentile passes 255."""
    if not np.isfinite(arr).all():
        raise ImageInputError(f"the image has {int((~np.isfinite(arr)).sum())} NaN or infinite pixel values")
    if mode != "F":
        if mode.startswith("I;16") or arr.max() <= 65535:
            return 65535.0
        return float(2**32 - 1) if unsigned32 else float(2**31 - 1)
    step = max(1, int(np.sqrt(arr.size / 1e6)))  # a million samples are plenty for the percentiles
    sample = arr[::step, ::step]
    if float(np.median(sample)) <= 1.0:
        return 1.0
    return 255.0 if float(np.percentile(sample, 99.9)) <= 255.0 else 65535.0


def encode(
    pixels: np.ndarray,
    alpha: np.ndarray | None = None,
    high_bit: bool = False,
    icc: bytes | None = None,
    colour: dict | None = None,
) -> Image.Image:
    """float HxWxC in [0, 1] (+ alpha) -> PIL (L, LA, RGB, RGBA; high-bit input: 16-bit gray, or RGB(A)
    carrying 16-bit pixels in ``info[RGB16]``, gray + alpha included; see the module doc).

    ``icc`` (a :class:`Decoded`'s) goes into ``info["icc_profile"]`` when it fits the channels, and ``colour`` (a
    PNG's gamma, chromaticity and sRGB chunks) into ``info`` where there is no profile; PNG saving writes them."""
    pixels = np.clip(pixels, 0, 1)
    if pixels.shape[2] == 1 and high_bit and alpha is None:
        img = Image.fromarray((pixels[..., 0] * 65535 + 0.5).astype(np.uint16))
    elif high_bit and (pixels.shape[2] == 3 or alpha is not None):  # 16-bit gray + alpha too, as RGBA (as Pillow)
        planes = np.repeat(pixels, 3, 2) if pixels.shape[2] == 1 else pixels
        planes = planes if alpha is None else np.concatenate([planes, np.clip(alpha, 0, 1)[..., None]], 2)
        img = _wide_image((planes * 65535 + 0.5).astype(np.uint16))
    else:
        u8 = (pixels * 255 + 0.5).astype(np.uint8)
        img = Image.fromarray(u8[..., 0] if u8.shape[2] == 1 else u8)
        if alpha is not None:
            img.putalpha(Image.fromarray((np.clip(alpha, 0, 1) * 255 + 0.5).astype(np.uint8)))
    return _attach_colour(img, icc, colour)


def carry_colour(dst: Image.Image, src: Image.Image) -> Image.Image:
    """``dst`` (a view made from ``src``'s pixels: a before view, a classical method's result) with ``src``'s ICC
    profile, when it fits ``dst``'s channels, or its PNG colour chunks: so it shows in the same colours."""
    icc = src.info.get("icc_profile")
    return _attach_colour(dst, icc, None if icc else {k: src.info[k] for k in COLOUR_KEYS if k in src.info})


def _attach_colour(img: Image.Image, icc, colour: dict | None) -> Image.Image:
    """``img`` with ``icc`` in ``info`` when it fits its channels (a gray profile is dropped if it became RGBA),
    else with ``colour``'s PNG colour chunks."""
    if profile := _icc_for(icc, 3 if img.mode in ("RGB", "RGBA") else 1):
        img.info["icc_profile"] = profile
    elif colour:
        img.info.update({k: v for k, v in colour.items() if k in COLOUR_KEYS})
    return img


def _colour_chunks(info: dict) -> list[tuple[bytes, bytes]]:
    """The gAMA, cHRM and sRGB chunks for what Pillow read of them (``info``), none beside an ICC profile (which
    stands for all three, and with which the PNG standard allows no sRGB chunk)."""
    if info.get("icc_profile"):
        return []
    chunks = []
    with contextlib.suppress(TypeError, ValueError, struct.error):  # values set by hand: left out if unfit
        if (gamma := info.get("gamma")) is not None:
            chunks.append((b"gAMA", struct.pack(">I", round(float(gamma) * 100000))))
        if (white_and_primaries := info.get("chromaticity")) is not None and len(white_and_primaries) == 8:
            chunks.append((b"cHRM", struct.pack(">8I", *(round(float(v) * 100000) for v in white_and_primaries))))
        if (intent := info.get("srgb")) is not None:
            chunks.append((b"sRGB", struct.pack(">B", int(intent))))
    return chunks


def write_png(img: Image.Image, dst) -> None:
    """Save ``img`` as PNG to a path or binary file: at 16 bits a channel when it carries them (:func:`rgb16`;
    ``img.save`` would write the 8-bit preview), with its ICC profile either way."""
    wide = rgb16(img)
    colour = _colour_chunks(img.info)
    if wide is None:
        extra = PngImagePlugin.PngInfo()
        for kind, body in colour:
            extra.add(kind, body)
        img.save(dst, format="PNG", pnginfo=extra)
        return
    import cv2

    ok, buf = cv2.imencode(".png", wide[..., [2, 1, 0, 3][: wide.shape[2]]], [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise OSError("OpenCV could not encode the 16-bit PNG")
    data = buf.tobytes()
    if profile := _icc_for(img.info.get("icc_profile"), 3):  # OpenCV writes none: an iCCP chunk after IHDR
        assert data[12:16] == b"IHDR", "a PNG starts with its IHDR chunk"
        data = data[:33] + _png_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(profile)) + data[33:]
    data = data[:33] + b"".join(_png_chunk(kind, body) for kind, body in colour) + data[33:]
    if hasattr(dst, "write"):
        dst.write(data)
    else:
        Path(dst).write_bytes(data)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def to_rgb(d: Decoded) -> np.ndarray:
    return np.repeat(d.pixels, 3, axis=2) if d.gray else d.pixels


def composite_on(d: Decoded, background: float = 1.0) -> np.ndarray:
    """RGB float with transparency flattened onto a plain background (white by default)."""
    rgb = to_rgb(d)
    if d.alpha is None:
        return rgb
    a = d.alpha[..., None]
    return rgb * a + background * (1 - a)
