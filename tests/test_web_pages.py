"""The first minutes in a real browser (Chromium) with a scripted model: the reply comes into view,
nothing is wider than a phone, messages keep their own direction, slash commands typed in the page
work like the terminal's, and a hard session ends with the local services."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from .conftest import serving
from .test_web import ARTIFACTS, _browser

LONG = ("I moved here three months ago and honestly I still don't know a single person, the weekends are "
        "the worst part, I keep scrolling until two in the morning. " * 3)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (scripts/bootstrap --test installs it)")
    script = tmp_path / "r.json"
    script.write_text(json.dumps({"replies": ["That sounds lonely, and three months is a long time to carry it. "
                                              "What are the weekends like?"], "cycle": True}))
    yield from serving(f"scripted:{script}", {"TYPINGCURE_HISTORY": "off", "TYPINGCURE_COUNTRY": "GB"})


def type_in(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Type here").fill(text)
    page.get_by_role("button", name="Send").click()


def _wide(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_the_reply_comes_into_view_and_nothing_is_wider_than_a_phone(site: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_context().new_page()
        for language in ("en", "ko", "ar", "hi"):
            page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(f"{site}/settings")
            page.select_option("#language", language)
            page.locator("form[action='/settings/profile'] button[type=submit]").click()
            for width in (320, 390, 1280):
                page.set_viewport_size({"width": width, "height": 740})
                for path in ("/", "/journal", "/plan", "/settings", "/about"):
                    page.goto(f"{site}{path}")
                    assert _wide(page) <= width, (language, width, path, _wide(page))
                    if width == 390:  # a phone's, to look at
                        page.screenshot(path=str(ARTIFACTS / f"web-{language}-{width}-{path.strip('/') or 'chat'}.png"), full_page=True)
        # in English, at a phone's width: send, and the reply is in view above the box
        page.goto(f"{site}/settings")
        page.select_option("#language", "en")
        page.locator("form[action='/settings/profile'] button[type=submit]").click()
        page.set_viewport_size({"width": 390, "height": 740})
        page.goto(site)
        for _ in range(4):
            page.get_by_label("Type here").fill(LONG)
            page.get_by_role("button", name="Send").click()
            expect(page.get_by_role("button", name="Send")).to_be_enabled(timeout=30000)
        last = page.locator(".msg.bot .text").last
        expect(last).to_have_text(re.compile(r"\w{3,}"))
        box = page.locator("form.say").bounding_box()
        seen = last.bounding_box()
        assert box and seen and seen["y"] + seen["height"] <= box["y"] + 2, (seen, box)  # not hidden under the box
        assert last.get_attribute("dir") == "auto" and page.locator(".msg.you .text").last.get_attribute("dir") == "auto"
        assert _wide(page) <= 390
        # a crisis: the card is in view and has the focus; ending repeats the services
        type_in(page, "I want to kill myself")
        card = page.locator("section.card").last
        expect(card).to_be_visible(timeout=30000)
        expect(card).to_be_focused()
        assert "(type /plan)" not in page.locator(".msg.bot .text").last.inner_text()
        page.screenshot(path=str(ARTIFACTS / "web-en-390-crisis-in-view.png"))
        page.get_by_role("button", name="End session").click()
        summary = page.locator("section[aria-label=Summary]")
        expect(summary).to_contain_text("worried")
        assert "116 123" in page.locator("section.card").last.inner_text()
        browser.close()


def test_slash_commands_typed_in_the_page_work_like_the_terminals(site: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_context().new_page()
        page.goto(site)
        type_in(page, "/resources")
        expect(page.locator("section.card").last).to_contain_text("Samaritans")
        type_in(page, "/country KE")
        expect(page.locator(".said, .messages").last).to_contain_text("KE")
        type_in(page, "/resources")
        expect(page.locator("section.card").last).not_to_contain_text("Samaritans")
        type_in(page, "/country ZZZZ")
        expect(page.locator(".messages .notice").last).to_contain_text("two letters")
        type_in(page, "/plan")
        page.wait_for_url(f"{site}/plan")
        page.goto(site)
        assert page.locator(".msg.you").count() == 0  # commands are not messages to the model
        type_in(page, "/end")
        expect(page.locator("section[aria-label=Summary]")).to_be_visible()
        browser.close()
