"""Culture packs (design/culture.md): data files anyone can review, each answering the checklist
against stereotyping, with sources and dates; used only when the person chooses one, never from
their country; what they said themselves first, the pack second; never what they avoid."""

from __future__ import annotations

import re

import pytest

from typingcure.backends.scripted import ScriptedBackend
from typingcure.config import Settings
from typingcure.culture import packs
from typingcure.culture.profile import edit, frame
from typingcure.errors import InputError
from typingcure.pipeline import Session, build_parts, run_turn
from typingcure.safety.decide import ModelTraits
from typingcure.safety.replies import replies
from typingcure.safety.resources import all_resources
from typingcure.types import Profile

from .conftest import run_cli

WORN_OUT = ("I'm so exhausted, I've been working double shifts all month", "I'm so worn out today")
FAITH_FAMILY = ("prayer", "faith community", "family", "elders")


def capable():  # type: ignore[no-untyped-def]
    parts = build_parts(ScriptedBackend(["That sounds like a lot."], cycle=True), Settings())
    parts.model = ModelTraits(capable=True)
    return parts


def test_at_least_ten_packs_ship_each_sourced_dated_and_reviewed_against_the_whole_checklist() -> None:
    assert len(packs.names()) >= 10
    assert packs.problems() == []
    for name in packs.names():
        p = packs.pack(name)
        assert p.sources and all(re.match(r"^\d{4}", s.date) for s in p.sources)
        assert {a.item for a in p.review} == set(packs.checklist())
        assert "differ" in p.about and p.reviewed
        for service in p.services:  # a listed service is the crisis file's own entry, with its number there
            if service.crisis_file:
                assert service.name in {r.name for r in all_resources()[service.crisis_file]}
            assert not re.search(r"\d{3,}", service.how)


def test_a_pack_that_breaks_the_checklist_is_reported() -> None:
    good = packs.pack("nigeria")
    only_faith = good.model_copy(update={"practices": tuple(x for x in good.practices if x.kind not in packs.EVERYDAY)})
    assert packs.options(only_faith, "en") == ()  # nothing is offered without everyday practices beside faith


@pytest.mark.parametrize("name", packs.names())
def test_every_offer_holds_an_everyday_practice_and_never_what_they_avoid(name: str) -> None:
    p = packs.pack(name)
    everyday = {x.labels[lang] for x in p.practices if x.kind in packs.EVERYDAY for lang in x.labels}
    for language in p.languages:
        for turn in range(8):
            offered = packs.options(p, language, (), turn)
            assert 1 <= len(offered) <= packs.ASKED and len(set(offered) & everyday) >= min(2, len(offered))
            no_faith = packs.options(p, language, ("religion", "my family", "elders"), turn)
            faith = {x.labels[language] for x in p.practices if x.kind in FAITH_FAMILY}
            assert no_faith and not set(no_faith) & faith


def test_a_country_never_chooses_a_pack_and_a_chosen_one_offers_choices_after_asking_what_helps() -> None:
    text = replies("en")
    parts = capable()
    plain = Session(profile=Profile(country="NG"))
    for line in WORN_OUT:
        turn = run_turn(plain, line, parts)
    assert "offered_pack" not in turn.actions and "prayer" not in turn.reply.lower()
    assert "notes about" not in frame(Profile(country="NG"))
    chosen = Session(profile=Profile(country="NG", pack="nigeria", avoid=("church",)))
    turns = [run_turn(chosen, line, parts) for line in WORN_OUT]
    asked = next(t for t in turns if "asked_coping" in t.actions)
    assert "offered_pack" in asked.actions and text["coping_question"] in asked.reply
    assert "faith community" not in asked.reply and "prayer" not in asked.reply  # "church" rules out both
    assert "lean on things like" in asked.reply
    assert "notes about Nigeria" in frame(chosen.profile) and "choice among others" in frame(chosen.profile)


def test_what_they_said_helps_them_comes_before_the_pack() -> None:
    parts = capable()
    session = Session(profile=Profile(pack="korea", coping=("football",)))
    turn = run_turn(session, "I'm so exhausted, I've been working double shifts all month", parts)
    assert "football" in turn.reply and "offered_pack" not in turn.actions


def test_the_pack_is_chosen_by_name_changed_and_cleared_and_a_wrong_name_says_what_there_is() -> None:
    profile, _ = edit(Profile(), "pack Japan")
    assert profile.pack == "japan"
    assert edit(profile, "clear pack")[0].pack is None
    with pytest.raises(InputError, match="there are: .*korea"):
        edit(Profile(), "pack atlantis")
    with pytest.raises(ValueError):
        Profile(pack="atlantis")


def test_culture_packs_lists_and_shows_a_pack_with_its_sources_and_checklist() -> None:
    listed = run_cli("culture", "packs")
    out = listed.stdout.decode()
    assert listed.returncode == 0 and "nigeria" in out and "korea" in out and "/profile pack" in out
    shown = run_cli("culture", "show", "zimbabwe")
    out = shown.stdout.decode()
    assert shown.returncode == 0
    assert "Friendship Bench" in out and "jamanetwork.com" in out and "checklist" in out.lower()
    missing = run_cli("culture", "show", "atlantis")
    assert missing.returncode != 0 and "there are:" in missing.stderr.decode()


def test_the_settings_page_offers_every_pack_and_keeps_the_one_chosen(tmp_path, home) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from typingcure.web.app import create_app

    from .test_web import LOCAL, scripted, tokens

    client = TestClient(create_app(Settings(backend=scripted(tmp_path), history="off", country="GB"), home=home),
                        base_url=LOCAL)
    page = client.get("/settings").text
    assert all(f'<option value="{name}" ' in page for name in packs.names()) and 'value="" >' not in page
    csrf, _ = tokens(page)
    saved = client.post("/settings/profile", data={"csrf": csrf, "country": "GB", "pack": "korea"})
    assert saved.status_code == 200 and '<option value="korea" selected>' in saved.text
    bad = client.post("/settings/profile", data={"csrf": csrf, "country": "GB", "pack": "atlantis"})
    assert bad.status_code == 400


def test_the_pack_is_chosen_with_profile_in_the_chat(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from .conftest import write_script

    script = write_script(tmp_path / "r.json", {"replies": ["I hear you."], "cycle": True})  # type: ignore[arg-type]
    done = run_cli("chat", "--backend", script, "--country", "GB", stdin="/profile pack Japan\n/profile\n/profile pack atlantis\n",
                   env={"TYPINGCURE_HISTORY": "off"})
    out = done.stdout.decode()
    assert done.returncode == 0, out
    assert "japan" in out and "there are:" in out  # set, shown, and a wrong name says what there is
