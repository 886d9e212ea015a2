"""The crisis resources file, validated whole: sources, dates, conflicts, and what cards show."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from markupsafe import escape

from typingcure import Profile, ScriptedBackend, Session, build_parts, run_turn
from typingcure.config import COUNTRIES, Settings
from typingcure.languages import interface_strings
from typingcure.safety.decide import CarePolicy
from typingcure.safety.replies import available_languages, replies
from typingcure.safety.resources import (FALLBACK, all_resources, care_card, digits_in, known_numbers, no_checked_line,
                                         no_line_sentence)
from typingcure.types import IntakeResult, RiskAssessment
from typingcure.web.app import create_app

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "crisis_lines.yaml"
TRANSCRIBED = "2026-11-25"  # the day the file was transcribed from the reference
EVERY_COUNTRY = sorted((set(all_resources()) | set(COUNTRIES)) - {FALLBACK})
# Every country whose card shows no checked national line: the directories stand in.
WITHOUT_LINE = [c for c in EVERY_COUNTRY if any(r in all_resources()[FALLBACK] for r in care_card(c))]
REPLY_LANGUAGES = sorted(available_languages())  # 17, romanised Hindi ("hi_latn") included
WEB_STRINGS = interface_strings()  # {language: {key: text}}, from languages/<code>/interface.yaml


def entries():
    return [(country, r) for country, rs in all_resources().items() for r in rs]


def test_every_entry_has_a_source_and_a_check_date() -> None:
    for country, r in entries():
        assert re.fullmatch(r"[A-Z]{2}", country)
        assert r.source.startswith("http"), (country, r.name)
        assert r.source_date, (country, r.name)
        assert date.fromisoformat(r.checked) <= date.today(), (country, r.name)
        assert r.phone or r.sms or r.url, (country, r.name)
        later = re.findall(r"(?:Re-checked|Added) (\d{4}-\d{2}-\d{2})", r.notes or "")
        if r.checked != TRANSCRIBED:  # re-checked or added later: the notes say when, and what was compared
            assert later, (country, r.name)
        if later:
            assert r.checked == max(later), (country, r.name)


def test_every_number_has_digits_and_no_letters_but_notes() -> None:
    for country, r in entries():
        for field in (r.phone, r.sms):
            if field:
                assert digits_in(field) or re.search(r"\d{3}", field), (country, field)


def test_every_country_has_an_emergency_number_and_a_fallback_exists() -> None:
    table = all_resources()
    assert FALLBACK in table
    for country, rs in table.items():
        if country != FALLBACK:
            assert any(r.type == "emergency" for r in rs), country


@pytest.mark.skipif(not REFERENCE.exists(), reason="research reference not beside the repo")
def test_every_reference_country_is_transcribed_with_the_same_numbers() -> None:
    reference = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    ours = all_resources()
    assert set(reference) <= set(ours)
    for country, rows in reference.items():
        # An sms field without digits in the reference ("WhatsApp (number not verified)") is not a number.
        theirs = {(row["name"], row["phone"], row["sms"] if digits_in(row["sms"] or "") else None) for row in rows}
        mine = {(r.name, r.phone, r.sms): r for r in ours[country]}
        assert theirs <= set(mine), country
        for key in set(mine) - theirs:  # added after the transcription, with its own source and check
            added = mine[key]
            assert added.checked > TRANSCRIBED and added.notes and "Added" in added.notes, (country, key)
            assert re.match(r"\d{4}-\d{2}-\d{2}", added.source_date), (country, key)  # a dated source


def test_known_wrong_numbers_are_absent() -> None:
    turkey = {d for r in all_resources()["TR"] for d in digits_in(r.phone or "")}
    assert "182" not in turkey
    assert "18002738255" not in known_numbers()  # the old US number is only mentioned in notes
    assert "1190" not in {d for r in all_resources()["KE"] for d in digits_in(r.phone or "")}


def test_cards_never_show_conflicting_or_unverified_lines() -> None:
    for country in all_resources():
        for r in care_card(country):
            assert not r.conflict, (country, r.name)
            assert r.type == "emergency" or r.confidence == "verified" or country == FALLBACK or r.phone is None


def test_cards_put_the_emergency_number_last_and_lines_first() -> None:
    card = care_card("US")
    assert card[0].phone == "988" and card[-1].type == "emergency"
    assert care_card(None) == all_resources()[FALLBACK]
    assert care_card("ZZ") == all_resources()[FALLBACK]


# -- countries without a checked national line --------------------------------------------------------


def test_the_countries_without_a_checked_line_are_known_and_named_by_the_card() -> None:
    assert {"TR", "BD", "UZ", "KZ"} <= set(WITHOUT_LINE) and len(WITHOUT_LINE) > 200  # most of COUNTRIES
    assert {"NG", "PK"}.isdisjoint(WITHOUT_LINE)  # re-checked: SURPIN and Humraaz 1166 (design/crisis-resources.md)
    assert [c for c in EVERY_COUNTRY if no_checked_line(c)] == WITHOUT_LINE
    assert not no_checked_line(None) and not no_checked_line("")  # no country: the reply asks for one instead
    for country in WITHOUT_LINE:
        emergency = [r.phone for r in care_card(country) if r.type == "emergency"]
        sentence = no_line_sentence(country, replies("en"))
        assert sentence.startswith("typingcure has no checked national crisis line for your country")
        assert (emergency[0] if emergency else replies("en")["emergency_unknown"]) in sentence
        assert all(word in sentence for word in ("directories", "trust", "faith", "hospital", "profile"))
    assert no_line_sentence("GB", replies("en")) == no_line_sentence(None, replies("en")) == ""


def text_of(language: str) -> dict[str, str]:
    return replies("hi", "latin") if language == "hi_latn" else replies(language)


def moderate(country: str, language: str, level: str = "moderate"):  # type: ignore[no-untyped-def]
    """The policy's decision for a person at `level` risk (suicide), writing in `language`."""
    code, script = {"hi_latn": ("hi", "latin"), "hi": ("hi", "devanagari")}.get(language, (language, "latin"))
    intake = IntakeResult(verdict="accepted", text="everyone would be better off without me", language=code,
                          language_source="profile", explanation="test", script=script)
    risk = RiskAssessment(level=level, categories=("suicide",), score=0.6, assessor="test", explanation="test")  # type: ignore[arg-type]
    return CarePolicy().decide(intake, risk, role="listener", profile=Profile(country=country, language=code))


