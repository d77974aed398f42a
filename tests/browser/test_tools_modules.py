"""The scientific tools' pure parts (docs/viewer.md), run in Chromium as the page imports them:
.npy parsing, stretches and colormaps, the tools' URL fragment, the scale bar's length,
values kept as the server wrote them, metadata series and thresholds."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pytest

from tests.browser.conftest import Viewer

pytestmark = pytest.mark.browser


def run(viewer: Viewer, module: str, expression: str, arg: Any = None) -> Any:
    """Evaluate ``expression`` with the module's exports as ``m`` and ``arg`` as ``arg``."""
    return viewer.page.evaluate(
        f"async (arg) => {{ const m = await import('./js/tools/{module}'); return {expression}; }}",
        arg,
    )


def npy_bytes(array: np.ndarray) -> list[int]:
    out = io.BytesIO()
    np.save(out, array)
    return list(out.getvalue())


PARSE = (
    "(() => { const r = m.parseNpy(new Uint8Array(arg).buffer);"
    " return {dtype: r.dtype, shape: r.shape, values: Array.from(r.data, v => Number.isNaN(v)"
    " ? 'NaN' : v)}; })()"
)


@pytest.mark.parametrize(
    ("dtype", "values"),
    [
        ("<u2", [[0, 40000, 65535], [1, 2, 3]]),
        ("<i2", [[-12, 0, 32767], [-32768, 5, 6]]),
        ("<f4", [[3.25e-05, -1.5, float("nan")], [1e30, 0.0, 2.0]]),
        ("|u1", [[0, 255, 7], [8, 9, 10]]),
        (">u2", [[1, 2, 258], [4, 5, 6]]),
    ],
)
def test_npy_tiles_are_read_exactly(page_open: Viewer, dtype: str, values: list[Any]) -> None:
    """A .npy tile gives back its dtype, shape and every value (big-endian too)."""
    array = np.array(values, dtype=dtype)
    got = run(page_open, "npy.js", PARSE, npy_bytes(array))
    assert got["dtype"] == array.dtype.name
    assert got["shape"] == [2, 3]
    expected = [("NaN" if np.isnan(v) else float(v)) for v in array.astype(np.float64).ravel()]
    assert got["values"] == [v if v == "NaN" else pytest.approx(v, rel=1e-7) for v in expected]


@pytest.mark.parametrize("dtype", ["<i8", ">i8", "<u8"])
def test_64_bit_integers_are_read_exactly(page_open: Viewer, dtype: str) -> None:
    """int64 and uint64 tiles (numpy's default integers) keep every value exactly, beyond
    2^53 too, for the readout, and give float64 numbers to paint with; the readout prints
    them as NumPy does."""
    big = 2**60 + 3 if dtype.endswith("u8") else -(2**60) - 3
    array = np.array([[0, 1, big], [2**53 + 1, 7, 40000]], dtype=dtype)
    got = run(
        page_open,
        "npy.js",
        "(() => { const r = m.parseNpy(new Uint8Array(arg).buffer);"
        " return {dtype: r.dtype, shape: r.shape, exact: Array.from(r.exact, String),"
        " numbers: Array.from(r.data), kind: r.data.constructor.name}; })()",
        npy_bytes(array),
    )
    assert got["dtype"] == array.dtype.name and got["shape"] == [2, 3]
    assert got["exact"] == [str(int(v)) for v in array.ravel()]
    assert got["kind"] == "Float64Array" and got["numbers"][4:] == [7, 40000]
    printed = run(
        page_open,
        "rawtext.js",
        "[m.formatRaw(BigInt(arg), 'int64'), m.formatRaw([1n, -2n], 'int64')]",
        str(big),
    )
    assert printed == [str(big), "1, -2"]


def test_npy_unaligned_and_colour(page_open: Viewer) -> None:
    """A colour tile (H×W×3) keeps its channels; a header of odd length is no problem."""
    array = np.arange(2 * 2 * 3, dtype="<f4").reshape(2, 2, 3) / 4
    got = run(page_open, "npy.js", PARSE, npy_bytes(array))
    assert got["shape"] == [2, 2, 3] and got["values"] == list(array.ravel())


def test_npy_refuses_what_is_not_npy(page_open: Viewer) -> None:
    """Bytes that are not a .npy file raise NpyError with a clear message."""
    got = run(
        page_open,
        "npy.js",
        "(() => { try { m.parseNpy(new Uint8Array(arg).buffer); return 'parsed'; }"
        " catch (e) { return [e instanceof m.NpyError, e.message]; } })()",
        list(b"<html>not found</html>"),
    )
    assert got == [True, "not a .npy file"]


