"""Web app benchmarks: page load (server time), 20 concurrent chats, time to the first streamed
sentence against the model's own, the memory of `typingcure serve` with the bundled model,
hardening: 100 unlock guesses (time taken, when the lockout came), `/healthz` while 4 turns
stream, and requests under another Host name (DNS rebinding); what a person sees in a real
browser: Send to "typing…" and Send to the first checked sentence in view; and the share of
interface and reply strings translated in each language.

    cd /work/main && .venv/bin/python benchmarks/web.py [--out benchmarks/results/web.json]

A real `typingcure serve` on 127.0.0.1 (a scripted model for the load figures, the bundled model
for the memory and first-sentence figures); requests from this process over loopback. The browser
figures drive Debian's Chromium (headless, through Playwright, at a phone's 390 × 740) against
`typingcure serve`, once with a scripted model whose first sentence is whole after about 1 s
(0.25 s before each word, four words) and once with the bundled model (`--backend local`): one
unmeasured send, then 10 sends, each timed in the page with `performance.now()` (a click listener
and a MutationObserver, checked every animation frame), so the figures are browser time, not
round trips to this process. Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from typingcure.backends import GenerateOptions, backend_from_spec
from typingcure.backends.local import bundled_model_path
from typingcure.safety.resources import all_resources
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


# ----------------------------------------------------------------------------- in a real browser

CHROMIUM = "/usr/bin/chromium"
# Distinct replies (a sentence is said once per conversation) of one four-word sentence the guards
# pass as it is: at 0.25 s before each word it can be released after about 1 s. (What the pipeline
# adds after it, a reflection or a question of its own, comes once the model has finished.)
SLOW_START_REPLIES = [
    "That sounds really hard.", "It sounds truly exhausting.", "That must hurt deeply.", "Thank you for sharing.",
    "It sounds very tiring.", "Work sounds heavy lately.", "Those days are hard.", "That sounds really draining.",
    "That sounds so heavy.", "It sounds really painful.", "That sounds deeply frustrating.", "Work sounds really stressful.",
]
SLOW_START_DELAY = 0.25

# Installed before each click. Records, in browser time: the click on Send; when the "typing…"
# bubble is in the page (MutationObserver) and on screen (first animation frame where it has a size
# and lies inside the window); when the first checked sentence replaces it (MutationObserver) and
# when it is on screen above the box where people type (animation frame).
INSTRUMENT = """() => {
  const list = document.getElementById('messages');
  const form = document.querySelector('form.say');
  const button = form.querySelector('button[type=submit]');
  const m = window.__tc = {click: null, typingDom: null, typingShown: null, sentenceDom: null,
                           sentenceShown: null, text: null, done: false};
  const before = list.querySelectorAll('.msg.bot').length;
  let bubble = null;
  const find = () => {
    if (!bubble) { const all = list.querySelectorAll('.msg.bot'); if (all.length > before) bubble = all[all.length - 1]; }
    return bubble;
  };
  const onScreen = (el) => { const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; };
  const aboveBox = (el) => { const r = el.getBoundingClientRect(), box = form.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.top >= 0 && r.bottom <= box.top + 2; };
  const observer = new MutationObserver(() => {
    const now = performance.now(), b = find();
    if (!b) return;
    const text = b.querySelector('.text');
    if (m.typingDom === null && b.classList.contains('typing')) m.typingDom = now;
    if (m.sentenceDom === null && !b.classList.contains('typing') && text && text.textContent.trim()) {
      m.sentenceDom = now; m.text = text.textContent;
    }
  });
  observer.observe(list, {childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['class']});
  const frame = () => {
    const now = performance.now(), b = find();
    if (b && b.isConnected) {
      const text = b.querySelector('.text');
      if (m.typingShown === null && b.classList.contains('typing') && text.checkVisibility() && onScreen(b)) m.typingShown = now;
      if (m.sentenceDom !== null && m.sentenceShown === null && !b.classList.contains('typing')
          && text.textContent.trim() && text.checkVisibility() && aboveBox(text)) {
        m.sentenceShown = now; m.done = true; observer.disconnect(); return;
      }
    }
    if (now - m.click > 180000) { m.done = true; observer.disconnect(); return; }
    requestAnimationFrame(frame);
  };
  button.addEventListener('click', () => { m.click = performance.now(); requestAnimationFrame(frame); },
                          {capture: true, once: true});
}"""


def _browser(p):  # type: ignore[no-untyped-def]
    """Debian's Chromium, as the browser tests start it (tests/test_web.py)."""
    return p.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"])


