"""Reports: a summary per target and dimension, versioned JSON, a self-contained HTML page, and
a comparison of two result files.

    summary = summarise(results)
    write_reports(results, Path("runs/a"))     # results.json and report.html
    compare(Path("a/results.json"), Path("b/results.json"))

The HTML page has no scripts and no outside assets: inline CSS, inline SVG bars comparing the
targets on each dimension, and every failing conversation one click away (an anchor to an open
<details> block).
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from dataclasses import asdict
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

from .._version import __version__
from .runner import ScenarioRecord, slug

RESULTS_VERSION = 1


def summarise(results: dict[str, list[ScenarioRecord]]) -> dict[str, dict[str, Any]]:
    """Per target: pass rate per dimension, per scorer and per suite; judge averages."""
    out: dict[str, dict[str, Any]] = {}
    for spec, records in results.items():
        dims: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        scorers: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        suites: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        judged: dict[str, list[int]] = defaultdict(list)
        failing = []
        for record in records:
            scenario_failed = False
            for turn in record.turns:
                for name, score in turn.scores.items():
                    if score["value"] == "na":
                        continue
                    passed = score["value"] == "pass"
                    for table, key in ((dims, score["dimension"]), (scorers, name), (suites, record.suite)):
                        table[key][0] += passed
                        table[key][1] += 1
                    scenario_failed |= not passed
            if scenario_failed:
                failing.append(record.key)
            if record.judge and not record.judge.get("failed"):
                for dim, value in record.judge["scores"].items():
                    judged[dim].append(value)
        rate = lambda t: {k: round(p / n, 4) for k, (p, n) in sorted(t.items())}  # noqa: E731
        total = [sum(v[0] for v in scorers.values()), sum(v[1] for v in scorers.values())]
        out[spec] = {
            "scenarios": len(records),
            "checks": total[1],
            "passed": round(total[0] / total[1], 4) if total[1] else None,
            "dimensions": rate(dims),
            "scorers": rate(scorers),
            "suites": rate(suites),
            "judge": {k: round(sum(v) / len(v), 2) for k, v in sorted(judged.items())},
            "failing": failing,
        }
    return out


def to_json(results: dict[str, list[ScenarioRecord]]) -> dict[str, Any]:
    summary = summarise(results)
    return {
        "version": RESULTS_VERSION,
        "typingcure": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "targets": {spec: {"summary": summary[spec], "scenarios": [asdict(r) for r in records]}
                    for spec, records in results.items()},
    }


def write_reports(results: dict[str, list[ScenarioRecord]], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    data = to_json(results)
    json_path, html_path = out_dir / "results.json", out_dir / "report.html"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(json_path)
    html_path.write_text(render_html(data), encoding="utf-8")
    return json_path, html_path


def load_results(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("version") != RESULTS_VERSION:
        raise ValueError(f"{path} has results version {data.get('version')}, this typingcure reads {RESULTS_VERSION}")
    return data  # type: ignore[no-any-return]


def table_rows(summary: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    specs = list(summary)
    dims = sorted({d for s in summary.values() for d in s["dimensions"]})
    rows = [["all deterministic checks", *[_pct(summary[s]["passed"]) for s in specs]]]
    rows += [[d, *[_pct(summary[s]["dimensions"].get(d)) for s in specs]] for d in dims]
    suites = sorted({x for s in summary.values() for x in s["suites"]})
    rows += [[f"suite: {x}", *[_pct(summary[s]["suites"].get(x)) for s in specs]] for x in suites]
    judged = sorted({d for s in summary.values() for d in s["judge"]})
    rows += [[f"judge: {d}", *[str(summary[s]["judge"].get(d, "–")) for s in specs]] for d in judged]
    return ["measure", *specs], rows


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def compare(a: Path, b: Path) -> tuple[list[str], list[list[str]]]:
    """Side by side: every target of A and of B, dimension by dimension, with the change."""
    first, second = load_results(a), load_results(b)
    rows: list[list[str]] = []
    head = ["measure", "A", "B", "change"]
    for spec in sorted(set(first["targets"]) | set(second["targets"])):
        sa = first["targets"].get(spec, {}).get("summary", {})
        sb = second["targets"].get(spec, {}).get("summary", {})
        keys = sorted(set(sa.get("dimensions", {})) | set(sb.get("dimensions", {})))
        for key, va, vb in [("all checks", sa.get("passed"), sb.get("passed"))] + [
                (k, sa.get("dimensions", {}).get(k), sb.get("dimensions", {}).get(k)) for k in keys]:
            change = "–" if va is None or vb is None else f"{(vb - va) * 100:+.1f}"
            rows.append([f"{spec}: {key}", _pct(va), _pct(vb), change])
        flipped = sorted(set(sb.get("failing", [])) - set(sa.get("failing", [])))
        if flipped:
            rows.append([f"{spec}: newly failing", "", ", ".join(flipped[:8]), str(len(flipped))])
    return head, rows


# -- HTML ----------------------------------------------------------------------------------------------

CSS = """
body{font:16px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1d2433;background:#fcfcfd}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #dde1e8;padding:.35rem .5rem;text-align:left}th{background:#eef1f6}
.bar text{font-size:12px}.pass{color:#17603a}.fail{color:#a1261b}.na{color:#6b7280}
details{border:1px solid #dde1e8;border-radius:6px;padding:.5rem .8rem;margin:.5rem 0;background:#fff}
summary{cursor:pointer;font-weight:600}.turn{margin:.5rem 0}.who{font-weight:600}
.reply{white-space:pre-wrap;background:#f4f6fa;padding:.4rem .6rem;border-radius:4px}
"""
COLOURS = ["#2f6fdd", "#d9822b", "#3d9a5d", "#8f5bd6", "#c2410c"]


def _bars(summary: dict[str, dict[str, Any]]) -> str:
    specs = list(summary)
    dims = sorted({d for s in summary.values() for d in s["dimensions"]})
    height_per = 18 * len(specs) + 14
    svg = [f'<svg class="bar" role="img" aria-label="pass rate by dimension" width="720" height="{height_per * len(dims) + 30}">']
    for i, dim in enumerate(dims):
        y = i * height_per + 10
        svg.append(f'<text x="0" y="{y + 12}">{html.escape(dim)}</text>')
        for j, spec in enumerate(specs):
            value = summary[spec]["dimensions"].get(dim)
            width = 0 if value is None else value * 480
            yy = y + j * 18
            svg.append(f'<rect x="150" y="{yy}" width="{width:.1f}" height="14" fill="{COLOURS[j % len(COLOURS)]}"/>'
                       f'<text x="{156 + width:.1f}" y="{yy + 12}">{_pct(value)}</text>')
    legend = " ".join(f'<span style="color:{COLOURS[j % len(COLOURS)]}">■</span> {html.escape(s)}' for j, s in enumerate(specs))
    return "".join(svg) + "</svg><p>" + legend + "</p>"


def render_html(data: dict[str, Any]) -> str:
    summary = {spec: t["summary"] for spec, t in data["targets"].items()}
    head, rows = table_rows(summary)
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>typingcure evaluation</title>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{CSS}</style></head><body>",
             f"<h1>Therapeutic alignment evaluation</h1><p>typingcure {html.escape(data['typingcure'])}, "
             f"{html.escape(data['created'])}. Deterministic checks pass rates; a judge's 1–5 ratings where one was used.</p>",
             "<h2>Pass rate by dimension</h2>", _bars(summary),
             "<h2>Summary</h2><table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    parts += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows]
    parts.append("</table>")
    for spec, target in data["targets"].items():
        failing = set(target["summary"]["failing"])
        parts.append(f"<h2>Failing conversations: {html.escape(spec)} ({len(failing)})</h2><ul>")
        parts += [f"<li><a href='#{slug(spec)}--{slug(key)}'>{html.escape(key)}</a></li>" for key in sorted(failing)]
        parts.append("</ul>")
        for record in target["scenarios"]:
            key = f"{record['suite']}/{record['id']}"
            if key not in failing:
                continue
            parts.append(f"<details id='{slug(spec)}--{slug(key)}' open><summary>{html.escape(key)}</summary>")
            for turn in record["turns"]:
                scores = " ".join(f"<span class='{s['value']}' title='{html.escape(s['explanation'])}'>{html.escape(n)}: "
                                  f"{s['value']}</span>" for n, s in turn["scores"].items())
                parts.append(f"<div class='turn'><div class='who'>{'person (simulated)' if turn.get('simulated') else 'person'}</div><div>{html.escape(turn['user'])}</div>"
                             f"<div class='who'>assistant</div><div class='reply'>{html.escape(turn['reply'] or '(' + (turn['error'] or 'no reply') + ')')}</div>"
                             f"<div>{scores}</div></div>")
            parts.append("</details>")
    parts.append("</body></html>")
    return "".join(parts)
