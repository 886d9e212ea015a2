"""The web app: unit tests with FastAPI's test client, and end to end in a real Chromium."""

from __future__ import annotations

from markupsafe import escape
import json
import re
import shutil
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from typingcure.config import Settings
from typingcure.roles import role_names, role_words
from typingcure.safety.decide import LANGUAGE_NAMES
from typingcure.store import DB_NAME, KEY_NAME
from typingcure.web.app import create_app

LOCAL = "http://127.0.0.1"  # the app answers only to its own Host

from .conftest import free_port, run_cli, serving

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def scripted(tmp_path: Path, *replies: str) -> str:
    path = tmp_path / "replies.json"
    path.write_text(json.dumps({"replies": list(replies) or ["That sounds hard. What was the heaviest part?"], "cycle": True}))
    return f"scripted:{path}"


def tokens(page: str) -> tuple[str, str | None]:
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    nonce = re.search(r'name="nonce" value="([^"]+)"', page)
    return csrf, nonce.group(1) if nonce else None


@pytest.fixture
def client(tmp_path: Path, home: Path) -> TestClient:
    return TestClient(create_app(Settings(backend=scripted(tmp_path), history="off", country="GB"), home=home), base_url=LOCAL)


def send(client: TestClient, text: str, page: str = "/") -> httpx.Response:
    csrf, nonce = tokens(client.get(page).text)
    return client.post(f"{'/chat' if page == '/' else page}/send", data={"csrf": csrf, "nonce": nonce, "text": text},
                       follow_redirects=True)


def test_pages_and_security_headers(client: TestClient) -> None:
    for path in ("/", "/journal", "/plan", "/plan/print", "/settings", "/about"):
        r = client.get(path)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r.headers["referrer-policy"] == "no-referrer" and r.headers["x-frame-options"] == "DENY"
        assert "<script>" not in r.text and "http://" not in r.text.replace('href="http', "").split("<body>")[0]


def test_a_message_is_shown_as_text_never_run(client: TestClient) -> None:
    r = send(client, "<script>alert('x')</script><b>bold</b> I had a long day")
    assert "&lt;script&gt;alert" in r.text and "<script>alert" not in r.text and "<b>bold</b>" not in r.text
    assert "That sounds hard." in r.text


def test_csrf_is_required_on_every_form(client: TestClient) -> None:
    _, nonce = tokens(client.get("/").text)
    for path, data in (("/chat/send", {"nonce": nonce, "text": "x"}), ("/settings/wipe", {"confirm": "yes"}),
                       ("/plan", {"reasons": "x"}), ("/settings/profile", {"country": "KE"})):
        assert client.post(path, data={**data, "csrf": "forged"}).status_code == 403, path
        assert client.post(path, data=data).status_code == 403, path


def test_a_double_submit_is_kept_once(client: TestClient) -> None:
    csrf, nonce = tokens(client.get("/").text)
    for _ in range(2):
        client.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": "only once please"})
    assert client.get("/").text.count('dir="auto">only once please</span>') == 1  # one message (a reply may quote it)


def test_a_huge_paste_gets_a_clear_message(client: TestClient) -> None:
    r = send(client, "word " * 10_000)
    assert r.status_code == 413 and "send it in parts" in r.text


def test_streaming_and_the_care_card(client: TestClient) -> None:
    csrf, nonce = tokens(client.get("/").text)
    r = client.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": "I want to kill myself"},
                    headers={"Accept": "application/json"})
    body = client.get(r.json()["stream"]).text
    assert "event: sentence" in body and "116 123" in body
    done = json.loads(body.split("event: done\ndata: ")[1].split("\n")[0])
    assert 'href="tel:116123"' in done and "If you need someone now" in done


def test_the_safety_plan_is_a_link_on_the_page(client: TestClient) -> None:
    page = send(client, "I cut myself again tonight and it's bleeding a lot").text
    assert "/plan" in page and '<a class="call" href="/plan">Safety plan</a>' in page


def test_every_language_has_every_interface_string() -> None:
    from typingcure.languages import load, with_file

    strings = {code: load(code, "interface") for code in with_file("interface")}
    assert set(strings) == set(LANGUAGE_NAMES), "the interface speaks the languages of the crisis replies"
    for lang, words in strings.items():
        assert set(words) == set(strings["en"]), lang
        assert all(isinstance(w, str) and w.strip() for w in words.values()), lang


def test_ending_a_session_gives_a_short_summary(client: TestClient) -> None:
    send(client, "I want to kill myself")
    csrf, _ = tokens(client.get("/").text)
    summary = client.post("/chat/end", data={"csrf": csrf}).text
    assert "You wrote one message this session." in summary and "worried me" in summary
    assert "I want to kill myself" not in client.get("/").text  # a fresh session


