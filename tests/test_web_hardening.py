"""The web app keeps the diary to the browser that unlocked it (design/web.md, "Hardening").

Each test reproduces an attack first tried by hand on 127.0.0.1: DNS rebinding, another local
process or browser, a cross-site form, switching the backend unseen, guessing the passphrase, a
blocked event loop, an idle lock that never came."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from typingcure.config import Settings
from typingcure.errors import ConfigError
from typingcure.web.app import MAX_QUEUED, create_app, guess_delay, split_host

from .conftest import serving
from .test_web import LOCAL, scripted, send, tokens


def unlocked(tmp_path: Path, home: Path, **kwargs: object) -> tuple[TestClient, str]:
    client = TestClient(create_app(Settings(backend=scripted(tmp_path), country="GB"), home=home, **kwargs),  # type: ignore[arg-type]
                        base_url=LOCAL)
    csrf, _ = tokens(client.get("/").text)
    client.post("/unlock", data={"csrf": csrf, "passphrase": "open sesame", "again": "open sesame"})
    send(client, "a secret worry")
    return client, csrf


def test_another_host_name_is_refused_so_dns_rebinding_reads_nothing(tmp_path: Path, home: Path) -> None:
    client, _ = unlocked(tmp_path, home)
    assert "a secret worry" in client.get("/settings/export?format=json").text
    for host in ("evil.example:8101", "evil.example", "127.0.0.1.evil.example", "localhost.:80", ""):
        r = client.get("/settings/export?format=json", headers={"Host": host})
        assert r.status_code == 421 and "a secret worry" not in r.text, host
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert client.get("/", headers={"Host": "localhost:8000"}).status_code == 200
    assert client.get("/", headers={"Host": "[::1]:8000"}).status_code == 200


def test_the_port_must_match_when_it_is_known(tmp_path: Path, home: Path) -> None:
    client = TestClient(create_app(Settings(backend=scripted(tmp_path), history="off"), home=home, port=8101),
                        base_url="http://127.0.0.1:8101")
    assert client.get("/").status_code == 200
    assert client.get("/", headers={"Host": "127.0.0.1:9999"}).status_code == 421
    assert split_host("[::1]:8101") == ("::1", 8101) and split_host("localhost:99x") == ("localhost", -1)


def test_an_unlocked_history_is_only_for_the_browser_that_unlocked_it(tmp_path: Path, home: Path) -> None:
    client, _ = unlocked(tmp_path, home)
    app = client.app
    stranger = TestClient(app, base_url=LOCAL)  # another process, OS account or browser: no cookie
    for path in ("/", "/journal", "/settings", "/settings/export?format=json", "/plan"):
        r = stranger.get(path)
        assert "a secret worry" not in r.text and "Unlock your history" in r.text, path
    csrf, _ = tokens(stranger.get("/").text)
    skipped = stranger.post("/unlock/skip", data={"csrf": csrf})
    assert skipped.status_code == 409 and "open in another browser" in skipped.text
    assert "a secret worry" in client.get("/").text  # the person is not thrown out
    # the right passphrase lets a second browser in, beside the first
    stranger.post("/unlock", data={"csrf": csrf, "passphrase": "open sesame"})
    assert "a secret worry" in stranger.get("/").text and "a secret worry" in client.get("/").text


def test_a_browser_that_kept_nothing_cannot_see_what_another_unlocked(tmp_path: Path, home: Path) -> None:
    app = create_app(Settings(backend=scripted(tmp_path), country="GB"), home=home)
    first, second = TestClient(app, base_url=LOCAL), TestClient(app, base_url=LOCAL)
    csrf, _ = tokens(first.get("/").text)
    first.post("/unlock/skip", data={"csrf": csrf})
    send(first, "said off the record")
    # a second browser that skips starts afresh and the first one's open page is dropped
    assert "said off the record" not in second.get("/").text
    assert second.post("/unlock/skip", data={"csrf": csrf}).status_code == 200
    assert "said off the record" not in second.get("/").text
    assert "said off the record" not in first.get("/").text


def test_state_changes_must_come_from_the_apps_own_page(tmp_path: Path, home: Path) -> None:
    client, csrf = unlocked(tmp_path, home)
    for headers in ({"Origin": "http://evil.example:8101"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                    {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
                    {"Origin": "http://127.0.0.1.evil.example"}):
        r = client.post("/settings/wipe", data={"csrf": csrf, "confirm": "yes"}, headers=headers)
        assert r.status_code == 403, headers
    assert (home / "store.db").exists()
    ok = client.post("/settings/profile", data={"csrf": csrf, "country": "GB", "language": "en"},
                     headers={"Origin": "http://127.0.0.1", "Sec-Fetch-Site": "same-origin"})
    assert ok.status_code == 200


def test_the_backend_is_not_sent_elsewhere_unseen_and_errors_never_quote_a_file(tmp_path: Path, home: Path) -> None:
    client, csrf = unlocked(tmp_path, home)
    r = client.post("/settings/backend", data={"csrf": csrf, "backend": "openai:m@http://10.9.8.7:1/v1"})
    assert r.status_code == 400 and "sends what you type" in r.text and "I understand" in r.text
    assert client.app.state.tc.backend.startswith("scripted:")  # type: ignore[attr-defined]
    secret = tmp_path / "private.txt"
    secret.write_text("bank pin 4921: [unclosed\n  - {", encoding="utf-8")
    r = client.post("/settings/backend", data={"csrf": csrf, "backend": f"scripted:{secret}"})
    assert r.status_code == 400 and "reads the file" in r.text and "4921" not in r.text
    r = client.post("/settings/backend", data={"csrf": csrf, "backend": f"scripted:{secret}", "confirm_backend": "yes"})
    assert r.status_code == 400 and "4921" not in r.text and "could not be used" in r.text
    assert client.app.state.tc.backend.startswith("scripted:") and "private" not in client.app.state.tc.backend  # type: ignore[attr-defined]


def test_unlock_guesses_slow_down_then_lock_out(tmp_path: Path, home: Path) -> None:
    client, _ = unlocked(tmp_path, home)
    app = client.app
    app.state.tc.store.close()  # type: ignore[attr-defined]
    app.state.tc.store, app.state.tc.history, app.state.tc.sessions = None, "locked", set()  # type: ignore[attr-defined]
    guesser = TestClient(app, base_url=LOCAL)
    csrf, _ = tokens(guesser.get("/").text)
    codes = [guesser.post("/unlock", data={"csrf": csrf, "passphrase": f"guess {i}"}).status_code for i in range(6)]
    assert codes[:3] == [401, 401, 401] and 429 in codes[3:]
    waited = guesser.post("/unlock", data={"csrf": csrf, "passphrase": "open sesame"})
    assert waited.status_code == 429 and int(waited.headers["retry-after"]) >= 1  # even the right one waits
    assert [guess_delay(n) for n in (0, 2, 3, 4, 9, 10)] == [0.0, 0.0, 1.0, 2.0, 64.0, 900.0]
    app.state.tc.next_guess = 0.0  # type: ignore[attr-defined]  # (as if the delay had passed)
    assert "a secret worry" in guesser.post("/unlock", data={"csrf": csrf, "passphrase": "open sesame"},
                                           follow_redirects=True).text
    assert app.state.tc.failures == 0  # type: ignore[attr-defined]


def test_the_idle_lock_comes_on_a_timer_and_only_the_persons_requests_count(tmp_path: Path, home: Path) -> None:
    client, _ = unlocked(tmp_path, home, idle_minutes=0.01)  # 0.6 s
    state = client.app.state.tc  # type: ignore[attr-defined]
    assert state.store is not None
    stranger = TestClient(client.app, base_url=LOCAL)
    deadline = time.monotonic() + 5
    while state.store is not None and time.monotonic() < deadline:
        stranger.get("/healthz")  # someone else polling does not keep it open
        client.get("/about")      # nor does a page that shows nothing private
        time.sleep(0.1)
    assert state.store is None and state.history == "locked"  # closed with no request of the person's
    assert "Unlock your history" in client.get("/").text


@pytest.mark.parametrize("minutes", [float("nan"), float("inf"), -5, 0])
def test_the_idle_setting_is_checked(tmp_path: Path, home: Path, minutes: float) -> None:
    with pytest.raises(ConfigError):
        create_app(Settings(backend=scripted(tmp_path)), home=home, idle_minutes=minutes)


def test_a_failure_is_one_clear_page_with_the_headers(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = unlocked(tmp_path, home)
    monkeypatch.setattr(client.app.state.tc.store, "export", lambda: 1 / 0)  # type: ignore[attr-defined]
    r = client.get("/settings/export?format=json")
    assert r.status_code == 500 and "Something went wrong" in r.text and "Traceback" not in r.text
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"] and r.headers["x-frame-options"] == "DENY"


def test_turns_sent_together_are_answered_in_turn_and_each_stream_has_one_reader(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "slow.yaml"
    path.write_text(json.dumps({"replies": ["Slowly said, word by word."], "cycle": True, "delay": 0.1}))
    client = TestClient(create_app(Settings(backend=f"scripted:{path}", history="off", country="GB"), home=home),
                        base_url=LOCAL)
    csrf, nonce = tokens(client.get("/").text)
    streams = []
    for i in range(MAX_QUEUED):  # two tabs and a double click: all kept, answered one after another
        started = client.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": f"message {i}"},
                              headers={"Accept": "application/json"}).json()
        streams.append(started["stream"])
        nonce = started["next_nonce"]
    more = client.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": "one too many"},
                       headers={"Accept": "application/json"})
    assert more.status_code == 429 and "Still answering" in more.json()["error"]
    for stream in streams:
        body = client.get(stream).text
        assert "event: sentence" in body and "event: done" in body
        assert client.get(stream).status_code == 404  # a second reader gets nothing
    shown = client.get("/").text
    assert all(f"message {i}" in shown for i in range(MAX_QUEUED)) and "one too many" not in shown


# -- a real server on 127.0.0.1 ---------------------------------------------------------------------------


@pytest.fixture
def slow_server(tmp_path: Path, home: Path) -> Iterator[str]:
    path = tmp_path / "slow.yaml"
    path.write_text(json.dumps({"replies": ["One. Two. Three."], "cycle": True, "delay": 2.0}))
    yield from serving(f"scripted:{path}", {"TYPINGCURE_HISTORY": "off", "TYPINGCURE_COUNTRY": "GB"})


def test_a_plain_form_send_does_not_freeze_everyone_else(slow_server: str) -> None:
    with httpx.Client(base_url=slow_server, trust_env=False, timeout=30) as browser:
        csrf, nonce = tokens(browser.get("/").text)
        done = threading.Event()

        def post() -> None:
            browser.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": "a long day"})
            done.set()

        threading.Thread(target=post, daemon=True).start()
        time.sleep(0.3)
        assert not done.is_set()  # the reply is still being made
        took = []
        for _ in range(5):
            start = time.monotonic()
            assert httpx.get(f"{slow_server}/healthz", trust_env=False, timeout=5).status_code == 200
            took.append(time.monotonic() - start)
        assert not done.is_set(), took  # all five answered while the reply was still being made
        assert max(took) < 1.5, took  # and none waited for it (it takes 6 s: 2 s a word)
        assert done.wait(30)
    r = httpx.get(f"{slow_server}/", headers={"Host": "evil.example"}, trust_env=False)
    assert r.status_code == 421


# -- bad input to every form ------------------------------------------------------------------------------

NASTY = ["", " ", "\u200b\u200b\u200d", "\x00", "\x00" * 50, "\ud800", "a\udfffb", "é" * 20_000, "x" * 70_000,
         "<script>alert(1)</script>", "\u202eevil", "{{ 7*7 }}", "%00", "../../../../etc/passwd", "🙂" * 3000,
         "\r\n\r\n", "ZZZZ", "zz", "12", "-", "null", "[" * 10_000, "'; DROP TABLE turns; --", "\\", "\t"]
FORMS = {
    "/chat/send": ["text"], "/journal/send": ["text"], "/chat/role": ["role"], "/plan": ["warning_signs", "reasons"],
    "/settings/profile": ["country", "language", "helps"], "/settings/backend": ["backend", "confirm_backend"],
    "/settings/forget": ["conversation"], "/settings/wipe": ["confirm"], "/unlock": ["passphrase", "again"],
}


def test_three_hundred_bad_inputs_to_the_web_forms_never_crash_or_hang(tmp_path: Path, home: Path) -> None:
    import random

    rng = random.Random(14)
    client, csrf = unlocked(tmp_path, home)
    tried = 0
    for i in range(320):
        path = rng.choice(list(FORMS))
        fields = {name: rng.choice(NASTY) for name in FORMS[path] if rng.random() < 0.8}
        page = client.get("/journal" if path.startswith("/journal") else "/").text
        nonce = __import__("re").search(r'name="nonce" value="([^"]+)"', page)
        data = {"csrf": csrf if rng.random() < 0.9 else rng.choice(NASTY), **fields}
        if nonce and rng.random() < 0.9:
            data["nonce"] = nonce.group(1)
        if path == "/settings/backend" and data.get("backend", "").startswith(("/", ".")):
            data["backend"] = "scripted:" + data["backend"]
        started = time.monotonic()
        encoded = "&".join(f"{k}={__import__('urllib.parse').parse.quote(v, errors='surrogatepass')}" for k, v in data.items())
        r = client.post(path, content=encoded.encode("ascii", "replace"),
                        headers={"Content-Type": "application/x-www-form-urlencoded",
                                 **({"Accept": "application/json"} if rng.random() < 0.5 else {})})
        assert r.status_code < 500, (path, data, r.status_code, r.text[:300])
        assert "Traceback" not in r.text and "content-security-policy" in r.headers
        assert time.monotonic() - started < 20, (path, data)
        tried += 1
        if path == "/settings/wipe" and r.status_code == 200 and "wiped" in r.text:
            client, csrf = unlocked(tmp_path / f"again{i}", home)  # start over with a history
    for raw in (b"%", b"text=%ZZ", b"\xff\xfe\x00", b"=" * 5000, b"csrf&csrf&csrf", b"a=" + b"b" * 2_000_000):
        r = client.post("/chat/send", content=raw, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code < 500 and "content-security-policy" in r.headers
        tried += 1
    for query in ("/settings/export?format=%00", "/settings/export?format=" + "x" * 5000, "/chat/stream/" + "a" * 5000,
                  "/static/..%2f..%2fapp.py", "/plan?saved=notanumber", "/nowhere", "/static/app.css%00.js"):
        r = client.get(query)
        assert r.status_code < 500 and "content-security-policy" in r.headers, query
        tried += 1
    assert tried >= 330
    send(client, "still here after all that")  # and the app still works, with nothing half-written
    assert "still here after all that" in client.get("/").text


# -- found by an attacker's review -------------------------------------------------------------------------


def _idle_lock(client: TestClient) -> None:
    """The person has been away too long: what the timer does then (the timer itself is tested
    above, in test_the_idle_lock_comes_on_a_timer_and_only_the_persons_requests_count)."""
    state = client.app.state.tc  # type: ignore[attr-defined]
    state.last_seen -= state.idle_seconds + 1
    with state.lock:
        state.idle_check()
    assert state.store is None


def test_a_visit_that_keeps_nothing_cannot_change_or_destroy_the_kept_history(tmp_path: Path, home: Path) -> None:
    client, csrf = unlocked(tmp_path, home)
    client.post("/settings/profile", data={"csrf": csrf, "country": "KE", "language": "en", "helps": "calling my sister"})
    _idle_lock(client)
    intruder = TestClient(client.app, base_url=LOCAL)
    c, _ = tokens(intruder.get("/").text)
    assert intruder.post("/unlock/skip", data={"csrf": c}).status_code == 200
    assert "calling my sister" not in intruder.get("/settings").text  # the profile went with the lock
    r = intruder.post("/settings/backend", data={"csrf": c, "backend": "openai:m@http://127.0.0.1:9/v1", "confirm_backend": "yes"})
    assert r.status_code in (400, 403) and client.app.state.tc.backend.startswith("scripted:")  # type: ignore[attr-defined]
    r = intruder.post("/settings/wipe", data={"csrf": c, "confirm": "yes"})
    assert r.status_code == 403 and (home / "store.db").exists() and (home / "key.json").exists()
    # the person unlocks again: their profile is back, nothing was changed
    c, _ = tokens(client.get("/").text)
    client.post("/unlock", data={"csrf": c, "passphrase": "open sesame"})
    assert "calling my sister" in client.get("/settings").text and "a secret worry" in client.get("/").text


def test_the_model_the_person_chose_is_kept_with_their_history(tmp_path: Path, home: Path) -> None:
    client, csrf = unlocked(tmp_path, home)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"replies": ["Another voice."], "cycle": True}))
    client.post("/settings/backend", data={"csrf": csrf, "backend": f"scripted:{other}", "confirm_backend": "yes"})
    state = client.app.state.tc  # type: ignore[attr-defined]
    assert state.backend == f"scripted:{other}"
    _idle_lock(client)
    assert state.backend.startswith("scripted:") and state.backend != f"scripted:{other}"  # reset at the lock
    c, _ = tokens(client.get("/").text)
    client.post("/unlock", data={"csrf": c, "passphrase": "open sesame"})
    assert state.backend == f"scripted:{other}"  # and back, from the encrypted store


def test_a_message_that_starts_with_a_slash_is_still_read_for_risk(tmp_path: Path, home: Path) -> None:
    client, csrf = unlocked(tmp_path, home)
    for text in ("/end it all, I want to die tonight", "/i want to kill myself"):
        _, nonce = tokens(client.get("/").text)
        r = client.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": text}, headers={"Accept": "application/json"})
        assert "stream" in r.json(), text
        body = client.get(r.json()["stream"]).text
        assert "116 123" in body or "999" in body, text  # the care card, with the local line
    _, nonce = tokens(client.get("/").text)
    r = client.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": "/end"}, headers={"Accept": "application/json"})
    assert r.json()["end"] is True


def test_too_much_to_send_is_refused_unread_and_bad_header_bytes_are_no_500(tmp_path: Path, home: Path) -> None:
    client, csrf = unlocked(tmp_path, home)
    r = client.post("/chat/send", content=b"csrf=" + csrf.encode() + b"&text=" + b"a" * 300_000,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and "content-security-policy" in r.headers
    for host in (b"127.0.0.1:\xb2", b"127.0.0.1:\xb9\xb9", b"[::1"):
        assert client.get("/", headers={"Host": host}).status_code == 421  # type: ignore[dict-item]
    for origin in (b"http://[", b"http://127.0.0.1:\xb9"):
        r = client.post("/settings/profile", data={"csrf": csrf, "country": "GB"}, headers={"Origin": origin})  # type: ignore[dict-item]
        assert r.status_code == 403


def test_a_refused_message_can_be_sent_again(tmp_path: Path, home: Path) -> None:
    client, csrf = unlocked(tmp_path, home)
    _, nonce = tokens(client.get("/").text)
    r = client.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": "x" * 17_000}, headers={"Accept": "application/json"})
    assert r.status_code == 413
    again = client.post("/chat/send", data={"csrf": csrf, "nonce": r.json()["next_nonce"], "text": "shorter now"},
                        headers={"Accept": "application/json"})
    assert again.status_code == 200 and "stream" in again.json()


def test_a_passphrase_from_the_environment_opens_the_history_for_the_browser_with_the_printed_code(
        tmp_path: Path, home: Path) -> None:
    client, _ = unlocked(tmp_path, home)  # a history exists
    app = create_app(Settings(backend=scripted(tmp_path), country="GB"), home=home, passphrase="open sesame")
    code = app.state.tc.start_code  # type: ignore[attr-defined]
    stranger, person = TestClient(app, base_url=LOCAL), TestClient(app, base_url=LOCAL)
    assert "a secret worry" not in stranger.get("/").text  # open, but not for a browser without the code
    assert "a secret worry" in person.get(f"/?code={code}", follow_redirects=True).text
    assert "a secret worry" not in stranger.get(f"/?code={code}", follow_redirects=True).text  # one use
    with pytest.raises(Exception):
        create_app(Settings(backend=scripted(tmp_path)), home=home, passphrase="wrong")


# -- turns at once, and turns that fail (issue 13) ---------------------------------------------------------


def test_turns_on_several_pages_at_once_are_all_kept_through_the_real_server(tmp_path: Path, home: Path) -> None:
    """Chat and journal answered at the same time (each page's turns one after another), while the
    plan is saved and the history exported: every stream ends, nothing errors, every turn is kept."""
    from concurrent.futures import ThreadPoolExecutor

    from typingcure.store import SQLiteStore

    path = tmp_path / "slow.json"
    path.write_text(json.dumps({"replies": ["Thank you for telling me. What was the hardest part?"], "cycle": True,
                                "delay": 0.02}))
    server = serving(f"scripted:{path}", {"TYPINGCURE_COUNTRY": "GB"})
    url = next(server)
    try:
        with httpx.Client(base_url=url, trust_env=False, timeout=60) as person:
            csrf, _ = tokens(person.get("/").text)
            person.post("/unlock", data={"csrf": csrf, "passphrase": "open sesame", "again": "open sesame"})
            sends = [(page, tokens(person.get("/" if page == "chat" else "/journal").text)[1], f"{page} message {i}")
                     for page in ("chat", "journal") for i in range(MAX_QUEUED)]

            def turn(page: str, nonce: str | None, text: str) -> str:
                with httpx.Client(base_url=url, cookies=person.cookies, trust_env=False, timeout=60) as tab:
                    started = tab.post(f"/{page}/send", data={"csrf": csrf, "nonce": nonce, "text": text},
                                       headers={"Accept": "application/json"})
                    assert started.status_code == 200, started.text
                    return tab.get(started.json()["stream"]).text

            def meanwhile(i: int) -> int:
                with httpx.Client(base_url=url, cookies=person.cookies, trust_env=False, timeout=60) as tab:
                    tab.post("/plan", data={"csrf": csrf, "reasons": f"my garden {i}"})
                    return tab.get("/settings/export?format=json").status_code

            with ThreadPoolExecutor(max_workers=12) as pool:
                streams = [pool.submit(turn, *sent) for sent in sends]
                others = [pool.submit(meanwhile, i) for i in range(4)]
                bodies = [s.result(timeout=120) for s in streams]
                assert [o.result(timeout=120) for o in others] == [200] * 4
            for body in bodies:
                assert "event: done" in body and "role='alert'" not in body and "taking too long" not in body, body[-500:]
            shown = person.get("/").text + person.get("/journal").text
            assert all(text in shown for _, _, text in sends)
    finally:
        server.close()  # the server stops; what it kept is read back from the file
    store = SQLiteStore.open(home, "open sesame")
    try:
        kept = [t["user_text"] for c in store.export()["conversations"] for t in c["turns"]]
    finally:
        store.close()
    assert sorted(kept) == sorted(text for _, _, text in sends)  # each turn once, none lost


class _Failing:
    """A backend that raises something other than a TypingcureError, after its first sentence."""

    spec, remote, capable, languages = "failing", False, False, None

    def prepare(self) -> None:
        return None

    def generate(self, messages: object, options: object) -> Iterator[str]:
        yield "Let me think about that. "
        raise RuntimeError("the model fell over")


class _Broken:
    """A guard that raises."""

    spec = "broken"

    def check(self, *args: object) -> None:
        raise RuntimeError("the guard fell over")


def test_a_turn_that_raises_ends_the_stream_at_once_with_a_careful_reply(tmp_path: Path, home: Path) -> None:
    from typingcure.pipeline import build_parts

    client = TestClient(create_app(Settings(backend=scripted(tmp_path), history="off", country="GB"), home=home),
                        base_url=LOCAL)
    csrf, nonce = tokens(client.get("/").text)
    state = client.app.state.tc  # type: ignore[attr-defined]
    state.parts = build_parts(_Failing())  # type: ignore[arg-type]
    started = time.monotonic()
    r = client.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": "I had a long day at work"},
                    headers={"Accept": "application/json"})
    body = client.get(r.json()["stream"]).text
    assert time.monotonic() - started < 10  # not the 180 s a reader would otherwise wait
    done = json.loads(body.split("event: done\ndata: ")[1].split("\n")[0])
    assert "still here with you" in done and "nothing was kept" in done and 'href="tel:116123"' in done
    assert body.count("event: done") == 1 and "taking too long" not in body

    state.parts.guards = (_Broken(),)  # a guard that raises: the pipeline replaces the sentence, the turn is kept
    state.parts.backend = build_parts(scripted(tmp_path)).backend
    nonce = r.json()["next_nonce"]
    r = client.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": "and then the bus was late"},
                    headers={"Accept": "application/json"})
    body = client.get(r.json()["stream"]).text
    assert "Let me pause there" in body and "event: done" in body and "role='alert'" not in body  # the careful fallback
    state.parts = None  # the configured model again: the app goes on as before
    send(client, "still here")
    turns = state.pages["chat"].session.turns
    assert [t.user_text for t in turns] == ["and then the bus was late", "still here"] and turns[-1].reply  # the failed one was not kept



def test_a_persona_saved_in_settings_is_used_and_any_change_is_shown_before_the_next_reply(tmp_path: Path, home: Path) -> None:
    client, csrf = unlocked(tmp_path, home)
    said = client.post("/settings/persona", data={"csrf": csrf, "action": "new", "name": "Nova", "tone": "warm and brief",
                                                   "focus": "my exams", "avoid": "advice"}).text
    assert "Nova is saved and in use." in said
    assert "has changed" not in client.get("/").text
    other = tmp_path / "other.json"
    other.write_text('{"replies": ["Hello from another model."], "cycle": true}')
    client.post("/settings/backend", data={"csrf": csrf, "backend": f"scripted:{other}", "confirm_backend": "yes"})
    page = client.get("/").text
    assert "Nova has changed since you saved it:" in page and "the model: was scripted:" in page
    client.post("/settings/persona", data={"csrf": csrf, "action": "keep", "next": "chat"})
    assert "has changed" not in client.get("/").text
    export = client.get("/settings/export?format=json").json()
    assert export["personas"]["active"] == "Nova" and export["personas"]["items"][0]["tone"] == "warm and brief"
    client.post("/settings/persona", data={"csrf": csrf, "action": "off"})
    assert "has changed" not in client.get("/").text


def test_a_visit_that_keeps_nothing_cannot_save_a_persona(tmp_path: Path, home: Path) -> None:
    client = TestClient(create_app(Settings(backend=scripted(tmp_path), history="off", country="GB"), home=home), base_url=LOCAL)
    csrf, _ = tokens(client.get("/").text)
    done = client.post("/settings/persona", data={"csrf": csrf, "action": "new", "name": "Nova"})
    assert done.status_code == 403 and "unlock it to save one" in done.text
    assert client.post("/settings/persona", data={"action": "new", "name": "Nova"}).status_code == 403  # no csrf


def test_a_reply_piece_reaches_its_stream_when_it_is_put_not_at_the_next_poll() -> None:
    import asyncio

    from typingcure.web.chat import Feed

    async def read() -> tuple[list[float], object]:
        feed = Feed()
        began = time.perf_counter()

        def produce() -> None:
            for piece in ("one", "two"):
                time.sleep(0.05)
                feed.put(("sentence", piece))

        threading.Thread(target=produce, daemon=True).start()
        waited = []
        for _ in range(2):
            assert await feed.next(5) is not None
            waited.append(time.perf_counter() - began)
        quiet = await feed.next(0.05)  # nothing more: None when the time is up
        return waited, quiet

    waited, quiet = asyncio.run(read())
    assert quiet is None
    assert 0.04 <= waited[0] < 1.0 and waited[1] >= waited[0] + 0.04
