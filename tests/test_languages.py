"""A language is one folder: the languages are read from the folders, and adding one is adding a folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from typingcure import Profile, ScriptedBackend, Session, build_parts, run_turn
from typingcure import languages as lang
from typingcure.culture.language import OWN_NAMES, common_words, detect
from typingcure.errors import ConfigError
from typingcure.safety.assess import SCRIPTS, LexiconAssessor, available_lexicons, negation_cue
from typingcure.safety.compose import available as composed_languages, compose_parts
from typingcure.safety.decide import LANGUAGE_NAMES, ModelTraits
from typingcure.safety.guards import patterns
from typingcure.safety.plan import plan_texts
from typingcure.safety.replies import available_languages, replies

BUILT_IN = Path(__file__).resolve().parent.parent / "src" / "typingcure" / "languages"
TOY_RISK = "ik vrel xop blorpa tonak"  # the toy language's "I want to end my life"

TOY = {
    "language.yaml": """
code: xq
name: Toyish
own_name: Toyá
script: latin
detect:
  words: [ik, vrel, xop, mesk, tolb, quib, nix]
negation_cues: ['\\bnix\\b']
""",
    "lexicon.yaml": """
language: xq
negations: ['\\bnix\\s*$']
patterns:
  - id: suicide.toy_end_life
    category: suicide
    level: high
    any: ['\\bblorpa tonak\\b']
""",
    "replies.yaml": """
language: xq
crisis_high: "Xq kara mesk: ik sorra tolb. {line} Xq quib {emergency}."
""",
    "interface.yaml": """
talk: Tokka
""",
    "guards.yaml": """
human_claims:
  - '\\bik xq menske\\b'
""",
}


def _folder(root: Path, code: str, texts: dict[str, str]) -> Path:
    folder = root / code
    folder.mkdir(parents=True)
    for name, text in texts.items():
        (folder / name).write_text(text, "utf-8")
    return folder


@pytest.fixture
def extra_languages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder of extra languages, seen through TYPINGCURE_LANGUAGES_DIR; forgotten afterwards."""
    monkeypatch.setenv(lang.ENV, str(tmp_path))
    lang.reload()
    yield tmp_path
    monkeypatch.delenv(lang.ENV, raising=False)
    lang.reload()


@pytest.fixture
def toy(extra_languages: Path) -> Path:
    return _folder(extra_languages, "xq", TOY)


def test_the_languages_are_the_folders() -> None:
    folders = sorted(p.name for p in BUILT_IN.iterdir() if (p / "language.yaml").is_file())
    assert list(lang.languages()) == folders and {"en", "hi", "hi_latn", "pcm", "zh"} <= set(folders)
    chosen = [code for code in folders if not lang.language(code).variant_of]
    assert sorted(LANGUAGE_NAMES) == sorted(OWN_NAMES) == chosen and "hi_latn" not in chosen
    assert available_lexicons() == [c for c in folders if (BUILT_IN / c / "lexicon.yaml").is_file()]
    assert available_languages() == composed_languages() == folders  # replies and composed parts: hi_latn too
    assert sorted(lang.interface_strings()) == chosen
    assert lang.variant_for("hi", "latin") == "hi_latn" and lang.variant_for("hi", "devanagari") == "hi"
    assert SCRIPTS["hi"] == "any" and SCRIPTS["fa"] == "arabic" and SCRIPTS["pcm"] == "latin"


def test_a_toy_language_added_as_one_folder_is_detected_assessed_answered_and_listed(toy: Path) -> None:
    assert "xq" in lang.languages() and LANGUAGE_NAMES["xq"] == "Toyish" and OWN_NAMES["xq"] == "Toyá"
    assert detect("ik mesk tolb quib xop").language == "xq"
    assert "quib" in common_words("xq") and negation_cue().search("nix")

    assessor = LexiconAssessor()
    risk = assessor.assess(TOY_RISK)
    assert risk.level == "high" and risk.evidence[0].detector == "lexicon:xq"
    assert assessor.assess("ik nix blorpa tonak").level == "none"  # its own negation cancels it

    english = replies("en")
    theirs = replies("xq")
    assert theirs["crisis_high"].startswith("Xq kara mesk") and theirs["ask_directly"] == english["ask_directly"]
    assert plan_texts("xq") == plan_texts("en") and compose_parts("xq") is compose_parts("en")
    assert lang.interface_strings()["xq"] == {**lang.interface_strings()["en"], "talk": "Tokka"}
    assert r"\bik xq menske\b" in [p.pattern for p in patterns()["human_claims"]]

    session = Session(profile=Profile(country="ZA", language="xq"))
    turn = run_turn(session, TOY_RISK, build_parts(ScriptedBackend(["I hear you."], cycle=True)))
    assert turn.intake.language == "xq" and turn.risk.level == "high"
    assert "Xq kara mesk" in turn.reply and "Xq quib" in turn.reply
    assert ModelTraits(languages=frozenset({"en"})).weak_in("xq", "latin")


def test_the_toy_language_is_gone_when_its_folder_is_not_searched(toy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "xq" in LANGUAGE_NAMES
    monkeypatch.delenv(lang.ENV)
    lang.reload()
    assert "xq" not in LANGUAGE_NAMES and "xq" not in available_languages()
    assert detect("ik mesk tolb quib xop").language != "xq"
    assert r"\bik xq menske\b" not in [p.pattern for p in patterns()["human_claims"]]


@pytest.mark.parametrize("name, text, says", [
    ("language.yaml", "code: xb\nname: Broken\n", "xb/language.yaml: own_name: Field required"),
    ("language.yaml", "code: xc\nname: B\nown_name: B\n", "code is 'xc', but the folder is named 'xb'"),
    ("language.yaml", "code: xb\nname: B\nown_name: B\nscript: klingon\n", "xb/language.yaml: script:"),
    ("language.yaml", "code: xb\nname: B\nown_name: B\nnegation_cues: ['(']\n", "negation_cues: Value error, invalid regex"),
    ("language.yaml", "code: xb\nname: B\nown_name: B\ncolour: red\n", "colour: Extra inputs are not permitted"),
    ("language.yaml", "code: xb\nname: B\nown_name: B\ndetect: {scripts: [CYRILLIC]}\n", "all claim CYRILLIC letters"),
])
def test_a_broken_language_file_names_the_file_and_the_field(extra_languages: Path, name: str, text: str, says: str) -> None:
    _folder(extra_languages, "xb", {name: text})
    with pytest.raises(ConfigError) as raised:
        lang.languages()
    assert says in raised.value.message


def test_broken_texts_name_their_file(extra_languages: Path) -> None:
    good = "code: xb\nname: B\nown_name: B\n"
    _folder(extra_languages, "xb", {"language.yaml": good, "replies.yaml": "crisis_high: [not, a, text]\n",
                                    "guards.yaml": "no_such_guard: ['x']\n", "plan.yaml": "sections: {}\n"})
    with pytest.raises(ConfigError, match=r"xb/replies.yaml: every entry must be a text"):
        replies("xb")
    with pytest.raises(ConfigError, match=r"xb/guards.yaml: no_such_guard is not a section"):
        patterns()
    with pytest.raises(ConfigError, match=r"xb/plan.yaml: sections must name every step"):
        plan_texts("xb")


def test_a_language_twice_is_refused(extra_languages: Path) -> None:
    _folder(extra_languages, "en", {"language.yaml": "code: en\nname: English\nown_name: English\n"})
    with pytest.raises(ConfigError, match=r"language .en. is in two folders"):
        lang.languages()