def test_stretches(page_open: Viewer) -> None:
    """Each stretch maps 0 → 0 and 1 → 1, clamps outside, and lifts the faint end."""
    got = run(
        page_open,
        "colour.js",
        "m.STRETCHES.map(s => [s, m.stretch(0, s), m.stretch(1, s), m.stretch(-3, s),"
        " m.stretch(7, s), m.stretch(0.01, s)])",
    )
    faint = {name: low for name, zero, one, below, above, low in got}
    for name, zero, one, below, above, _ in got:
        assert (zero, one, below, above) == (0, 1, 0, 1), name
    assert faint["linear"] == pytest.approx(0.01)
    assert faint["sqrt"] == pytest.approx(0.1)
    assert faint["log"] > faint["asinh"] > faint["linear"]
    assert faint["squared"] == pytest.approx(0.0001)
    assert faint["linear"] > faint["power"] > 0
    assert set(faint) == {"linear", "sqrt", "squared", "log", "asinh", "power", "histeq"}


def test_colormaps_are_256_colour_tables(page_open: Viewer) -> None:
    """The 12 colormaps are matplotlib's published tables, every one of their 256 colours
    (grey, inverted grey, viridis, inferno, magma, plasma, cividis, turbo, heat = hot, cool,
    rainbow, diverging = coolwarm); invert reverses any of them."""
    import matplotlib as mpl

    got = run(
        page_open,
        "colour.js",
        "Object.fromEntries(m.COLORMAPS.map(c => [c, [Array.from(m.lut(c)),"
        " Array.from(m.lut(c, true))]]))",
    )
    names = {
        "grey": "gray", "grey-r": "gray_r", "viridis": "viridis", "inferno": "inferno",
        "magma": "magma", "plasma": "plasma", "cividis": "cividis", "turbo": "turbo",
        "heat": "hot", "cool": "cool", "rainbow": "rainbow", "diverging": "coolwarm",
    }  # fmt: skip
    assert set(got) == set(names)
    for name, (table, inverted) in got.items():
        expected = np.rint(mpl.colormaps[names[name]](np.arange(256) / 255)[:, :3] * 255)
        assert np.array_equal(np.array(table).reshape(256, 3), expected), name
        assert np.array_equal(np.array(inverted).reshape(256, 3), expected[::-1]), name
    assert got["viridis"][0][:3] == [0x44, 0x01, 0x54]
    middle = got["diverging"][0][384:387]
    assert max(middle) - min(middle) < 12 and 200 < middle[0] < 235


def test_histogram_equalisation_spreads_values_by_their_share(page_open: Viewer) -> None:
    """Histogram equalisation maps each value to the share of the frame's values below it,
    from the frame's quantiles: uniform data stays linear; data crowded at the low end gets
    the low end's values spread over most of the grey levels."""
    uniform = [i / 256 * 100 for i in range(257)]
    crowded = [100 * (i / 256) ** 4 for i in range(257)]  # most values near 0
    got = run(
        page_open,
        "colour.js",
        "[Array.from(m.equalised(0, 100, arg[0])), Array.from(m.equalised(0, 100, arg[1]))]",
        [uniform, crowded],
    )
    linear, spread = (np.array(t) for t in got)
    assert np.abs(linear - np.round(np.arange(4096) / 4095 * 255)).max() <= 1
    assert spread[0] == 0 and spread[-1] == 255
    at_tenth = spread[round(0.1 * 4095)]  # value 10: 10 ** (1/4) / 100 ** (1/4) = 56 %
    assert at_tenth == pytest.approx(0.5623 * 255, abs=2)


def test_paint_maps_raw_values_through_levels(page_open: Viewer) -> None:
    """Values at or under black are the colormap's first colour, at or over white its last,
    NaN is black; 16-bit values far above 255 are not clipped to 8 bits first."""
    got = run(
        page_open,
        "colour.js",
        "Array.from(m.paint(new Float32Array([1000, 40000, 20500, NaN, -5]),"
        " new Uint8ClampedArray(20),"
        " {black: 1000, white: 40000, stretch: 'linear', colormap: 'grey'}))",
    )
    pixels = [got[i : i + 4] for i in range(0, 20, 4)]
    assert pixels[0] == [0, 0, 0, 255] and pixels[1] == [255, 255, 255, 255]
    assert abs(pixels[2][0] - 128) <= 1
    assert pixels[3] == [0, 0, 0, 255] and pixels[4] == [0, 0, 0, 255]


