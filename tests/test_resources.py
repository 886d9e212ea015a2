"""The crisis resources file, validated whole: sources, dates, conflicts, and what cards show."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from typingcure.safety.resources import FALLBACK, all_resources, care_card, digits_in, known_numbers

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "crisis_lines.yaml"


def entries():
    return [(country, r) for country, rs in all_resources().items() for r in rs]


def test_every_entry_has_a_source_and_a_check_date() -> None:
    for country, r in entries():
        assert re.fullmatch(r"[A-Z]{2}", country)
        assert r.source.startswith("http"), (country, r.name)
        assert r.source_date, (country, r.name)
        assert date.fromisoformat(r.checked) <= date.today(), (country, r.name)
        assert r.phone or r.sms or r.url, (country, r.name)


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
        mine = {(r.name, r.phone, r.sms) for r in ours[country]}
        assert theirs == mine, country


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
