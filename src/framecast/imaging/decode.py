"""Any image input → a numpy array of its own dtype, refusing oversized images before decoding.

What goes in (:data:`ImageInput`): a numpy array (2-D mono, or HxWx1/3/4 of any integer
or float dtype), a PIL image, encoded bytes (JPEG, PNG incl. 16-bit — 16-bit colour with
the ``codecs`` extra, imagecodecs — TIFF 8/16/32-bit and float, FITS, anything Pillow opens)
or the path of such a file.

Every decoder reads width and height from the header first (:mod:`.formats`) and raises
:class:`~framecast.errors.ImageTooLargeError` above ``max_pixels`` before any pixel is
decoded. Everything else unusable raises :class:`~framecast.errors.ImageError` with a
one-line message saying what to do.
"""

from __future__ import annotations

import functools
import io
import logging
import os
from pathlib import Path
from typing import IO, Any, TypeAlias

import numpy as np
import simplejpeg
from PIL import Image

from framecast.errors import ImageError
from framecast.imaging import fits, formats
from framecast.imaging.formats import DEFAULT_MAX_PIXELS, check_pixels, sniff

log = logging.getLogger("framecast.imaging")

__all__ = ["ImageInput", "check", "check_array", "load", "read_file"]

ImageInput: TypeAlias = (
    "np.ndarray[Any, Any] | Image.Image | bytes | bytearray | memoryview | str | os.PathLike[str]"
)


# -- cheap checks ----------------------------------------------------------------------------