def test_journal_is_quiet_without_risk(client: TestClient) -> None:
    r = send(client, "Walked by the river, thought about the year.", page="/journal")
    assert "(kept quietly)" in r.text and "That sounds hard" not in r.text


def test_the_role_picker_explains_each_role_and_a_rehearsal_steps_out(client: TestClient) -> None:
    page = client.get("/").text
    for name in role_names():
        words = role_words(name)
        assert f'value="{name}"' in page and words.title in page and str(escape(words.summary)) in page
    csrf, _ = tokens(page)
    assert str(escape(role_words("coach").intro)) in client.post(
        "/chat/role", data={"csrf": csrf, "role": "coach"}, follow_redirects=True).text
    client.post("/chat/role", data={"csrf": csrf, "role": "rehearsal"})
    lines = role_words("rehearsal")
    assert str(escape(lines.line("ready"))) in send(client, "My landlord. He ignores messages. I want the leak fixed.").text
    send(client, "The roof has leaked for three weeks.")
    assert str(escape(lines.line("went_well"))) in send(client, "/step-out").text


def test_role_titles_follow_the_language_the_person_chose(client: TestClient) -> None:
    csrf, _ = tokens(client.get("/settings").text)
    client.post("/settings/profile", data={"csrf": csrf, "country": "FR", "language": "fr"})
    page = client.get("/").text
    assert role_words("coach", "fr").title in page and role_words("coach", "en").title not in page


def test_settings_profile_and_plan(client: TestClient) -> None:
    csrf, _ = tokens(client.get("/settings").text)
    assert "two letters" in client.post("/settings/profile", data={"csrf": csrf, "country": "Narnia"}).text
    client.post("/settings/profile", data={"csrf": csrf, "country": "KE", "language": "sw"})
    assert "1199" in client.get("/plan").text
    page = client.get("/").text
    assert 'lang="sw"' in page and "Ongea" in page and "Una nini akilini?" in page
    assert "Hifadhi mpango wangu" in client.get("/plan").text and "Sababu zangu za kuishi" in client.get("/plan").text and "Mipangilio" in client.get("/settings").text
    assert "Piga simu" in send(client, "Nataka kujiua leo usiku").text
    assert "Wakati wa dharura" in client.get("/about").text
    client.post("/plan", data={"csrf": csrf, "reasons": "my kids\nmy garden", "people": "my sister"})
    printed = client.get("/plan/print").text
    assert "my garden" in printed and "my sister" in printed


def test_history_unlock_export_forget_wipe(tmp_path: Path, home: Path) -> None:
    app = create_app(Settings(backend=scripted(tmp_path), country="GB"), home=home)
    client = TestClient(app, base_url=LOCAL)
    page = client.get("/").text
    assert "Protect your history" in page and "nobody can recover" in page
    csrf, _ = tokens(page)
    assert "different" in client.post("/unlock", data={"csrf": csrf, "passphrase": "a", "again": "b"}).text
    client.post("/unlock", data={"csrf": csrf, "passphrase": "open sesame", "again": "open sesame"})
    send(client, "a secret worry")
    assert (home / DB_NAME).exists() and b"a secret worry" not in (home / DB_NAME).read_bytes()
    exported = client.get("/settings/export?format=json").json()
    assert exported["conversations"][0]["turns"][0]["user_text"] == "a secret worry"

    fresh = TestClient(create_app(Settings(backend=scripted(tmp_path), country="GB"), home=home), base_url=LOCAL)  # a restart
    csrf, _ = tokens(fresh.get("/").text)
    assert "did not open your history" in fresh.post("/unlock", data={"csrf": csrf, "passphrase": "nope"}).text
    fresh.post("/unlock", data={"csrf": csrf, "passphrase": "open sesame"})
    assert "a secret worry" in fresh.get("/").text  # the conversation continues after a restart
    settings = fresh.get("/settings").text
    cid = re.search(r'<option value="([0-9a-f]{12})"', settings).group(1)  # type: ignore[union-attr]
    fresh.post("/settings/forget", data={"csrf": csrf, "conversation": cid})
    assert "a secret worry" not in fresh.get("/settings/export?format=markdown").text
    assert "Tick the box" in fresh.post("/settings/wipe", data={"csrf": csrf}).text
    fresh.post("/settings/wipe", data={"csrf": csrf, "confirm": "yes"})
    assert not (home / DB_NAME).exists() and not (home / KEY_NAME).exists()


def test_idle_locks_the_history(tmp_path: Path, home: Path) -> None:
    client = TestClient(create_app(Settings(backend=scripted(tmp_path)), home=home, idle_minutes=0.01), base_url=LOCAL)
    csrf, _ = tokens(client.get("/").text)
    client.post("/unlock", data={"csrf": csrf, "passphrase": "p", "again": "p"})
    assert "on your mind" in client.get("/").text
    time.sleep(1.0)
    assert "Unlock your history" in client.get("/").text