def test_the_moderate_reply_says_so_in_the_persons_language_for_every_such_country() -> None:
    english = replies("en")["line_none_country"]
    for i, country in enumerate(WITHOUT_LINE):  # every country, and every language many times over
        for language in {REPLY_LANGUAGES[i % len(REPLY_LANGUAGES)], "en"}:
            decision = moderate(country, language)
            assert decision.resources == care_card(country)
            sentence = no_line_sentence(country, text_of(language))
            assert sentence in decision.notes, (country, language)
            if language != "en":
                assert text_of(language)["line_none_country"] != english, language
    for language in REPLY_LANGUAGES:  # and every language for one country of each kind (in the file or not)
        for country in ("TR", "FJ"):
            assert no_line_sentence(country, text_of(language)) in moderate(country, language).notes
    assert not any("no checked" in n for n in moderate("GB", "en").notes)


@pytest.mark.parametrize(("country", "language", "text"), [
    ("TR", "tr", "herkes bensiz daha iyi olurdu"),
    ("BD", "en", "everyone would be better off without me"),
    ("FJ", "es", "todos estarían mejor sin mí"),
])
def test_through_the_pipeline_the_note_comes_with_the_card(country: str, language: str, text: str) -> None:
    session = Session(profile=Profile(country=country, language=language))
    turn = run_turn(session, text, build_parts(ScriptedBackend(["I hear you."], cycle=True)))
    assert turn.risk.level in ("moderate", "high", "imminent") and turn.decision.resources
    assert no_line_sentence(country, replies(turn.intake.language, turn.intake.script)) in turn.notes


