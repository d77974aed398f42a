"""Turns a benchmark result document into terminal tables, target checks and a PNG plot."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

__all__ = ["markdown", "plot", "summary", "tables"]

_FANOUT_COLUMNS = [
    ("label", "server"),
    ("n", "N"),
    ("rate", "img/s"),
    ("size", "bytes"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("max_ms", "max ms"),
    ("delivered_mean", "deliv"),
    ("delivered_min", "min"),
    ("mb_s", "MB/s"),
    ("server_cpu_pct", "cpu %"),
    ("peak_rss_mb", "peak MB"),
]
_STALL_EXTRA = [
    ("rss_start_mb", "rss0 MB"),
    ("rss_end_mb", "rss1 MB"),
    ("stalled_received", "stalled got"),
]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
    if isinstance(value, list):
        return ",".join(_cell(v) for v in value)
    return str(value)


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    """A plain-text table of ``rows`` with ``columns`` as (key, heading)."""
    cells = [[h for _, h in columns]] + [[_cell(r.get(k)) for k, _ in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    """The same table as Markdown (for docs/performance.md)."""
    lines = ["| " + " | ".join(h for _, h in columns) + " |"]
    lines.append("|" + "|".join("---" if i == 0 else "--:" for i in range(len(columns))) + "|")
    for r in rows:
        lines.append("| " + " | ".join(_cell(r.get(k)) for k, _ in columns) + " |")
    return "\n".join(lines)


def markdown(doc: dict[str, Any]) -> str:
    """Every scenario's table and the target checks as Markdown."""
    out = [f"Command: `{doc['command']}` — {doc['machine']}", ""]
    for name, block in doc["scenarios"].items():
        rows = [r for r in block["results"] if "error" not in r]
        out.append(f"#### {name}")
        out.append("")
        if name in ("notify", "bytes", "streams"):
            out.append(markdown_table(rows, _FANOUT_COLUMNS))
        elif name == "stall":
            out.append(markdown_table(rows, _FANOUT_COLUMNS + _STALL_EXTRA))
        elif name == "startstop":
            cols = [("impl", "server"), ("start_s", "start s"), ("stop_s", "stop s")]
            out.append(markdown_table(startstop_rows(rows), [*cols, ("runs", "runs")]))
        elif rows:
            out.append(markdown_table(rows, _generic_columns(rows)))
        for e in block["results"]:
            if "error" in e:
                out.append(f"\n- {e.get('label') or e.get('impl') or name}: {e['error']}")
        out.append("")
    checks = doc.get("summary", {}).get("checks", [])
    if checks:
        out.append("#### targets")
        out.append("")
        out.append(
            markdown_table(checks, [("target", "target"), ("value", "measured"), ("ok", "ok")])
        )
    return "\n".join(out)


def _generic_columns(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    keys: list[str] = []
    for r in rows:
        for k in r:
            if k not in keys and k != "scenario":
                keys.append(k)
    return [(k, k) for k in keys]


def tables(doc: dict[str, Any]) -> str:
    """Every scenario's table, errors listed below it."""
    out = []
    for name, block in doc["scenarios"].items():
        rows = [r for r in block["results"] if "error" not in r]
        errors = [r for r in block["results"] if "error" in r]
        out.append(f"## {name}  ({block['seconds']} s)")
        if name in ("notify", "bytes", "streams"):
            out.append(table(rows, _FANOUT_COLUMNS))
        elif name == "stall":
            out.append(table(rows, _FANOUT_COLUMNS + _STALL_EXTRA))
        elif name == "startstop":
            out.append(
                table(
                    startstop_rows(rows),
                    [
                        ("impl", "server"),
                        ("start_s", "start s"),
                        ("stop_s", "stop s"),
                        ("runs", "runs"),
                    ],
                )
            )
        elif rows:
            out.append(table(rows, _generic_columns(rows)))
        for e in errors:
            out.append(f"  ! {e.get('label') or e.get('impl') or name}: {e['error']}")
        out.append("")
    checks = doc.get("summary", {}).get("checks", [])
    if checks:
        out.append("## targets (issue 6)")
        out.append(table(checks, [("target", "target"), ("value", "measured"), ("ok", "ok")]))
    return "\n".join(out)


def startstop_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r["impl"], []).append(r)
    return [
        {
            "impl": impl,
            "start_s": statistics.median(r["start_s"] for r in rs),
            "stop_s": statistics.median(r["stop_s"] for r in rs if "stop_s" in r)
            if any("stop_s" in r for r in rs)
            else None,
            "runs": len(rs),
        }
        for impl, rs in by.items()
    ]