def test_an_access_token_guards_the_app(tmp_path: Path, home: Path) -> None:
    client = TestClient(create_app(Settings(backend=scripted(tmp_path), history="off"), home=home, token="s3cret"), base_url=LOCAL)
    assert client.get("/").status_code == 401
    assert client.get("/?token=s3cret").status_code == 200
    assert client.get("/settings").status_code == 200  # the cookie carries it now


def test_serve_refuses_other_addresses_without_a_token() -> None:
    done = run_cli("serve", "--host", "0.0.0.0", "--port", str(free_port()))
    assert done.returncode == 2 and b"without an access token" in done.stderr


# -- in a real browser --------------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path, home: Path) -> Iterator[str]:
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (scripts/bootstrap --test installs it)")
    backend = "local" if _bundled() else scripted(tmp_path)
    yield from serving(backend, {"TYPINGCURE_PASSPHRASE": "", "TYPINGCURE_COUNTRY": "GB"})


def _bundled() -> bool:
    from typingcure.backends.local import bundled_model_path

    return bundled_model_path() is not None


def _browser(p):  # type: ignore[no-untyped-def]
    return p.chromium.launch(executable_path="/usr/bin/chromium", args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"])


def test_in_a_real_browser(served: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    outside: list[str] = []
    with sync_playwright() as p:
        browser = _browser(p)
        context = browser.new_context()  # one browser: the unlocked history belongs to it (its session cookie)
        for width, label in ((390, "narrow"), (1280, "wide")):
            page = context.new_page()
            page.set_viewport_size({"width": width, "height": 900})
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(served) else None)
            page.goto(served)
            if width == 390:  # the first visit sets up the encrypted history; the server stays unlocked after
                page.screenshot(path=str(ARTIFACTS / "web-unlock-narrow.png"), full_page=True)
                page.get_by_label("Passphrase").fill("browser pass")
                page.get_by_label("Type it again").fill("browser pass")
                page.get_by_role("button", name="Start").click()
            page.get_by_label("Type here").fill("I had a long day at work and my manager shouted at me")
            # "typing…" from the moment it is sent: watched for as the page changes, so a fast reply cannot race the check
            page.evaluate("""() => { window.sawTyping = false; new MutationObserver(() => {
                const t = document.querySelector('.msg.bot.typing .text');
                if (t && t.textContent === 'typing…') window.sawTyping = true;
            }).observe(document.getElementById('messages'), {childList: true, subtree: true, characterData: true}); }""")
            page.get_by_role("button", name="Send").click()
            expect(page.locator(".msg.bot .text").last).to_have_text(re.compile(r"\w{3,}"), timeout=60000)
            assert page.evaluate("window.sawTyping")
            expect(page.get_by_role("button", name="Send")).to_be_enabled(timeout=60000)
            page.get_by_label("Type here").fill("I want to kill myself")
            page.get_by_role("button", name="Send").click()
            page.wait_for_selector("section.card", timeout=30000)
            assert "Call 999 or 112" in page.inner_text("section.card") and page.locator("a[href='tel:116123']").count() >= 1
            page.screenshot(path=str(ARTIFACTS / f"web-chat-crisis-{label}.png"), full_page=True)
            page.goto(f"{served}/journal")
            page.get_by_label("Write freely").fill("Walked by the river and thought about the year.")
            page.get_by_role("button", name="Send").click()
            page.wait_for_selector("text=(kept quietly)", timeout=30000)
            if width == 1280:  # a role chosen with its button: a rehearsal, played, stepped out of, debriefed
                page.goto(served)
                page.get_by_role("button", name="End session").click()  # a new conversation: the crisis above is not carried over
                page.wait_for_selector("section[aria-label='Summary']")
                page.get_by_role("button", name=role_words("rehearsal").title).click()
                page.get_by_label("Type here").fill("My flatmate. He gets defensive. I want to talk about the noise.")
                page.get_by_role("button", name="Send").click()
                expect(page.locator(".msg.bot .text").last).to_contain_text("I'll play them", timeout=30000)
                expect(page.get_by_role("button", name="Send")).to_be_enabled(timeout=30000)
                page.get_by_label("Type here").fill("Can we talk about the noise at night?")
                page.get_by_role("button", name="Send").click()
                expect(page.locator(".msg.bot")).to_have_count(2, timeout=30000)  # "ready", then the character's line
                expect(page.get_by_role("button", name="Send")).to_be_enabled(timeout=30000)
                page.get_by_label("Type here").fill("/step-out")
                page.get_by_role("button", name="Send").click()
                expect(page.locator(".msg.bot .text").last).to_contain_text("What do you feel went well", timeout=30000)
                page.screenshot(path=str(ARTIFACTS / "web-rehearsal-wide.png"), full_page=True)
            for name in ("plan", "settings", "about", "journal"):
                page.goto(f"{served}/{name}")
                page.screenshot(path=str(ARTIFACTS / f"web-{name}-{label}.png"), full_page=True)
            page.goto(f"{served}/settings")
            with page.expect_download() as download:
                page.get_by_role("link", name="Export everything (readable)").click()
            assert "manager shouted" in Path(download.value.path()).read_text()
            page.close()
            if width == 390:
                continue
            stranger = browser.new_page()  # another browser on this computer sees only the unlock page
            stranger.goto(f"{served}/settings/export?format=json")
            assert "manager shouted" not in stranger.content() and stranger.get_by_label("Passphrase").count() == 1
            stranger.close()
            page = context.new_page()
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{served}/settings")
            page.get_by_label("I understand everything will be deleted for good").check()
            page.get_by_role("button", name="Wipe everything").click()
            page.wait_for_selector("text=Everything was wiped")
            page.get_by_label("Language", exact=True).select_option("ar")  # chosen, never guessed from the country
            page.get_by_role("button", name="Save").first.click()
            page.goto(served)
            assert page.get_attribute("html", "dir") == "rtl" and page.get_attribute("html", "lang") == "ar"
            page.screenshot(path=str(ARTIFACTS / "web-arabic-wide.png"), full_page=True)
            page.close()
        browser.close()
    assert outside == []


NON_LATIN = ("ko", "ar", "zh", "ja", "hi", "ru", "fa")


def _no_english_on_pages(client: TestClient, english: re.Pattern[str], language: str) -> None:
    """What a person reads on every page (code, service addresses, e-mail and the name aside) has no English in it."""
    for path in ("/", "/journal", "/plan", "/exercises", "/settings", "/about"):
        page = client.get(path).text
        body = page[page.index("<body"):]
        shown = re.sub(r"<code>.*?</code>|<option[^>]*>.*?</option>|<script.*?</script>|<[^>]+>", " ", body, flags=re.S)
        shown = re.sub(r"https?://\S+|typingcure( models pull)?|[\w.+-]+@[\w.-]+", " ", shown)
        found = english.findall(shown)
        assert not found, (language, path, found[:5])


@pytest.mark.parametrize("language", NON_LATIN)
def test_no_english_is_left_on_a_page_in_another_script(tmp_path: Path, home: Path, language: str) -> None:
    """Three English words in a row on a Korean, Arabic, Chinese, Japanese, Hindi, Russian or Persian
    page mean something was left untranslated (code, addresses and the name typingcure aside)."""
    client = TestClient(create_app(Settings(backend=scripted(tmp_path), history="off", country="GB", language=language),
                                   home=home), base_url=LOCAL)
    english = re.compile(r"\b[A-Za-z]{2,}(?:[ ,.'’-]+[A-Za-z]{2,}){2,}")
    _no_english_on_pages(client, english, language)


def test_a_plan_that_speaks_of_ending_it_brings_the_services_first(client: TestClient) -> None:
    csrf, _ = tokens(client.get("/plan").text)
    calm = client.post("/plan", data={"csrf": csrf, "reasons": "my kids\nmy garden"})
    assert 'role="alert"' not in calm.text
    worried = client.post("/plan", data={"csrf": csrf, "reasons": "none. I am going to take all my pills tonight"})
    assert "worried=1" in str(worried.url) and 'role="alert"' in worried.text
    assert "worried me" in worried.text and 'href="tel:' in worried.text
    assert "take all my pills" in client.get("/plan/print").text  # what the person wrote is kept as written


LATIN = ("es", "pt", "fr", "de", "tr", "id", "sw")  # Nigerian Pidgin writes many words as English does
ENGLISH_WORDS = ("the", "your", "you", "and", "with", "this", "that", "are", "for", "here", "what", "will", "have",
                 "from", "when", "about", "keep", "only")


@pytest.mark.parametrize("language", LATIN)
def test_no_english_is_left_on_a_page_in_another_latin_language(tmp_path: Path, home: Path, language: str) -> None:
    """Two common English words together on a Spanish, Portuguese, French, German, Turkish,
    Indonesian or Swahili page mean something was left untranslated (names of services aside)."""
    client = TestClient(create_app(Settings(backend=scripted(tmp_path), history="off", country="GB", language=language),
                                   home=home), base_url=LOCAL)
    word = "|".join(ENGLISH_WORDS)
    english = re.compile(rf"\b(?:{word})\b[ ,.'’-]+\b(?:{word})\b", re.I)
    _no_english_on_pages(client, english, language)
