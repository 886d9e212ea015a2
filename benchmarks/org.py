"""Many people on one service (`serve --multi-user`; issue: for organisations).

    cd /work/main && .venv/bin/python benchmarks/org.py [--people 200] [--workers 4] [--seconds 90]
                                                      [--out benchmarks/results/org.json]

Real processes on 127.0.0.1: a private PostgreSQL server (store/pgtemp.py, Unix socket), and
`typingcure serve --multi-user --workers N` on it with a scripted backend (no model time). Measured
in one run:
- a turn as the page's script makes it (POST /chat/send, then its stream to the end), for one person
  alone on the one-person app (SQLite, one process) and for one person alone on the service: the
  baselines;
- the same turns for P people at once (each signed in, typing a message, reading the reply, pausing
  5 to 25 s as people do, for S seconds), every request free to reach any worker (no keep-alive):
  errors, and the turn time; what serving many people adds to a turn (the overhead) is its
  percentile under load less the same percentile for one person alone on the one-person app;
- memory of every worker (VmRSS) at the end.
Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import print_table, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from typingcure.store.pgtemp import private_postgres  # noqa: E402

MESSAGES = ["work was a lot today and my manager kept piling things on", "i cant sleep again, too much in my head",
            "my sister and i argued about mum's care and now nobody is talking",
            "i had a good moment today actually, walked by the river", "exams next week and i feel behind on everything",
            "money is tight this month and it's all i think about", "i miss my friends back home",
            "can you help me think about what to say to my flatmate about the dishes"]
PASSWORD = "a long password for the benchmark"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tokens(page: str) -> tuple[str, str]:
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    nonce = re.search(r'name="nonce" value="([^"]+)"', page)
    if not csrf or not nonce:
        raise RuntimeError("the chat page had no form")
    return csrf.group(1), nonce.group(1)


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"the server stopped: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


def start(args: list[str], env: dict[str, str]) -> tuple[str, subprocess.Popen[bytes]]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "typingcure", "serve", "--port", str(port), *args],
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    _wait(url, proc)
    return url, proc


async def turn(web: httpx.AsyncClient, text: str) -> float:
    """One turn as the page's script makes it; seconds from sending to the end of the reply."""
    csrf, nonce = _tokens((await web.get("/")).text)
    began = time.perf_counter()
    sent = await web.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": text},
                          headers={"Accept": "application/json"})
    if sent.status_code != 200:
        raise RuntimeError(f"send: {sent.status_code} {sent.text[:120]}")
    streamed = await web.get(sent.json()["stream"])
    if streamed.status_code != 200 or "event: done" not in streamed.text or "went wrong" in streamed.text:
        raise RuntimeError(f"stream: {streamed.status_code} {streamed.text[:120]}")
    return time.perf_counter() - began


def _client(url: str) -> httpx.AsyncClient:
    # A new connection for every request: any worker may answer any of them.
    return httpx.AsyncClient(base_url=url, trust_env=False, timeout=120, headers={"Connection": "close"},
                             limits=httpx.Limits(max_keepalive_connections=0))


async def sign_up(url: str, name: str) -> httpx.AsyncClient:
    web = _client(url)
    page = (await web.get("/account/sign-in")).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    done = await web.post("/account/sign-up", data={"csrf": csrf, "name": name, "password": PASSWORD, "again": PASSWORD})
    if done.status_code not in (200, 303) or "tc_account" not in web.cookies:
        raise RuntimeError(f"sign-up: {done.status_code} {done.text[:200]}")
    return web


async def alone(web: httpx.AsyncClient, rounds: int) -> list[float]:
    return [await turn(web, MESSAGES[i % len(MESSAGES)]) for i in range(rounds)]