def _one_send(page, text: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Type, click Send, and read the page's own timestamps (ms after the click)."""
    page.get_by_label("Type here").fill(text)
    page.evaluate(INSTRUMENT)
    page.get_by_role("button", name="Send").click()
    page.wait_for_function("() => window.__tc.done", timeout=200_000)
    page.wait_for_function("() => !document.querySelector('form.say button[type=submit]').disabled", timeout=200_000)
    m = page.evaluate("window.__tc")
    sent = page.get_by_label("Type here").input_value() == ""  # the box is emptied only when the message went through

    def after(key: str) -> float | None:
        return None if m[key] is None or m["click"] is None else round(m[key] - m["click"], 1)

    return {"typing_dom_ms": after("typingDom"), "typing_shown_ms": after("typingShown"),
            "sentence_dom_ms": after("sentenceDom"), "sentence_in_view_ms": after("sentenceShown"),
            "first_sentence": m["text"], "sent": sent}


def browser_sends(backend: str, home: Path, sends: int = 10) -> dict[str, object]:
    """One unmeasured send (it loads the assessor, and the model for `local`), then `sends` timed sends."""
    from playwright.sync_api import sync_playwright

    proc, url = start(backend, home)
    try:
        with sync_playwright() as p:
            browser = _browser(p)
            try:
                page = browser.new_context(viewport={"width": 390, "height": 740}).new_page()
                page.goto(url)
                cold = _one_send(page, "hello, I just wanted to talk for a bit")
                samples = [_one_send(page, f"I had a hard day at work again, number {i + 1}") for i in range(sends)]
            finally:
                browser.close()
    finally:
        proc.terminate()
        proc.wait()
    good = [s for s in samples if s["sent"] and s["typing_shown_ms"] is not None and s["sentence_in_view_ms"] is not None]
    typing = [float(s["typing_shown_ms"]) for s in good]  # type: ignore[arg-type]
    first = [float(s["sentence_in_view_ms"]) for s in good]  # type: ignore[arg-type]
    out: dict[str, object] = {"sends": sends, "measured": len(good), "cold_send": cold, "samples": samples}
    if good:
        out.update(typing_p50_ms=round(statistics.median(typing), 1), typing_p95_ms=round(percentile(typing, 0.95), 1),
                   first_sentence_p50_ms=round(statistics.median(first), 1),
                   first_sentence_p95_ms=round(percentile(first, 0.95), 1))
    return out


# ----------------------------------------------------------------------------- translations

REPLY_METADATA = {"language"}  # the file's language code, not text anyone reads
# The only English values that need no translation: made of nothing but these (with spaces and
# punctuation between). A key whose English value is anything else must read differently.
SERVICE_NAMES = sorted({"typingcure"} | {r.name for rs in all_resources().values() for r in rs}, key=len, reverse=True)
NO_TRANSLATION_NEEDED = {
    "a service name": "|".join(re.escape(name) for name in SERVICE_NAMES),
    "a URL": r"https?://\S+|www\.\S+",
    "a placeholder": r"\{\w+\}",
    "a command": r"/[a-z]+(?: [A-Z]{2})?",  # /why, /plan, /country KE
    "a number": r"\+?\d[\d ()./-]*",
}


def needs_no_translation(english: str) -> str | None:
    """Which allowance an English value falls under, or None when it must be translated."""
    rest, kinds = english, []
    for kind, pattern in NO_TRANSLATION_NEEDED.items():
        rest, n = re.subn(pattern, " ", rest)
        if n:
            kinds.append(kind)
    return ", ".join(kinds) if kinds and not re.search(r"\w", rest) else None


def translated_share(english: dict[str, str], other: dict[str, str]) -> dict[str, Any]:
    keys = [k for k in english if k not in REPLY_METADATA]
    allowed = {k: why for k in keys if (why := needs_no_translation(str(english[k])))}
    missing = [k for k in keys if k not in other]
    same = [k for k in keys if k not in allowed and k in other and str(other[k]).strip() == str(english[k]).strip()]
    differ = sum(1 for k in keys if k in other and k not in allowed and k not in same)
    counted = len(keys) - len(allowed)
    return {"keys": len(keys), "allowed_as_is": allowed, "counted": counted, "translated": differ,
            "share": round(100 * differ / counted, 1) if counted else 100.0,
            "identical_to_english": {k: english[k] for k in same}, "missing": missing}


def translations() -> dict[str, Any]:
    """Per language: the share of interface strings (languages/<code>/interface.yaml) and of fixed
    replies (languages/<code>/replies.yaml) whose text differs from English."""
    from typingcure import languages

    interface = {code: languages.load(code, "interface") for code in languages.with_file("interface")}
    replies = {code: languages.load(code, "replies") for code in languages.with_file("replies")}
    return {"interface": {lang: translated_share(interface["en"], table) for lang, table in interface.items() if lang != "en"},
            "replies": {lang: translated_share(replies["en"], table) for lang, table in replies.items() if lang != "en"},
            "interface_languages": list(interface), "reply_languages": list(replies)}


class Busy(Exception):
    """The page said: still answering the last messages (a clear line, not a failure)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "web.json")
    args = parser.parse_args()
    results: dict[str, object] = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "nproc": os.cpu_count(),
                                  "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]}
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
    browser: dict[str, dict[str, object]] = {}
    if shutil.which(CHROMIUM) is None:
        print(f"skipped the browser figures: no {CHROMIUM} (scripts/bootstrap --test installs it)", file=sys.stderr)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "slow-start.json"
            script.write_text(json.dumps({"replies": SLOW_START_REPLIES, "cycle": True, "delay": SLOW_START_DELAY}))
            browser["scripted_1s"] = browser_sends(f"scripted:{script}", Path(tmp) / "home-browser")
            if bundled_model_path() is not None:
                browser["local"] = browser_sends("local", Path(tmp) / "home-browser-local")
    results["browser"] = browser
    results["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    translated = translations()
    results["translations"] = translated
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
    names = {"scripted_1s": "scripted, 1 s", "local": "bundled model"}
    for key, figures in browser.items():
        if "typing_p50_ms" not in figures:
            rows.append((f"browser, {names[key]}: sends measured", f"{figures['measured']} / {figures['sends']}", "all"))
            continue
        measured = "" if figures["measured"] == figures["sends"] else f" ({figures['measured']} of {figures['sends']} sends)"
        rows += [(f"browser, {names[key]}: Send to typing…, p50 / p95{measured}",
                  f"{figures['typing_p50_ms']} / {figures['typing_p95_ms']} ms", "≤ 100 ms"),
                 (f"browser, {names[key]}: Send to 1st sentence in view, p50 / p95",
                  f"{figures['first_sentence_p50_ms']} / {figures['first_sentence_p95_ms']} ms", "as measured")]
    interface, replies = translated["interface"], translated["replies"]
    rows.append(("translated, en: interface / replies", "reference", "the English the others are compared with"))
    for lang in dict.fromkeys([*translated["interface_languages"], *translated["reply_languages"]]):
        if lang == "en":
            continue
        shown = [f"{t['share']:g}%" if (t := table.get(lang)) else "—" for table in (interface, replies)]
        rows.append((f"translated, {lang}: interface / replies", " / ".join(shown), "100% / 100%"))
    print(f"machine: {results['nproc']} cores, load average {results['loadavg_at_start'][0]} at the start "  # type: ignore[index]
          f"and {results['loadavg_at_end'][0]} at the end, {results['when']}")  # type: ignore[index]
    for label, value, target in rows:
        print(f"{label:<55} {str(value):>22}  {target}")
    for kind, table in (("interface", interface), ("replies", replies)):
        for lang, t in table.items():
            for key, english in t["identical_to_english"].items():
                print(f"  identical to English, {kind} {lang}: {key} = {english!r}")
            for key in t["missing"]:
                print(f"  missing, {kind} {lang}: {key}")
    allowed = {k: why for table in (interface, replies) for t in table.values() for k, why in t["allowed_as_is"].items()}
    print(f"  allowed as in English (only {', '.join(NO_TRANSLATION_NEEDED)}): "
          + (", ".join(f"{k} ({why})" for k, why in sorted(allowed.items())) or "none"))
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