def test_auto_levels_leave_out_the_extremes(page_open: Viewer) -> None:
    """Auto levels from a histogram skip a lone hot pixel."""
    got = run(
        page_open,
        "colour.js",
        "m.autoLevels({edges: [0, 10, 20, 30, 40, 50], counts: [0, 5000, 4000, 0, 1]})",
    )
    assert got == {"black": 10, "white": 30}


HASH = "#zoom=4.000&x=0.5&y=0.25&tools=1&ret=12,34&bar=1&roi=1,2,30,40&line=0,0,9,9&plot=temp&th=above:30.5&lv=100,4000.5&st=asinh&cm=viridis&auto=1&ov=0"  # noqa: E501


def test_tool_state_round_trips_through_the_fragment(page_open: Viewer) -> None:
    """Every tool's state survives formatting and parsing; the view's zoom/pan are kept."""
    got = run(
        page_open,
        "toolstate.js",
        "(() => { const s = m.parseTools(arg); return [s, m.formatTools(s, arg)]; })()",
        HASH,
    )
    state, again = got
    assert state["open"] is True
    assert state["reticle"] == {"x": 12, "y": 34}
    assert state["region"] == {"x": 1, "y": 2, "w": 30, "h": 40}
    assert state["line"] == {"x0": 0, "y0": 0, "x1": 9, "y1": 9}
    assert state["threshold"] == {"direction": "above", "value": 30.5}
    assert state["levels"] == {"black": 100, "white": 4000.5}
    assert (state["stretch"], state["colormap"], state["auto"]) == ("asinh", "viridis", True)
    assert state["overlays"] is False  # ov=0: the producer's overlays hidden (docs/together.md)
    assert again.startswith("#zoom=4.000&x=0.5&y=0.25&")
    assert sorted(again[1:].split("&")) == sorted(HASH[1:].split("&"))


def test_malformed_tool_state_is_ignored(page_open: Viewer) -> None:
    """Garbage in the fragment is left off, never thrown or half-applied."""
    got = run(
        page_open,
        "toolstate.js",
        "m.parseTools('#ret=1,x&roi=1,2,0,4&line=1,2,3&th=over:3&lv=9,1&st=cube&cm=jet')",
    )
    assert got["reticle"] is None and got["region"] is None and got["line"] is None
    assert got["threshold"] is None and got["levels"] is None
    assert (got["stretch"], got["colormap"]) == ("linear", "grey")
    assert got["overlays"] is True  # shown unless ov=0 says otherwise


def test_scale_bar_length_is_a_round_number(page_open: Viewer) -> None:
    """0.5 µm pixels drawn 2 screen px each: a 160 px bar holds 40 µm, so 20 µm (80 px);
    no bar without a numeric size and a unit."""
    got = run(
        page_open,
        "scalebar.js",
        "[m.scaleBar(0.5, 'µm', 2, 160), m.scaleBar(0.1, 'arcsec', 1, 160),"
        " m.scaleBar('0.5', 'µm', 2), m.scaleBar(0.5, 'µm', 0), m.scaleBar(0.5, undefined, 2)]",
    )
    assert got[0] == {"screen": 80, "label": "20 µm", "units": 20}
    assert got[1]["label"] == "10 arcsec" and got[1]["screen"] == pytest.approx(100)
    assert got[2] is None and got[3] is None and got[4] is None


def test_values_are_shown_as_the_server_wrote_them(page_open: Viewer) -> None:
    """/api/pixel's value is shown as written: 3.25e-05 is not re-spelt, null is NaN."""
    got = run(
        page_open,
        "analysis.js",
        "arg.map(t => m.valueText(m.memberText(t, 'value')))",
        [
            '{"seq": 3, "x": 1, "y": 2, "value": 40000}',
            '{"value": 3.25e-05, "seq": 3}',
            '{"seq":3,"x":1,"y":2,"value":-12}',
            '{"seq":3,"note":"value","value":null}',
            '{"seq":3,"value":"-inf"}',
            '{"seq":3,"value":[1, 2.50, 3e+38]}',
            '{"seq":3,"nested":{"value":9},"value":7}',
        ],
    )
    assert got == ["40000", "3.25e-05", "-12", "NaN", "-inf", "1, 2.50, 3e+38", "7"]


