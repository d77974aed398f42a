"""Raw files written band by band: the same bytes as the whole file, never more than a band
at a time, views instead of copies where the rows are contiguous already."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest

from framecast.science import bands, rawfiles

RNG = np.random.default_rng(3)
DTYPES = [
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64",
    "float16", "float32", "float64", "bool",
]  # fmt: skip


def sample(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """Values of ``dtype`` with its extremes in them."""
    array = RNG.integers(0, 120, shape).astype(dtype)
    if dtype.startswith(("uint", "int")):
        array.flat[0], array.flat[-1] = np.iinfo(dtype).min, np.iinfo(dtype).max
    elif dtype.startswith("float"):
        array.flat[0], array.flat[1], array.flat[-1] = np.nan, -np.inf, np.inf
    return array


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(37, 23), (9, 11, 3), (1, 5)])
def test_npy_in_bands_is_the_npy_file(dtype: str, shape: tuple[int, ...]) -> None:
    """For every dtype, mono and colour, bands of a few rows join into exactly the bytes of
    numpy's own writer, and each band holds at most the band size (one row at least)."""
    array = sample(dtype, shape)
    row = array[0].nbytes
    written = bands.npy_of(array, band_bytes=3 * row + 1)
    sizes = [len(piece) for piece in list(written.pieces())[1:]]
    assert written.join() == rawfiles.npy(array)
    assert written.length == len(rawfiles.npy(array))
    assert max(sizes) <= max(row, 3 * row + 1) and written.count == -(-shape[0] // 3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(37, 23), (9, 11, 3), (2, 4, 4)])
def test_fits_in_bands_is_the_fits_file(dtype: str, shape: tuple[int, ...]) -> None:
    """For every dtype (unsigned with BZERO, int8, float16 widened, bool), mono and colour
    planes bottom-up, the bands and the metadata cards join into exactly astropy's file."""
    pytest.importorskip("astropy")
    array = sample(dtype, shape)
    metadata = {"EXPTIME": 2.5, "exposure time": 30, "nested": {"no": 1}}
    written = bands.fits(array, metadata, band_bytes=3 * shape[1])
    whole = rawfiles.fits(array, metadata)
    assert written.join() == whole and written.length == len(whole)
    assert written.count > 1


def test_a_contiguous_array_is_written_from_views() -> None:
    """A C-contiguous frame's bands are views of its memory (free, no copy); a rectangle's
    rows are copied band by band."""
    frame = np.arange(64 * 50, dtype=np.uint16).reshape(64, 50)
    frame.flags.writeable = False
    whole = bands.npy_of(frame, band_bytes=1000)
    first = whole.make(0)
    assert whole.free and isinstance(first, memoryview) and first.obj is not None
    assert np.shares_memory(np.frombuffer(first, np.uint16), frame)
    rectangle = bands.npy_of(frame[3:40, 5:20], band_bytes=1000)
    assert not rectangle.free
    assert rectangle.join() == rawfiles.npy(np.ascontiguousarray(frame[3:40, 5:20]))


def test_rows_made_on_demand() -> None:
    """Rows asked of a function band by band (as a lower level is reduced on demand) make
    the file of the array those rows form; each band asks only for its rows."""
    array = sample("float32", (50, 7))
    asked: list[tuple[int, int]] = []

    def rows(first: int, last: int) -> np.ndarray:
        asked.append((first, last))
        return array[first:last]

    written = bands.npy(array.dtype, array.shape, rows, band_bytes=10 * 7 * 4)
    assert written.join() == rawfiles.npy(array)
    assert asked == [(0, 10), (10, 20), (20, 30), (30, 40), (40, 50)]


def test_gzip_band_by_band_is_one_standard_gzip_file() -> None:
    """Compressing each band in turn with one Deflate gives a gzip file that any gzip
    reader opens as the .npy file."""
    array = (np.arange(300 * 200) % 700).astype(np.uint16).reshape(300, 200)
    deflate = rawfiles.Deflate()
    written = bands.npy_of(array, band_bytes=4096)
    compressed = b"".join(deflate.compress(piece) for piece in written.pieces())
    compressed += deflate.flush()
    assert gzip.decompress(compressed) == rawfiles.npy(array)
    assert np.array_equal(np.load(io.BytesIO(gzip.decompress(compressed))), array)


def test_bytes_in_bands_are_views() -> None:
    """A file made already is cut into views of its bytes."""
    data = bytes(range(256)) * 41
    written = bands.of_bytes(data, band_bytes=1000)
    assert written.free and written.count == 11 and written.join() == data
    assert all(isinstance(piece, memoryview) for piece in list(written.pieces())[1:])


def test_a_level_reduced_band_by_band_is_the_level_reduced_at_once() -> None:
    """Rows of a lower level reduced from the frame one band at a time (a level too big to
    keep) are bit for bit the rectangle reduced at once, colour and edges included."""
    from framecast.science import rawtiles

    array = RNG.integers(0, 65536, (203, 301, 3)).astype(np.uint16)
    level, x0, y0, x1, y1 = 7, 3, 5, 70, 50  # 2× smaller: 151×102, a rectangle of it

    def rows(first: int, last: int) -> np.ndarray:
        return rawtiles.region(array, level, x0, y0 + first, x1, y0 + last)

    shape = (y1 - y0, x1 - x0, 3)
    written = bands.npy(np.dtype(np.float32), shape, rows, band_bytes=7 * (x1 - x0) * 12)
    assert written.count == 7
    whole = rawtiles.region(array, level, x0, y0, x1, y1)
    assert written.join() == rawfiles.npy(whole)
