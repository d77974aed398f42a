"""What a remote producer sends for an image: the bytes of ``POST /api/frames``. Pure.

:func:`encode` takes what :meth:`ImageServer.publish() <framecast.ImageServer.publish>`
takes and returns encoded bytes that lose nothing the server would show or keep:

- JPEG, PNG, TIFF and FITS bytes or files: sent as they are (the server reads them itself);
  files in other formats Pillow opens (BMP, WebP, GIF, …) are decoded and re-encoded below.
- ``uint8`` arrays (mono, RGB, RGBA) and ``uint16`` mono: PNG (16-bit mono stays 16-bit).
- Every other array (``uint16`` colour, signed and 32/64-bit integers, floats): TIFF in the
  array's own dtype, so no precision is lost (``float64`` stays ``float64``).
- ``bool`` arrays: 8-bit PNG, ``True`` white. PIL images: as their numpy array.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from framecast import imaging
from framecast.errors import ImageError
from framecast.imaging.decode import check_array, decode_bytes, read_file

__all__ = ["SENT_AS_IS", "encode"]

#: Formats the ingest route reads: such bytes are sent unchanged.
SENT_AS_IS = ("jpeg", "png", "tiff", "fits")
#: zlib level of the PNGs made here: fast, the network is rarely the bottleneck on a LAN.
PNG_COMPRESS_LEVEL = 1


def encode(image: Any) -> bytes:
    """Bytes for ``POST /api/frames`` from an array, a PIL image, encoded bytes or a path.

    Raises :class:`~framecast.errors.ImageError` for input that is not an image (the same
    checks as ``publish()``, except the pixel limit, which the server applies).
    """
    if isinstance(image, bytes | bytearray | memoryview):
        data = bytes(image)
        if not data:
            raise ImageError("the image bytes are empty; give the bytes of an image file")
        return data
    if isinstance(image, str | os.PathLike):
        data = read_file(image)
        if imaging.sniff(data) in SENT_AS_IS:
            return data
        name = Path(image).name
        return encode_array(decode_bytes(data, name, max_pixels=None), name)
    if isinstance(image, Image.Image):
        return encode_array(imaging.load(image, max_pixels=None), "the PIL image")
    if isinstance(image, np.ndarray):
        return encode_array(image, "the array")
    raise ImageError(
        f"cannot publish a {type(image).__name__}; give a numpy array, a PIL image, "
        "image bytes or the path of an image file"
    )


def encode_array(array: np.ndarray[Any, Any], what: str = "the array") -> bytes:
    """PNG for 8-bit images and 16-bit mono, TIFF in the array's own dtype otherwise."""
    check_array(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * np.uint8(255)
    array = np.ascontiguousarray(array)
    if array.dtype == np.uint8 or (array.dtype == np.uint16 and array.ndim == 2):
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL)
        return buffer.getvalue()
    return _tiff(array, what)


def _tiff(array: np.ndarray[Any, Any], what: str) -> bytes:
    import tifffile

    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    photometric = "rgb" if array.ndim == 3 else "minisblack"
    alpha = ["unassalpha"] if array.ndim == 3 and array.shape[2] == 4 else None
    buffer = io.BytesIO()
    try:
        tifffile.imwrite(buffer, array, photometric=photometric, extrasamples=alpha)
    except (ValueError, TypeError) as exc:
        raise ImageError(f"{what} cannot be encoded as TIFF ({array.dtype}): {exc}") from None
    return buffer.getvalue()