def test_metadata_series_and_thresholds(page_open: Viewer) -> None:
    """Numeric keys are collected per frame, oldest first; a threshold is crossed strictly."""
    got = run(
        page_open,
        "series.js",
        "(() => { const s = new m.MetaSeries(); s.add(3, {temp: 30, name: 'a'});"
        " s.add(1, {temp: 10, n: 1, framecast: {time: 5}}); s.add(2, {temp: 20.5});"
        " return [s.keys(), s.points('temp'), [29, 30, 31].map(v => m.crosses(v,"
        " {direction: 'above', value: 30})), m.crosses(2, {direction: 'below', value: 3}),"
        " m.crosses('40', {direction: 'above', value: 3})]; })()",
    )
    assert got == [["n", "temp"], [[1, 10], [2, 20.5], [3, 30]], [False, False, True], True, False]


def test_raw_values_are_printed_as_numpy_prints_them(page_open: Viewer) -> None:
    """float32 values get the fewest digits that give them back, Python-style exponents;
    integers stay integers, whole floats too (-12, never -12.0); NaN and infinities by name;
    colour as a list."""
    got = run(
        page_open,
        "rawtext.js",
        "[[Math.fround(3.25e-05), 'float32'], [Math.fround(-12), 'float32'], [40000, 'uint16'],"
        " [-12, 'int16'], [NaN, 'float32'], [-Infinity, 'float64'], [Math.fround(0.1), 'float32'],"
        " [1e16, 'float64'], [0.5, 'float64'], [[1, 2, 3], 'uint8']]"
        ".map(([v, d]) => m.formatRaw(v, d))",
    )
    assert got == [
        "3.25e-05",
        "-12",
        "40000",
        "-12",
        "NaN",
        "-inf",
        "0.1",
        "1e+16",
        "0.5",
        "1, 2, 3",
    ]


def test_raw_tile_geometry(page_open: Viewer) -> None:
    """A pixel is found in the right tile of the DZI grid (254 px, 1 px overlap), and the
    levels halve the size rounding up."""
    got = run(
        page_open,
        "rawframe.js",
        "[m.tileOf(0, 0), m.tileOf(253, 10), m.tileOf(254, 300), m.tileOf(600, 508),"
        " (() => { const d = m.dziLevels(600, 400); return [d.maxLevel, d.size(10), d.size(9),"
        " d.size(0)]; })()]",
    )
    assert got[0] == {"col": 0, "row": 0, "ix": 0, "iy": 0}
    assert got[1] == {"col": 0, "row": 0, "ix": 253, "iy": 10}
    assert got[2] == {"col": 1, "row": 1, "ix": 1, "iy": 47}
    assert got[3] == {"col": 2, "row": 2, "ix": 93, "iy": 1}
    assert got[4] == [
        10,
        {"width": 600, "height": 400},
        {"width": 300, "height": 200},
        {"width": 1, "height": 1},
    ]


# Bytes cross as base64 both ways: Playwright passes a list of numbers one element at a time.
WINDOW = """async (arg) => {
  const r = await import('./js/tools/rawframe.js');
  const { parseNpy } = await import('./js/tools/npy.js');
  const npy = Uint8Array.from(atob(arg.npy), c => c.charCodeAt(0));
  const w = r.areaOf(parseNpy(npy.buffer), arg.window, arg.maxLevel);
  const { width, height } = r.dziLevels(arg.width, arg.height).size(arg.window.level);
  const base64 = a => {
    const u = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    let s = '';
    for (let i = 0; i < u.length; i += 8192) s += String.fromCharCode(...u.subarray(i, i + 8192));
    return btoa(s);
  };
  const tiles = arg.tiles.map(([level, col, row]) => {
    const tile = w.cut(level, col, row, width, height);
    return tile && { dtype: tile.dtype, shape: tile.shape, kind: tile.data.constructor.name,
                     data: base64(tile.data) };
  });
  return { tiles, values: arg.pixels.map(([x, y]) => w.valueAt(x, y)) };
}"""
#: The numpy dtype of the bytes of each JavaScript typed array (little-endian, as x86 and ARM).
TYPED = {"Uint8Array": "<u1", "Uint16Array": "<u2", "Int16Array": "<i2", "Uint32Array": "<u4"}
TYPED |= {"Int32Array": "<i4", "Float32Array": "<f4", "Float64Array": "<f8"}


