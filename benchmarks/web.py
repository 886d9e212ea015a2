"""Web app benchmarks: page load (server time), 20 concurrent chats, time to the first streamed
sentence against the model's own, and the memory of `typingcure serve` with the bundled model.

    .venv/bin/python benchmarks/web.py [--out benchmarks/results/web.json]

A real `typingcure serve` on 127.0.0.1 (a scripted model for the load figures, the bundled model
for the memory and first-sentence figures); requests from this process over loopback. Prints a
table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from typingcure.backends import GenerateOptions, backend_from_spec
from typingcure.backends.local import bundled_model_path
from typingcure.types import Message
from _report import write_json  # benchmarks/_report.py


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(backend: str, home: Path) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    port = free_port()
    env = {**os.environ, "TYPINGCURE_HOME": str(home), "TYPINGCURE_HISTORY": "off", "TYPINGCURE_COUNTRY": "GB"}
    proc = subprocess.Popen([sys.executable, "-m", "typingcure", "serve", "--port", str(port), "--backend", backend],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("serve did not start")


def chat_once(url: str, text: str) -> tuple[float, float]:
    """Send one message the way the page's script does; returns (seconds to first sentence, total)."""
    with httpx.Client(base_url=url, timeout=120) as client:
        page = client.get("/").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        started = time.perf_counter()
        r = client.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": text}, headers={"Accept": "application/json"})
        r.raise_for_status()
        first = None
        with client.stream("GET", r.json()["stream"]) as stream:
            for line in stream.iter_lines():
                if line.startswith("event: sentence") and first is None:
                    first = time.perf_counter() - started
                if line.startswith("event: done"):
                    break
        return first or 0.0, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "web.json")
    args = parser.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "r.json"
        script.write_text(json.dumps({"replies": ["That sounds hard. What was the heaviest part of today?"], "cycle": True}))
        proc, url = start(f"scripted:{script}", Path(tmp) / "home")
        try:
            loads = []
            with httpx.Client(base_url=url) as client:
                for path in ["/", "/journal", "/plan", "/settings", "/about"] * 40:
                    t0 = time.perf_counter()
                    client.get(path).raise_for_status()
                    loads.append((time.perf_counter() - t0) * 1000)
            with ThreadPoolExecutor(20) as pool:
                outcomes = list(pool.map(lambda i: _safe(url, f"a long day, number {i}"), range(20)))
            results.update(page_p50_ms=round(statistics.median(loads), 2), page_p95_ms=round(percentile(loads, 0.95), 2),
                           concurrent_chats=20, concurrent_errors=sum(o is None for o in outcomes))
        finally:
            proc.terminate()
            proc.wait()
        if bundled_model_path() is not None:
            proc, url = start("local", Path(tmp) / "home2")
            try:
                chat_once(url, "hello")  # warm-up: the first request loads the model and the assessor
                firsts = [chat_once(url, f"I had a hard day at work, {i}")[0] for i in range(7)]
                with open(f"/proc/{proc.pid}/status") as fh:
                    rss = int(next(line for line in fh if line.startswith("VmHWM")).split()[1]) / 1024
            finally:
                proc.terminate()
                proc.wait()
            backend = backend_from_spec("local")
            model_firsts = []
            list(backend.generate([Message("user", "hello")], GenerateOptions(max_tokens=4)))  # warm-up
            for i in range(7):
                t0 = time.perf_counter()
                buffer = ""
                for piece in backend.generate([Message("system", "You are a caring AI who listens. Keep it short."),
                                               Message("user", f"I had a hard day at work, {i}")], GenerateOptions()):
                    buffer += piece
                    if re.search(r"[.!?]\s", buffer):
                        break
                model_firsts.append(time.perf_counter() - t0)
            results.update(first_sentence_browser_s=round(statistics.median(firsts), 3),
                           first_sentence_model_s=round(statistics.median(model_firsts), 3),
                           serve_peak_rss_mb=round(rss, 1))
    rows = [("page load (server), p50 / p95", f"{results['page_p50_ms']} / {results['page_p95_ms']} ms", "p95 ≤ 50 ms"),
            ("20 concurrent chats (scripted model): errors", results["concurrent_errors"], "0")]
    if "serve_peak_rss_mb" in results:
        added = (results["first_sentence_browser_s"] - results["first_sentence_model_s"]) * 1000  # type: ignore[operator]
        rows += [("first sentence over HTTP vs the model alone (median)",
                  f"{results['first_sentence_browser_s']} / {results['first_sentence_model_s']} s", f"+{added:.0f} ms (≤ +100 ms)"),
                 ("serve with the bundled model, peak RSS", f"{results['serve_peak_rss_mb']} MB", "≤ 500 MB")]
    for label, value, target in rows:
        print(f"{label:<55} {str(value):>22}  {target}")
    write_json(args.out, results)


def _safe(url: str, text: str):  # type: ignore[no-untyped-def]
    try:
        return chat_once(url, text)
    except Exception:  # noqa: BLE001 - counted as an error
        return None


if __name__ == "__main__":
    main()