async def crowd(url: str, people: int, seconds: float) -> dict[str, Any]:
    signing = asyncio.Semaphore(8)

    async def enter(i: int) -> httpx.AsyncClient:
        async with signing:
            return await sign_up(url, f"person{i:04d}")

    began = time.perf_counter()
    clients = await asyncio.gather(*(enter(i) for i in range(people)))
    signed = time.perf_counter() - began
    times: list[float] = []
    errors: list[str] = []
    stop = time.monotonic() + seconds
    rng = random.Random(7)

    async def person(web: httpx.AsyncClient, i: int) -> None:
        await asyncio.sleep(rng.uniform(0, 5))  # people do not all start at once
        n = 0
        while time.monotonic() < stop:
            try:
                times.append(await turn(web, MESSAGES[(i + n) % len(MESSAGES)]))
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {str(exc)[:100]}")
            n += 1
            await asyncio.sleep(rng.uniform(5, 25))

    await asyncio.gather(*(person(web, i) for i, web in enumerate(clients)))
    for web in clients:
        await web.aclose()
    return {"people": people, "sign_up_seconds": round(signed, 1), "turns": len(times), "errors": len(errors),
            "error_samples": errors[:5], "times": times}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def _rss_mb(parent: int) -> dict[str, float]:
    out = {}
    children = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split()
    for pid in [str(parent), *children]:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[pid] = round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "org.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, private_postgres(max_connections=400) as server:
        home = Path(tmp)
        script = home / "replies.json"
        script.write_text(json.dumps({"replies": ["That sounds like a lot to carry. What has been the hardest part?"],
                                      "cycle": True}))
        backend = f"scripted:{script}"
        base = {"TYPINGCURE_HOME": str(home / "one"), "TYPINGCURE_CONFIG": str(home / "none.toml")}
        one_url, one = start(["--backend", backend], {**base, "TYPINGCURE_DATABASE_URL": ""})
        try:
            async def single() -> list[float]:
                async with _client(one_url) as web:
                    page = (await web.get("/")).text
                    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
                    await web.post("/unlock", data={"csrf": csrf, "passphrase": PASSWORD, "again": PASSWORD})
                    await turn(web, "hello")  # the model and the safety layer load at the first turn
                    return await alone(web, args.rounds)
            single_times = asyncio.run(single())
        finally:
            one.terminate()
            one.wait(timeout=30)
        env = {**base, "TYPINGCURE_HOME": str(home / "many"), "TYPINGCURE_DATABASE_URL": server}
        url, many = start(["--multi-user", "--workers", str(args.workers), "--backend", backend,
                           "--sign-ups-per-hour", "1000000", "--sign-ins-per-10-minutes", "1000000"], env)
        try:
            async def warm_and_alone() -> list[float]:
                web = await sign_up(url, "alone")
                for _ in range(args.workers * 3):  # every worker loads its safety layer
                    await turn(web, "hello")
                times = await alone(web, args.rounds)
                await web.aclose()
                return times
            service_times = asyncio.run(warm_and_alone())
            loaded = asyncio.run(crowd(url, args.people, args.seconds))
            rss = _rss_mb(many.pid)
        finally:
            many.terminate()
            many.wait(timeout=60)
    times = loaded.pop("times")
    figures = {
        "one_person_app_p50_ms": round(_pct(single_times, 0.5), 1), "one_person_app_p95_ms": round(_pct(single_times, 0.95), 1),
        "service_alone_p50_ms": round(_pct(service_times, 0.5), 1), "service_alone_p95_ms": round(_pct(service_times, 0.95), 1),
        "crowd_p50_ms": round(_pct(times, 0.5), 1), "crowd_p95_ms": round(_pct(times, 0.95), 1),
        "crowd_max_ms": round(max(times) * 1000, 1) if times else None,
    }
    figures["overhead_p50_ms"] = round(figures["crowd_p50_ms"] - figures["one_person_app_p50_ms"], 1)
    figures["overhead_p95_ms"] = round(figures["crowd_p95_ms"] - figures["one_person_app_p95_ms"], 1)
    results = {"date": date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
               f"Python {platform.python_version()}", "workers": args.workers, "seconds": args.seconds,
               **loaded, **figures, "turns_per_second": round(len(times) / args.seconds, 1),
               "mean_turn_ms": round(statistics.fmean(times) * 1000, 1) if times else None, "rss_mb": rss}
    print_table([
        ("one person, one-person app: turn p50 / p95 ms", f"{figures['one_person_app_p50_ms']} / {figures['one_person_app_p95_ms']}", ""),
        ("one person, the service: turn p50 / p95 ms", f"{figures['service_alone_p50_ms']} / {figures['service_alone_p95_ms']}", ""),
        (f"{args.people} people, {args.workers} workers: turns / errors", f"{len(times)} / {loaded['errors']}", "0 errors"),
        (f"{args.people} people: turn p50 / p95 ms", f"{figures['crowd_p50_ms']} / {figures['crowd_p95_ms']}", ""),
        ("added by serving many: p50 / p95 ms", f"{figures['overhead_p50_ms']} / {figures['overhead_p95_ms']}", "p95 ≤ 50"),
        ("turns per second", results["turns_per_second"], ""),
        ("RSS of the server processes, MB", " ".join(str(v) for v in rss.values()), ""),
    ], value_width=24)
    write_json(args.out, results)


if __name__ == "__main__":
    main()