def test_a_window_of_a_level_gives_the_tiles_inside_it(page_open: Viewer) -> None:
    """The rectangle of a level read in one request (``.npy?level=&x=&y=&w=&h=``) gives
    exactly the server's tiles that lie wholly inside it, and none of the others; at the top
    level it gives the raw value of the pixels inside it."""
    from framecast.science import rawtiles

    array = np.random.default_rng(5).integers(0, 65536, (600, 700), dtype=np.uint16)
    for window, tiles, pixels in [
        (  # tiles (1, 0) and (1, 1) of the top level, overlaps included
            {"level": 10, "x0": 253, "y0": 0, "x1": 509, "y1": 509},
            [(10, 1, 0), (10, 1, 1), (10, 0, 0), (10, 2, 1), (10, 1, 2), (9, 0, 0)],
            [(300, 400), (253, 0), (508, 508), (100, 100), (509, 10)],
        ),
        (  # the whole of level 9 (350×300 float32 means)
            {"level": 9, "x0": 0, "y0": 0, "x1": 350, "y1": 300},
            [(9, 0, 0), (9, 1, 1), (10, 0, 0)],
            [(0, 0)],
        ),
    ]:
        part = rawtiles.region(
            array, window["level"], *(window[k] for k in ("x0", "y0", "x1", "y1"))
        )
        got = page_open.page.evaluate(
            WINDOW,
            {
                "npy": base64.b64encode(bytes(npy_bytes(part))).decode(),
                "window": window,
                "maxLevel": 10,
                "width": 700,
                "height": 600,
                "tiles": tiles,
                "pixels": pixels,
            },
        )
        for (level, col, row), tile in zip(tiles, got["tiles"], strict=True):
            x0, y0, x1, y1 = window["x0"], window["y0"], window["x1"], window["y1"]
            level_w, level_h = (700, 600) if level == 10 else (350, 300)
            rect = (
                max(0, col * 254 - 1),
                max(0, row * 254 - 1),
                min(level_w, col * 254 + 255),
                min(level_h, row * 254 + 255),
            )
            inside = (
                level == window["level"]
                and rect[0] >= x0
                and rect[1] >= y0
                and rect[2] <= x1
                and rect[3] <= y1
            )
            if not inside:
                assert tile is None, (window, level, col, row)
                continue
            expected = rawtiles.cut(array, level, col, row)
            assert tile is not None, (window, level, col, row)
            assert tile["dtype"] == ("uint16" if level == 10 else "float32")
            assert tile["shape"] == list(expected.shape)
            values = np.frombuffer(base64.b64decode(tile["data"]), TYPED[tile["kind"]])
            assert np.array_equal(values.astype(expected.dtype).reshape(expected.shape), expected)
        for (x, y), value in zip(pixels, got["values"], strict=True):
            inside = (
                window["level"] == 10
                and window["x0"] <= x < window["x1"]
                and window["y0"] <= y < window["y1"]
            )
            assert value == ({"value": int(array[y, x]), "dtype": "uint16"} if inside else None), (
                x,
                y,
            )


def test_histogram_counts_finite_values(page_open: Viewer) -> None:
    """The browser's histogram spans min..max, leaves NaN out, the maximum in the last bin."""
    got = run(page_open, "rawframe.js", "m.histogram(new Float32Array([0, 1, 1, 4, NaN]), 4)")
    assert got == {"min": 0, "max": 4, "edges": [0, 1, 2, 3, 4], "counts": [1, 2, 0, 1]}


TABLE_EQUALS_ARITHMETIC = """(() => {
  const kinds = {Uint8Array: [0, 255], Int8Array: [-128, 127], Uint16Array: [0, 65535],
                 Int16Array: [-32768, 32767]};
  const levelsList = [
    {black: 1000, white: 40000, stretch: 'linear', colormap: 'grey'},
    {black: -20, white: 90, stretch: 'sqrt', colormap: 'viridis', saturation: 100},
    {black: 300, white: 300, stretch: 'log', colormap: 'inferno'},
    {black: 5000, white: 100, stretch: 'asinh', colormap: 'diverging', saturation: 65535},
  ];
  const bad = [];
  for (const [kind, [low, high]] of Object.entries(kinds)) {
    const values = new globalThis[kind](high - low + 1).map((_, i) => low + i);
    for (const levels of levelsList) {
      const rgba = () => new Uint8ClampedArray(values.length * 4);
      const viaTable = m.paint(values, rgba(), levels);
      const viaArithmetic = m.paint(Float64Array.from(values), rgba(), levels);
      const first = viaTable.findIndex((v, i) => v !== viaArithmetic[i]);
      if (first >= 0) bad.push([kind, levels, low + (first >> 2)]);
    }
  }
  return bad;
})()"""


