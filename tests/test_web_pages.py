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
                for path in ("/", "/journal", "/plan", "/exercises", "/outcomes", "/settings", "/about"):
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


BROWSER_ANSWERS = {"en": "a walk with my sister", "fr": "une promenade avec ma sœur", "ja": "妹と散歩すること",
                   "sw": "kutembea na dada yangu", "ar": "نزهة مع أختي", "es": "un paseo con mi hermana"}


def test_every_exercise_from_start_to_its_card_in_a_browser(site: str) -> None:
    """Each exercise, started from the exercises page in a different language, one answer per step
    in the chat, to its card; one is paused and resumed from the bar above the conversation; the
    card opens on its own page, to print."""
    from playwright.sync_api import expect, sync_playwright

    from typingcure.exercises import exercise_names, exercise_words, load_exercise

    plan = list(zip(exercise_names(), ("en", "fr", "ja", "sw", "ar", "es")))
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_context().new_page()
        for number, (name, language) in enumerate(plan, 1):
            words, answer = exercise_words(name, language), BROWSER_ANSWERS[language]
            page.goto(f"{site}/settings")
            page.select_option("#language", language)
            page.locator("form[action='/settings/profile'] button[type=submit]").click()
            page.goto(f"{site}/exercises")
            page.locator(f"button[name=name][value={name}]").click()
            page.wait_for_url(f"{site}/")
            bot = page.locator(".msg.bot .text")
            expect(bot.last).to_contain_text(words.steps[0])
            steps = len(load_exercise(name).steps)
            for i in range(1, steps + 1):
                if name == "grounding" and i == 3:  # the bar's Pause, then Resume: the same step again
                    page.locator("section.exercise button[formaction='/exercises/pause']").click()
                    expect(page.locator("section.exercise button[formaction='/exercises/resume']")).to_be_visible()
                    page.locator("section.exercise button[formaction='/exercises/resume']").click()
                    expect(bot.last).to_contain_text(words.steps[2])
                page.locator("#text").fill(f"{answer} {i}")
                page.locator("form.say button[type=submit]").click()
                expect(bot.last).to_contain_text(words.steps[i] if i < steps else words.takeaway)
            page.goto(site)  # the card link is under the reply that ended the exercise
            page.get_by_role("link", name=words.line("web_card_link")).last.click()
            card = page.locator("section.takeaway").nth(number - 1)
            expect(card).to_contain_text(f"{answer} 2")
            expect(card).to_contain_text(words.takeaway)
            page.goto(f"{site}/exercises/cards/{number}")
            expect(page.locator("h1")).to_contain_text(words.title)
            expect(page.locator("section.takeaway")).to_contain_text(f"{answer} {steps}")
        page.screenshot(path=str(ARTIFACTS / "web-exercise-card.png"), full_page=True)
        browser.close()


@pytest.fixture
def late_site(tmp_path: Path) -> Iterator[str]:
    """The same app, its clock started at 1:30 in the morning (TYPINGCURE_NOW)."""
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (scripts/bootstrap --test installs it)")
    script = tmp_path / "r.json"
    script.write_text(json.dumps({"replies": ["That sounds like a long night. What is keeping you up?"], "cycle": True}))
    yield from serving(f"scripted:{script}", {"TYPINGCURE_HISTORY": "off", "TYPINGCURE_COUNTRY": "GB",
                                              "TYPINGCURE_NOW": "2026-12-05T01:30:00"})


def test_progress_in_a_browser_the_chart_a_reminder_dismissed_and_the_summary(late_site: str) -> None:
    """The person's own outcomes, three check-ins, the chart drawn by the server (screenshot), a
    late-night reminder under a reply that is dismissed, and the summary at the end, kept or not."""
    from playwright.sync_api import expect, sync_playwright

    site = late_site
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_context().new_page()
        page.set_viewport_size({"width": 390, "height": 800})
        page.goto(f"{site}/outcomes")
        page.fill("#distress0", "I stay in bed until noon")
        page.fill("#distress1", "I snap at my little brother")
        page.fill("#better0", "I go for a walk with Sam")
        page.select_option("#cadence", "weekly")
        page.locator("form[action='/outcomes'] button[type=submit]").click()
        for scores in ((8, 7, 1), (6, 5, 3), (4, 4, 6)):
            for n, score in enumerate(scores):
                page.fill(f"#score{n}", str(score))
            page.locator("form[action='/outcomes/checkin'] button[type=submit]").first.click()
            expect(page.locator("p.notice").first).to_contain_text("Thank you")
        chart = page.locator("section.chart svg")
        expect(chart).to_be_visible()
        assert page.locator("section.chart svg polyline").count() == 3
        expect(chart).to_contain_text("I go for a walk with Sam")
        assert _wide(page) <= 390
        chart.screenshot(path=str(ARTIFACTS / "web-outcomes-chart.png"))
        page.screenshot(path=str(ARTIFACTS / "web-outcomes-390.png"), full_page=True)
        # late at night: a reminder under the reply, once, and it can be dismissed
        page.goto(site)
        type_in(page, "can't sleep, my head keeps going over the exam")
        nudge = page.locator("p.nudge").first
        expect(nudge).to_contain_text("late", timeout=30000)
        nudge.get_by_role("button", name="Dismiss").click()
        expect(page.locator("p.nudge")).to_have_count(0)
        type_in(page, "still awake, it's the maths part that scares me most")
        expect(page.get_by_role("button", name="Send")).to_be_enabled(timeout=30000)
        assert page.locator("p.nudge").count() == 0  # never twice in one night
        # the summary of the session: their words, kept or not (history is off here: shown only)
        page.get_by_role("link", name="A short summary of this session").click()
        expect(page.locator("section.summary")).to_contain_text("the maths part that scares me most")
        page.screenshot(path=str(ARTIFACTS / "web-summary-390.png"), full_page=True)
        browser.close()