def web(tmp_path: Path, home: Path, country: str | None, language: str) -> TestClient:
    script = tmp_path / "replies.json"
    script.write_text(json.dumps({"replies": ["I hear you."], "cycle": True}))
    settings = Settings(backend=f"scripted:{script}", history="off", country=country, language=language)
    return TestClient(create_app(settings, home=home), base_url="http://127.0.0.1")


def say(client: TestClient, text: str) -> str:
    page = client.get("/").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    return client.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": text}, follow_redirects=True).text


def choose(client: TestClient, country: str | None, language: str) -> None:
    """What the person does in Settings: their country and language."""
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/settings").text).group(1)  # type: ignore[union-attr]
    done = client.post("/settings/profile", data={"csrf": csrf, "country": country or "", "language": language})
    assert done.status_code == 200, done.text


def test_the_web_card_says_so_in_the_persons_language_for_every_such_country(tmp_path: Path, home: Path) -> None:
    languages = sorted(WEB_STRINGS)  # the 16 languages of the interface
    client = web(tmp_path, home, "TR", "en")
    # Every such country is checked in every language above, without the web; here, two of them
    # in each language, spread over the list.
    step = max(1, len(WITHOUT_LINE) // (2 * len(languages)))
    for i, country in enumerate(WITHOUT_LINE[::step]):
        language = languages[i % len(languages)]
        choose(client, country, language)
        page = say(client, "/resources")
        assert str(escape(WEB_STRINGS[language]["card_no_line"])) in page, (country, language)
        if language != "en":
            assert WEB_STRINGS[language]["card_no_line"] != WEB_STRINGS["en"]["card_no_line"], language
    for country in ("GB", None):  # a checked line, or no country set: the card does not say it
        choose(client, country, "en")
        assert 'class="gap"' not in say(client, "/resources")


@pytest.mark.parametrize(("country", "language", "text"), [
    ("TR", "tr", "herkes bensiz daha iyi olurdu"),
    ("UZ", "ru", "всем было бы лучше без меня"),
    ("BD", "en", "everyone would be better off without me"),
])
def test_under_a_reply_the_web_card_says_so_once(tmp_path: Path, home: Path, country: str, language: str, text: str) -> None:
    client = web(tmp_path, home, country, language)
    page = say(client, text)
    turn = client.app.state.tc.pages["chat"].session.turns[-1]  # type: ignore[attr-defined]
    note = no_line_sentence(country, replies(turn.intake.language, turn.intake.script))
    assert turn.decision.resources and note in turn.notes
    assert page.count(str(escape(note))) == 1 and 'class="gap"' not in page
    summary = client.post("/chat/end", data={"csrf": re.search(r'name="csrf" value="([^"]+)"', page).group(1)}).text  # type: ignore[union-attr]
    assert str(escape(WEB_STRINGS[language]["card_no_line"])) in summary  # the closing card stands alone: it says it


# -- conflicts are never shown ---------------------------------------------------------------------


def test_no_conflicting_entry_is_ever_shown() -> None:
    conflicts = [(c, r) for c, rs in all_resources().items() for r in rs if r.conflict]
    assert {c for c, _ in conflicts} >= {"BD", "IN", "JP", "MY"}
    shown_elsewhere = {d for rs in all_resources().values() for r in rs if not r.conflict
                       for d in digits_in(" ".join(filter(None, (r.phone, r.sms))))}
    hidden = {d for _, r in conflicts for d in digits_in(" ".join(filter(None, (r.phone, r.sms))))} - shown_elsewhere
    assert hidden  # e.g. Kaan Pete Roi's 09612-119911
    for country in [None, *EVERY_COUNTRY]:
        for hour in range(24):
            card = care_card(country, now=datetime(2026, 12, 2, hour, 30))
            assert not any(r.conflict for r in card), (country, hour)
            assert not hidden & {d for r in card for d in digits_in(" ".join(filter(None, (r.phone, r.sms))))}
    for country in sorted({c for c, _ in conflicts}):  # nor said in a reply or a note
        for level in ("moderate", "high"):
            decision = moderate(country, "en", level)
            said = " ".join([decision.fixed_reply or "", decision.follow_up or "", *decision.notes])
            assert not hidden & set(digits_in(said)), (country, level)