def test_integer_frames_paint_as_their_values_do(page_open: Viewer) -> None:
    """8- and 16-bit frames (painted through a colour table of every value) get the very
    colours their values get as floats, for every value, stretch, colormap and saturation."""
    assert run(page_open, "colour.js", TABLE_EQUALS_ARITHMETIC) == []


def test_16_bit_values_get_their_own_colours(page_open: Viewer) -> None:
    """A uint16 frame is painted from its 16-bit values (not cut to 8 bits first), an int16
    one with its negative values; saturated pixels are red."""
    got = run(
        page_open,
        "colour.js",
        "[Array.from(m.paint(new Uint16Array([1000, 40000, 20500, 65535]),"
        " new Uint8ClampedArray(16), {black: 1000, white: 40000, saturation: 65535})),"
        " Array.from(m.paint(new Int16Array([-300, -100, 100]), new Uint8ClampedArray(12),"
        " {black: -300, white: 100}))]",
    )
    unsigned = [got[0][i : i + 4] for i in range(0, 16, 4)]
    assert unsigned[0] == [0, 0, 0, 255] and unsigned[1] == [255, 255, 255, 255]
    assert abs(unsigned[2][0] - 128) <= 1 and unsigned[3] == [255, 0, 0, 255]
    signed = [got[1][i : i + 4] for i in range(0, 12, 4)]
    assert signed[0] == [0, 0, 0, 255] and abs(signed[1][0] - 128) <= 1
    assert signed[2] == [255, 255, 255, 255]


def test_integer_histograms_equal_the_float_ones(page_open: Viewer) -> None:
    """The histogram of 8- and 16-bit values (counted value by value) has the same extremes,
    edges and counts as that of the same values as floats."""
    got = run(
        page_open,
        "rawframe.js",
        """[['Uint16Array', [7, 65535, 300, 300, 40000, 0]], ['Int16Array', [-32768, -5, 0, 12]],
            ['Uint8Array', [3, 3, 3]], ['Int8Array', [-128, 127, 0]], ['Uint16Array', []]]
          .map(([kind, values]) => [m.histogram(new globalThis[kind](values), 7),
                                    m.histogram(Float64Array.from(values), 7)])""",
    )
    for counted, floats in got:
        assert counted == floats


def test_float16_is_read_and_printed_as_numpy_does(page_open: Viewer) -> None:
    """float16 tiles give back every value (subnormals, the largest, NaN and inf), and the
    readout prints each as NumPy prints a float16 (its own shortest digits, 1e+03 and up
    with an exponent; NaN as the readout always writes it), a whole one as an integer."""
    rng = np.random.default_rng(16)
    bits = rng.integers(0, 0x7C00, 300, dtype=np.uint16)  # every finite kind, both signs
    bits[::2] |= 0x8000
    special = np.array([0.1, 65504, 6e-08, 1000, -0.0, np.nan, np.inf], np.float16)
    values = np.concatenate([bits.view(np.float16), special]).reshape(1, -1)

    def text(v: np.float16) -> str:
        return "NaN" if np.isnan(v) else str(float(v)) if np.isinf(v) else repr(float(v))

    got = run(
        page_open,
        "npy.js",
        "(() => { const r = m.parseNpy(new Uint8Array(arg).buffer);"
        " return {dtype: r.dtype, values: Array.from(r.data, (v) => Number.isNaN(v) ? 'NaN'"
        " : v === Infinity ? 'inf' : Object.is(v, -0) ? '-0.0' : String(v))}; })()",
        npy_bytes(values),
    )
    assert got["dtype"] == "float16"
    numbers = [float(v) for v in values.ravel()]
    assert [n if n in ("NaN", "inf", "-0.0") else float(n) for n in got["values"]] == [
        ("NaN" if np.isnan(f) else "inf" if np.isinf(f) else "-0.0" if str(f) == "-0.0" else f)
        for f in numbers
    ]
    printed = run(
        page_open,
        "rawtext.js",
        "arg.map((v) => m.formatRaw(v === 'NaN' ? NaN : v === 'inf' ? Infinity : v, 'float16'))",
        ["NaN" if np.isnan(f) else "inf" if np.isinf(f) else f for f in numbers],
    )
    # NumPy's text, a whole float written as an integer (2.0 as 2, -0.0 as -0)
    numpy = ["NaN" if np.isnan(v) else str(v) for v in values.ravel()]
    assert printed == [t[:-2] if t.endswith(".0") else t for t in numpy]