def _find(doc: dict[str, Any], scenario: str, **match: Any) -> dict[str, Any] | None:
    block = doc["scenarios"].get(scenario)
    if block is None:
        return None
    for r in block["results"]:
        if "error" not in r and all(r.get(k) == v for k, v in match.items()):
            return r
    return None


def _rows(doc: dict[str, Any], scenario: str) -> list[dict[str, Any]]:
    block = doc["scenarios"].get(scenario, {})
    return [r for r in block.get("results", []) if "error" not in r]


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    """Headline numbers and the issue's targets, each marked ok / not ok / not measured."""
    checks: list[dict[str, Any]] = []

    def check(target: str, value: Any, ok: bool | None) -> None:
        checks.append({"target": target, "value": value, "ok": None if ok is None else bool(ok)})

    fc = _find(doc, "notify", impl="framecast", n=100, rate=10.0)
    lim = _find(doc, "notify", impl="limit", n=100, rate=10.0)
    if fc and lim:
        r = _ratio(fc["p99_ms"], lim["p99_ms"])
        check(
            "notify p99 100 clients × 10/s ≤ 2× limit",
            f"{fc['p99_ms']} vs {lim['p99_ms']} ms ({r}×)",
            r is not None and r <= 2,
        )
    big = _find(doc, "notify", impl="framecast", n=1000, rate=1.0)
    if big:
        check("1000 viewers × 1/s: p99 < 1 s", f"{big['p99_ms']} ms", (big["p99_ms"] or 1e9) < 1000)
        check(
            "1000 viewers: server RSS < 300 MB",
            f"{big.get('peak_rss_mb')} MB",
            (big.get("peak_rss_mb") or 1e9) < 300,
        )
    fc = _find(doc, "notify", impl="framecast", n=1000, rate=10.0)
    lim = _find(doc, "notify", impl="limit", n=1000, rate=10.0)
    if fc and lim and fc.get("messages") and lim.get("messages") and "server_cpu_s" in fc:
        ours, theirs = (r["server_cpu_s"] / r["messages"] * 1e6 for r in (fc, lim))
        r = _ratio(ours, theirs)
        check(
            "CPU per message 1000 viewers × 10/s ≤ 1.3× limit",
            f"{ours:.1f} vs {theirs:.1f} µs ({r}×)",
            r is not None and r <= 1.3,
        )
    calm = _find(doc, "stall", impl="framecast", stalled=0)
    hit = _find(doc, "stall", impl="framecast", stalled=1)
    if calm and hit:
        r = _ratio(hit["p99_ms"], calm["p99_ms"])
        check(
            "stalled client: healthy p99 within 20 %",
            f"{hit['p99_ms']} vs {calm['p99_ms']} ms ({r}×)",
            r is not None and r <= 1.2,
        )
        check(
            "stalled client: ≥ 99 % delivered", hit["delivered_min"], hit["delivered_min"] >= 0.99
        )
        grow = round(hit["rss_end_mb"] - hit["rss_start_mb"], 1)
        check("stalled client: memory flat (< 20 MB growth)", f"{grow} MB", grow < 20)
    for n, rate in ((100, 200.0), (100, 30.0), (10, 30.0)):
        fb = _find(doc, "bytes", impl="framecast", n=n, size=500_000, rate=rate)
        lb = _find(doc, "bytes", impl="limit", n=n, size=500_000, rate=rate)
        if fb and lb:
            r = _ratio(fb["mb_s"], lb["mb_s"])
            check(
                f"/frames {n} clients × 500 KB at {rate:g}/s ≥ 75 % of limit MB/s",
                f"{fb['mb_s']} vs {lb['mb_s']} MB/s ({r}×)",
                r is not None and r >= 0.75,
            )
            break
    for row in _rows(doc, "tiles"):
        if row.get("vs_calm") is not None:
            check(
                "notify p99 with a tile burst ≤ 1.2× without",
                f"{row['p99_ms']} ms ({row['vs_calm']}×)",
                row["vs_calm"] <= 1.2,
            )
    for row in _rows(doc, "browser"):
        if row.get("vs_minimal") is not None:
            check(
                f"viewer p99 ≤ 1.3× minimal page at {row['rate']:g}/s",
                f"{row['p99_ms']} ms ({row['vs_minimal']}×)",
                row["vs_minimal"] <= 1.3,
            )
    ss = startstop_rows(
        [r for r in doc["scenarios"].get("startstop", {}).get("results", []) if "error" not in r]
    )
    for row in ss:
        if row["impl"] == "framecast":
            check("start() serving within 0.5 s", f"{row['start_s']:.3f} s", row["start_s"] <= 0.5)
            if row["stop_s"] is not None:
                check(
                    "stop() < 0.3 s with cooperative clients",
                    f"{row['stop_s']:.3f} s",
                    row["stop_s"] < 0.3,
                )
    one = next((r for r in _rows(doc, "streams") if r.get("label") == "1 stream"), None)
    many = next((r for r in _rows(doc, "streams") if r.get("label") != "1 stream"), None)
    if one and many:
        r = _ratio(many["p99_ms"], one["p99_ms"])
        check(
            f"{many['label']}: notify p99 ≤ 1.5× one stream, same totals",
            f"{many['p99_ms']} vs {one['p99_ms']} ms ({r}×)",
            r is not None and r <= 1.5,
        )
        r = _ratio(many["server_cpu_pct"], one["server_cpu_pct"])
        check(
            f"{many['label']}: server CPU ≤ 1.3× one stream",
            f"{many['server_cpu_pct']} vs {one['server_cpu_pct']} % ({r}×)",
            r is not None and r <= 1.3,
        )
    for r in (
        row
        for name in ("ingest", "analysis")
        for row in doc["scenarios"].get(name, {}).get("results", [])
    ):
        if "check" in r:
            check(r["check"], r.get("value"), r.get("ok"))
    return {"checks": checks}