def check(image: object, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
    """Reject what can never become an image, cheaply, before any work is queued.

    Bytes and files are sniffed and their header is read for the size (never decoded);
    arrays and PIL images are measured. Raises :class:`~framecast.errors.ImageError` (or
    its subclass :class:`~framecast.errors.ImageTooLargeError` above ``max_pixels``;
    ``None`` disables the limit) with a one-line message saying what to do.
    """
    if isinstance(image, np.ndarray):
        check_array(image, max_pixels=max_pixels)
    elif isinstance(image, Image.Image):
        if image.width < 1 or image.height < 1:
            raise ImageError("the PIL image is empty; publish an image with pixels")
        check_pixels(image.width, image.height, max_pixels)
    elif isinstance(image, bytes | bytearray | memoryview):
        if len(image) == 0:
            raise ImageError("the image bytes are empty; publish encoded JPEG/PNG/TIFF/FITS")
        kind = sniff(image)
        if kind is None:
            raise ImageError(
                "the bytes are not a known image format; publish encoded JPEG, PNG, TIFF or "
                "FITS bytes (or a numpy array)"
            )
        _check_header(io.BytesIO(image), kind, max_pixels)
    elif isinstance(image, str | os.PathLike):
        path = Path(image)
        if not path.is_file():
            what = "is not a file" if path.exists() else "does not exist"
            raise ImageError(f"image path {str(path)!r} {what}; give the path of an image file")
        try:
            with path.open("rb") as handle:
                _check_header(handle, sniff(handle.read(32)), max_pixels)
        except OSError as exc:
            raise ImageError(f"cannot read image file {str(path)!r}: {exc.strerror}") from None
    else:
        raise ImageError(
            f"cannot publish a {type(image).__name__}; give a numpy array, a PIL image, "
            "encoded image bytes or a file path"
        )


def _check_header(handle: IO[bytes], kind: str | None, max_pixels: int | None) -> None:
    """Refuse an image of format ``kind`` whose header claims more than ``max_pixels``.

    Unknown formats and unreadable headers pass: the decoder reports them with the reason.
    """
    if max_pixels is None or kind is None:
        return
    size = formats.header_size(handle, kind)
    if size is not None:
        check_pixels(*size, max_pixels)


def check_array(array: np.ndarray[Any, Any], *, max_pixels: int | None = None) -> None:
    """Raise ImageError unless ``array`` is a displayable image of at most ``max_pixels``."""
    if array.ndim == 3 and array.shape[2] not in (1, 3, 4):
        raise ImageError(
            f"array of shape {array.shape} has {array.shape[2]} channels; use HxW "
            "(mono) or HxWx3/4 (RGB/RGBA)"
        )
    if array.ndim not in (2, 3):
        raise ImageError(
            f"array of shape {array.shape} is not an image; use HxW (mono) or HxWx3/4 (RGB/RGBA)"
        )
    if array.dtype.kind not in "biuf":
        raise ImageError(
            f"array dtype {array.dtype} cannot be displayed; use an integer, float or bool array"
        )
    if array.size == 0:
        raise ImageError(f"array of shape {array.shape} is empty; publish an image with pixels")
    check_pixels(int(array.shape[1]), int(array.shape[0]), max_pixels)


# -- decoding --------------------------------------------------------------------------------


def load(image: ImageInput, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray[Any, Any]:
    """Decode ``image`` into a numpy array (HxW or HxWxC) of its own dtype.

    Images larger than ``max_pixels`` (width x height, read from the header before any
    decoding; ``None``: no limit) raise :class:`~framecast.errors.ImageTooLargeError`.
    FITS needs astropy (``pip install 'framecast[fits]'``); it is imported only when a
    FITS image arrives. FITS images are flipped so that row 0 of the FITS data is at the
    bottom, as astronomy viewers show them.
    """
    if isinstance(image, np.ndarray):
        check_array(image, max_pixels=max_pixels)
        return image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image
    if isinstance(image, Image.Image):
        check(image, max_pixels=max_pixels)
        return _pil_to_array(image)
    if isinstance(image, str | os.PathLike):
        return decode_bytes(read_file(image), Path(image).name, max_pixels)
    if isinstance(image, bytes | bytearray | memoryview):
        return decode_bytes(bytes(image), "image bytes", max_pixels)
    check(image)  # raises for every other type
    raise AssertionError("unreachable")


def read_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of an image file; ImageError (saying why) if it cannot be read."""
    where = Path(path)
    if not where.is_file():
        what = "is not a file" if where.exists() else "does not exist"
        raise ImageError(f"image path {str(where)!r} {what}; give the path of an image file")
    try:
        return where.read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read image file {str(path)!r}: {exc.strerror}") from None


def decode_bytes(data: bytes, what: str, max_pixels: int | None) -> np.ndarray[Any, Any]:
    """Decode encoded image bytes; the size is checked from the header first."""
    kind = sniff(data) if data else None
    if kind is None:
        raise ImageError(f"{what} is not a known image format; use JPEG, PNG, TIFF or FITS")
    try:
        if kind == "fits":
            return _decode_fits(data, what, max_pixels)
        if kind == "tiff":
            return _decode_tiff(data, max_pixels)
        if kind == "jpeg":
            return _decode_jpeg(data, max_pixels)
        deep = formats.png_deep_colour(data) if kind == "png" else None
        if deep is not None and (array := _decode_deep_png(data, deep, max_pixels)) is not None:
            return array
        with formats.open_pillow(io.BytesIO(data), kind) as pil:
            check_pixels(pil.width, pil.height, max_pixels)
            pil.load()
            return _pil_to_array(pil)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{what} is too large to decode safely: {exc}") from None
    except Exception as exc:
        # Decoder libraries raise whatever their parser meets on corrupt input (zlib.error,
        # struct.error, KeyError, …): for bytes from outside, all of it means "corrupt".
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImageError(f"{what} is corrupt or truncated ({kind}): {detail}") from None


def _decode_jpeg(data: bytes, max_pixels: int | None) -> np.ndarray[Any, Any]:
    # libjpeg's own header reader: exactly the size it would allocate
    height, width, colorspace, _sub = simplejpeg.decode_jpeg_header(data)
    check_pixels(int(width), int(height), max_pixels)
    if colorspace == "Gray":
        gray: np.ndarray[Any, Any] = simplejpeg.decode_jpeg(data, colorspace="GRAY")
        return gray[:, :, 0]
    rgb: np.ndarray[Any, Any] = simplejpeg.decode_jpeg(data, colorspace="RGB")
    return rgb


def _decode_deep_png(
    data: bytes, size: tuple[int, int], max_pixels: int | None
) -> np.ndarray[Any, Any] | None:
    """A 16-bit colour PNG with its 16 bits (imagecodecs' libpng), or None without imagecodecs:
    Pillow, which holds colour in 8 bits only, then reads it (said once in the log)."""
    try:
        import imagecodecs
    except ImportError:
        _deep_png_without_codecs()
        return None
    check_pixels(*size, max_pixels)
    array: np.ndarray[Any, Any] = imagecodecs.png_decode(data)
    check_array(array)
    return array


@functools.cache
def _deep_png_without_codecs() -> None:
    log.warning(
        "a 16-bit colour PNG is read with 8 bits per channel: install imagecodecs "
        "(pip install 'framecast[codecs]') to keep its 16 bits"
    )


def _decode_tiff(data: bytes, max_pixels: int | None) -> np.ndarray[Any, Any]:
    import tifffile

    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages.first
        check_pixels(*formats.tiff_size(page), max_pixels)
        array: np.ndarray[Any, Any] = page.asarray()
    if array.ndim == 3 and array.shape[0] in (3, 4) and array.shape[2] not in (1, 3, 4):
        array = np.moveaxis(array, 0, -1)  # planar RGB
    check_array(array)
    return array


def _decode_fits(data: bytes, what: str, max_pixels: int | None) -> np.ndarray[Any, Any]:
    truncated = ImageError(
        f"{what} is a truncated FITS file (its size is not a whole number of 2880-byte "
        "blocks, or its header has no END card)"
    )
    if len(data) % fits.BLOCK:
        raise truncated
    first = fits.read_header(io.BytesIO(data), 0, len(data))
    if first is None:
        raise truncated
    hdu = formats.fits_image(io.BytesIO(data), len(data))
    if hdu is not None:
        size = fits.image_size(hdu)
        assert size is not None
        check_pixels(*size, max_pixels)
        if hdu.end > len(data):
            raise ImageError(
                f"{what} is a truncated FITS file: its data is shorter than its header says"
            )
    try:
        from astropy.io import fits as astropy_fits
    except ImportError:
        raise ImageError(
            f"{what} is a FITS image, and the framecast server that decodes it has no astropy: "
            "install it where the server runs (pip install 'framecast[fits]' there; a "
            "producer sending FITS needs nothing)"
        ) from None
    try:
        with astropy_fits.open(io.BytesIO(data), memmap=False, lazy_load_hdus=False) as hdus:
            for item in hdus:
                if item.data is not None and getattr(item.data, "ndim", 0) >= 2:
                    array = np.asarray(item.data)
                    break
            else:
                raise ImageError(f"{what} is a FITS file without image data")
    except ImageError:
        raise
    except Exception as exc:  # astropy raises many kinds on a malformed file
        raise ImageError(f"{what} is corrupt or truncated (fits): {exc}") from None
    if array.ndim == 3 and array.shape[0] in (3, 4):
        array = np.moveaxis(array, 0, -1)  # a colour cube: planes of R, G, B
    elif array.ndim > 2:
        array = array.reshape(array.shape[-2:] if array.ndim != 3 else array.shape[1:])
    array = np.flipud(array)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return np.ascontiguousarray(array)


def _pil_to_array(pil: Image.Image) -> np.ndarray[Any, Any]:
    mode = pil.mode
    if mode in ("1", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "RGBa", "La"):
        target = "RGBA" if mode == "PA" or (mode == "P" and "transparency" in pil.info) else "RGB"
        if mode == "1":
            target = "L"
        pil = pil.convert(target)
    elif mode == "LA":
        pil = pil.convert("RGBA")
    elif mode.startswith("I;16") and mode != "I;16":
        pil = pil.convert("I")
    array = np.asarray(pil)
    if array.size == 0:
        raise ImageError("the image is empty; publish an image with pixels")
    return array
