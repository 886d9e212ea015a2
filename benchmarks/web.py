"""Web app benchmarks: page load (server time), 20 concurrent chats, time to the first streamed
sentence against the model's own, the memory of `typingcure serve` with the bundled model, and
hardening: 100 unlock guesses (time taken, when the lockout came), `/healthz` while 4 turns
stream, and requests under another Host name (DNS rebinding).

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


def start(backend: str, home: Path, history: str = "off") -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    port = free_port()
    env = {**os.environ, "TYPINGCURE_HOME": str(home), "TYPINGCURE_HISTORY": history, "TYPINGCURE_COUNTRY": "GB"}
    env.pop("TYPINGCURE_PASSPHRASE", None)
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
        if r.status_code == 429:
            raise Busy()
        r.raise_for_status()
        first = None
        with client.stream("GET", r.json()["stream"]) as stream:
            for line in stream.iter_lines():
                if line.startswith("event: sentence") and first is None:
                    first = time.perf_counter() - started
                if line.startswith("event: done"):
                    break
        return first or 0.0, time.perf_counter() - started


def tokens(client: httpx.Client) -> tuple[str, str | None]:
    page = client.get("/").text
    nonce = re.search(r'name="nonce" value="([^"]+)"', page)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1), nonce.group(1) if nonce else None  # type: ignore[union-attr]


def hardening(tmp: Path) -> dict[str, object]:
    """Unlock guesses, /healthz while turns stream, and another Host name, on a real server."""
    out: dict[str, object] = {}
    script = tmp / "slow.json"
    script.write_text(json.dumps({"replies": ["That sounds like a lot to carry today, and it makes sense."],
                                  "cycle": True, "delay": 0.15}))
    proc, url = start(f"scripted:{script}", tmp / "home-guess", history="on")
    try:
        with httpx.Client(base_url=url, timeout=30) as owner:
            csrf, _ = tokens(owner)
            owner.post("/unlock", data={"csrf": csrf, "passphrase": "the right one", "again": "the right one"})
            rebound = owner.get("/settings/export?format=json", headers={"Host": f"evil.example:{url.rsplit(':', 1)[1]}"})
            stranger = httpx.get(f"{url}/settings/export?format=json", timeout=30)
            out.update(rebinding_status=rebound.status_code, rebinding_leaked="conversations" in rebound.text,
                       other_browser_leaked="conversations" in stranger.text)
            _stream_turn(owner)  # the first message loads the assessor and the model: measured apart, above
            # four turns streaming at once (four browsers), and /healthz polled meanwhile
            pollers = [httpx.Client(base_url=url, timeout=60) for _ in range(4)]
            for client in pollers:
                c, _ = tokens(client)
                client.post("/unlock", data={"csrf": c, "passphrase": "the right one"})
            latencies: list[float] = []
            with ThreadPoolExecutor(4) as pool, httpx.Client(base_url=url, timeout=10) as probe:
                probe.get("/healthz")  # (a new client's own set-up is not the server's time)
                futures = [pool.submit(_stream_turn, client) for client in pollers]
                while not all(f.done() for f in futures):
                    t0 = time.perf_counter()
                    probe.get("/healthz").raise_for_status()
                    latencies.append((time.perf_counter() - t0) * 1000)
                    time.sleep(0.05)
                failed = sum(f.exception() is not None for f in futures)
            for client in pollers:
                client.close()
            out.update(healthz_while_4_stream_p50_ms=round(statistics.median(latencies), 2),
                       healthz_while_4_stream_p95_ms=round(percentile(latencies, 0.95), 2), healthz_samples=len(latencies),
                       turns_failed_while_measuring=failed)
        with httpx.Client(base_url=url, timeout=60) as guesser:
            # lock it again by restarting is not needed: a new browser must unlock, and guesses are counted
            csrf, _ = tokens(guesser)
            codes, started, lockout_at = [], time.perf_counter(), None
            for i in range(100):
                r = guesser.post("/unlock", data={"csrf": csrf, "passphrase": f"guess number {i}"})
                codes.append(r.status_code)
                if lockout_at is None and int(r.headers.get("retry-after", "0")) >= 900:
                    lockout_at = i + 1
            from typingcure.web.app import LOCKOUT_AFTER, guess_delay

            out.update(guesses=100, guesses_seconds=round(time.perf_counter() - started, 2),
                       guesses_checked=codes.count(401), guesses_refused_waiting=codes.count(429),
                       lockout_after_guess=lockout_at,
                       # a patient guesser, waiting out every delay: when the lockout comes, and guesses per hour after
                       seconds_to_lockout=sum(guess_delay(n) for n in range(LOCKOUT_AFTER)),
                       checked_guesses_per_hour_after=round(3600 / guess_delay(LOCKOUT_AFTER), 1))
    finally:
        proc.terminate()
        proc.wait()
    return out


def _stream_turn(client: httpx.Client) -> None:
    csrf, nonce = tokens(client)
    r = client.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": "a long day at work"},
                    headers={"Accept": "application/json"})
    r.raise_for_status()
    with client.stream("GET", r.json()["stream"]) as stream:
        for line in stream.iter_lines():
            if line.startswith("event: done"):
                return


class Busy(Exception):
    """The page said: still answering the last messages (a clear line, not a failure)."""


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
                           concurrent_chats=20, concurrent_errors=sum(o is None for o in outcomes),
                           concurrent_told_to_wait=sum(o == "busy" for o in outcomes),
                           concurrent_answered=sum(isinstance(o, tuple) for o in outcomes))
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
    with tempfile.TemporaryDirectory() as tmp:
        results.update(hardening(Path(tmp)))
    rows = [("page load (server), p50 / p95", f"{results['page_p50_ms']} / {results['page_p95_ms']} ms", "p95 ≤ 50 ms"),
            ("20 concurrent chats (scripted model): answered / told to wait / errors",
             f"{results['concurrent_answered']} / {results['concurrent_told_to_wait']} / {results['concurrent_errors']}", "errors 0")]
    if "serve_peak_rss_mb" in results:
        added = (results["first_sentence_browser_s"] - results["first_sentence_model_s"]) * 1000  # type: ignore[operator]
        rows += [("first sentence over HTTP vs the model alone (median)",
                  f"{results['first_sentence_browser_s']} / {results['first_sentence_model_s']} s", f"+{added:.0f} ms (≤ +100 ms)"),
                 ("serve with the bundled model, peak RSS", f"{results['serve_peak_rss_mb']} MB", "≤ 500 MB")]
    rows += [("another Host name (DNS rebinding): status / history leaked",
              f"{results['rebinding_status']} / {results['rebinding_leaked']}", "421 / False"),
             ("another browser, no session: history leaked", results["other_browser_leaked"], "False"),
             ("/healthz while 4 turns stream, p50 / p95",
              f"{results['healthz_while_4_stream_p50_ms']} / {results['healthz_while_4_stream_p95_ms']} ms", "p95 ≤ 50 ms"),
             ("100 wrong unlock guesses: seconds / checked / refused",
              f"{results['guesses_seconds']} s / {results['guesses_checked']} / {results['guesses_refused_waiting']}",
              "slowed, then locked out"),
             ("waiting out every delay: lockout after / then guesses per hour",
              f"{results['seconds_to_lockout']:.0f} s / {results['checked_guesses_per_hour_after']}", "lockout")]
    for label, value, target in rows:
        print(f"{label:<55} {str(value):>22}  {target}")
    write_json(args.out, results)


def _safe(url: str, text: str):  # type: ignore[no-untyped-def]
    try:
        return chat_once(url, text)
    except Busy:
        return "busy"
    except Exception:  # noqa: BLE001 - counted as an error
        return None


if __name__ == "__main__":
    main()