def plot(doc: dict[str, Any], path: Path) -> None:
    """Four panels: notify p99 vs N, /frames MB/s, stalled-client delivery, start/stop."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    machine = doc["machine"]
    title = (
        f"framecast benchmarks — {doc['command']} — "
        f"{machine.get('cpus')} CPUs, Python {machine.get('python')}"
    )
    fig.suptitle(title, fontsize=10)
    ax = axes[0][0]
    notify = [r for r in doc["scenarios"].get("notify", {}).get("results", []) if "error" not in r]
    rate = 10.0 if any(r["rate"] == 10.0 for r in notify) else (notify[0]["rate"] if notify else 0)
    for impl in sorted({r["impl"] for r in notify}):
        pts = sorted(
            (r["n"], r["p99_ms"])
            for r in notify
            if r["impl"] == impl and r["rate"] == rate and r["p99_ms"] is not None
        )
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=impl)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="clients",
        ylabel="p99 latency (ms)",
        title=f"/ws notify p99, {rate:g} images/s",
    )
    ax.legend(fontsize=8)

    ax = axes[0][1]
    rows = [r for r in doc["scenarios"].get("bytes", {}).get("results", []) if "error" not in r]
    if rows:
        n = max(r["n"] for r in rows)
        sizes = sorted({r["size"] for r in rows})
        impls = sorted({r["impl"] for r in rows})
        width = 0.8 / max(1, len(impls))
        for i, impl in enumerate(impls):
            vals = [
                next(
                    (
                        r["mb_s"]
                        for r in rows
                        if r["impl"] == impl and r["size"] == s and r["n"] == n
                    ),
                    0,
                )
                for s in sizes
            ]
            ax.bar([j + i * width for j in range(len(sizes))], vals, width, label=impl)
        ax.set_xticks(
            [j + 0.4 - width / 2 for j in range(len(sizes))], [f"{s // 1000} KB" for s in sizes]
        )
        ax.set(ylabel="delivered MB/s", title=f"/frames binary fan-out, {n} clients")
        ax.legend(fontsize=8)

    ax = axes[1][0]
    rows = [r for r in doc["scenarios"].get("stall", {}).get("results", []) if "error" not in r]
    if rows:
        impls = sorted({r["impl"] for r in rows})
        for k, stalled in enumerate((0, 1)):
            vals = [
                next(
                    (
                        100 * r["delivered_min"]
                        for r in rows
                        if r["impl"] == impl and r["stalled"] == stalled
                    ),
                    0,
                )
                for impl in impls
            ]
            ax.bar(
                [j + k * 0.4 for j in range(len(impls))],
                vals,
                0.4,
                label="one client stalled" if stalled else "all healthy",
            )
        ax.set_xticks([j + 0.2 for j in range(len(impls))], impls)
        ax.set(
            ylim=(0, 105),
            ylabel="worst healthy client: % of images received",
            title="one stalled client among 50, 20 images/s, ~54 KB metadata",
        )
        ax.legend(fontsize=8)

    ax = axes[1][1]
    ss = startstop_rows(
        [r for r in doc["scenarios"].get("startstop", {}).get("results", []) if "error" not in r]
    )
    if ss:
        ax.bar(
            [j for j in range(len(ss))], [r["start_s"] for r in ss], 0.4, label="start → serving"
        )
        ax.bar(
            [j + 0.4 for j in range(len(ss))],
            [r["stop_s"] or 0 for r in ss],
            0.4,
            label="stop, 10 clients",
        )
        ax.set_xticks([j + 0.2 for j in range(len(ss))], [r["impl"] for r in ss])
        ax.set(ylabel="seconds", title="start / stop")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
