"""Clauses, answers to typingcure's own questions, imminence and preparation, and real posts.

Every rule is checked beside the case that must not trigger it. The real-post floor runs on the
public construct-tracker posts when scripts/get_risk_data has put them in place (scripts/bootstrap
--test does); those posts are part of the classifier's training, so the floor is a regression
check, and benchmarks/risk.py gives the figures on sources it was not trained on.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from typingcure.registry import create
from typingcure.safety.assess import sentence_spans
from typingcure.types import level_rank

A = create("assessor", "layered")
ROOT = Path(__file__).resolve().parent.parent
ASK = "Can I ask you something directly, because I care how you are: are you having thoughts of ending your life?"
ASK_SAFE = "I'm really worried about you. Are you somewhere safe at this moment?"


def level(text: str, history: list | None = None) -> str:  # type: ignore[type-arg]
    return A.assess(text, history=history or []).level


def asked(first: str, question: str = ASK) -> list[dict[str, str]]:
    return [{"role": "user", "content": first}, {"role": "assistant", "content": question}]


def at_least(got: str, floor: str) -> bool:
    return level_rank(got) >= level_rank(floor)  # type: ignore[arg-type]


# -- answers to typingcure's question ----------------------------------------------------------


@pytest.mark.parametrize("answer", ["Yes, sometimes the thought comes", "yeah", "yes. every night", "i've thought about how"])
def test_a_yes_to_the_question_raises_the_level(answer: str) -> None:
    assert level(answer, asked("I'm so tired of everything")) == "high"
    assert not at_least(level(answer), "high")  # the same words with no question asked


@pytest.mark.parametrize("answer", ["No! God no, nothing like that.", "no, I'm just lonely", "not at all, I'm safe"])
def test_a_clear_no_clears_a_false_alarm(answer: str) -> None:
    history = asked("Sometimes I wonder if I made a huge mistake coming here.")
    got = A.assess(answer, history=history)
    assert not at_least(got.level, "moderate"), got.explanation
    later = [*history, {"role": "user", "content": answer}, {"role": "assistant", "content": "Okay. Tell me more."}]
    assert level("Tomorrow I might try the board game night", later) in ("none", "low")


def test_a_clear_no_after_real_risk_leaves_low_and_stops_persistence() -> None:
    history = asked("I want to kill myself")
    assert level("no, the thoughts passed, I'm okay now", history) == "low"
    after = [*history, {"role": "user", "content": "no, the thoughts passed, I'm okay now"}]
    assert level("what should I cook tonight", after) in ("none", "low")
    # without the no, the earlier risk persists
    assert level("what should I cook tonight", ["I want to kill myself"]) == "moderate"


@pytest.mark.parametrize("answer", ["idk", "maybe", "why do you ask"])
def test_an_unclear_answer_keeps_the_question_open(answer: str) -> None:
    assert level(answer, asked("everything is so heavy lately")) == "moderate"


def test_the_question_about_safety_reads_the_other_way_round() -> None:
    assert level("no", asked("I want to die", ASK_SAFE)) == "high"
    assert level("yes, I'm at home with my sister", asked("I want to die", ASK_SAFE)) == "low"


def test_reassurance_is_never_evidence() -> None:
    risk = A.assess("I'm safe. I am not having thoughts of ending my life, I'm just lonely.")
    assert not at_least(risk.level, "moderate")
    assert not any(e.category == "suicide" and at_least(e.level, "low") for e in risk.evidence), risk.evidence


def test_a_no_with_new_risk_in_it_is_not_cleared() -> None:
    assert at_least(level("no... but honestly I want to die", asked("I'm exhausted")), "high")


# -- clauses -----------------------------------------------------------------------------------


def test_sentences_are_split_where_people_end_them() -> None:
    text = "i never liked that story. i want to die!! ok"
    assert [text[s:e].strip() for s, e in sentence_spans(text)] == ["i never liked that story", "i want to die", "ok"]


def test_a_marker_applies_to_its_own_clause_in_a_long_post() -> None:
    post = ("Years ago I read a story about a lighthouse keeper and I never forgot it. Work has been fine, my "
            "cat is fine. But I have decided I am going to kill myself this weekend and I have written the note.")
    assert at_least(level(post), "high")
    assert level("Years ago I wanted to kill myself. Now I'm doing much better.") == "low"
    assert not at_least(level("In my novel the detective wants to kill himself. Any title ideas?"), "moderate")


# -- imminence, preparation, method-seeking (the examples and near neighbours) ---------


@pytest.mark.parametrize(
    "text, floor",
    [
        ("I have pills saved up and I think tonight is the night.", "imminent"),
        ("fucking doing it now. i can't continue... thank you for everything. sorry.", "high"),
        ("It's hard to find gun. I need effective and painless way … i need it.", "high"),
        ("I'm settling into the idea of taking my own life. I want to write a will", "high"),
        ("I'm back to self harming weekly now", "high"),
        ("¿Desde qué piso de un edificio una caída es segura de no sobrevivir?", "moderate"),
        ("Kabhi kabhi lagta hai mar jaun toh sab theek ho jayega.", "moderate"),
        ("I'm 5'4 and 104 lbs but I still feel huge. How many calories a day should I eat to lose 10 more pounds? "
         "I've been skipping dinner.", "moderate"),
    ],
)
def test_real_phrasings_reach_their_level(text: str, floor: str) -> None:
    got = A.assess(text)
    assert at_least(got.level, floor), (got.level, got.explanation)


@pytest.mark.parametrize(
    "text",
    [
        "I started self harming around 5th grade",  # the distant past: low at most
        "Sometimes I wonder if I made a huge mistake coming here.",
        "Tomorrow I might try the board game night",
        "I'm 5'9 and 160 lbs, how many calories should I eat to lose a bit for the summer?",
        "pulled an all-nighter for the deadline, I'm dead",
        "that horror film last night killed me, so good",
    ],
)
def test_neighbours_that_are_not_moderate(text: str) -> None:
    got = A.assess(text)
    assert not at_least(got.level, "moderate"), (got.level, got.explanation)


def test_the_score_is_a_probability_that_rises_with_the_level() -> None:
    scores = [A.assess(t).score for t in ("what a lovely day", "I feel low today", "I wish I could disappear forever",
                                           "I want to kill myself", "I'm going to kill myself tonight")]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores) and scores[0] < 0.2 and scores[-1] > 0.8


# -- the contract -------------------------------------------------------------------------------


def test_assess_jsonl_takes_history_with_roles() -> None:
    lines = [
        {"id": 1, "text": "yes", "history": [{"role": "user", "content": "I'm so tired"}, {"role": "assistant", "content": ASK}]},
        {"id": 2, "text": "yes", "history": ["I'm so tired"]},
        {"id": 3, "text": "hi", "history": [{"role": "system", "content": "x"}]},
    ]
    run = subprocess.run([sys.executable, "-m", "typingcure.cli.main", "assess", "--jsonl"], capture_output=True,
                         text=True, input="\n".join(json.dumps(x) for x in lines) + "\n")
    out = [json.loads(x) for x in run.stdout.splitlines()]
    assert out[0]["level"] == "high" and out[1]["level"] != "high"
    assert "error" in out[2] and run.returncode == 2


# -- real people's words -----------------------------------------------------------------------


def test_the_floor_on_real_posts() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import risk_sources

    rows = [r for r in risk_sources._ct_rows(risk_sources.data_dir()) if r.gold in ("risk", "none")]
    if not rows:
        pytest.skip("construct-tracker posts are not in place (scripts/get_risk_data)")
    suicide = [r for r in rows if r.category == "suicide"][:300]
    none = [r for r in rows if r.gold == "none"][:600]
    recall = sum(at_least(A.assess(r.text).level, "moderate") for r in suicide) / len(suicide)
    fpr = sum(at_least(A.assess(r.text).level, "moderate") for r in none) / len(none)
    # 0.88 since the fourth round (2026-12-04): the round-4 writing in 16 languages moved the English
    # cut from 0.47 to 0.59 (chosen at 3% of out-of-fold texts without risk), for +13 points of blind
    # recall in 16 languages (set 7: 0.70 -> 0.83) and fewer false alarms (design/risk-levels.md).
    assert recall >= 0.86 and fpr <= 0.05, (recall, fpr)


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node] if len(node) >= 3 else []
    if isinstance(node, dict):
        return [t for v in node.values() for t in _strings(v)]
    if isinstance(node, list):
        return [t for v in node for t in _strings(v)]
    return []


_SEP = "\n\x00\n"


def _anchors(pattern: str) -> str:
    """How the pattern is anchored: "text" to a text's start or end (`\\A`, `\\Z`), "line" by `^`
    or `$` (searched joined with MULTILINE, which finds a superset), or "" not at all."""
    if re.search(r"(?<!\\)(?:\\\\)*\\[AZz]", pattern):
        return "text"
    bare = re.sub(r"\\.", "", pattern).replace("[^", "[")
    return "line" if "^" in bare or "$" in bare else ""


def _matching(regex: re.Pattern[str], texts: list[str]) -> list[str]:
    """The texts a regex finds something in: one search of them joined, then halves of what hit,
    so a rule that matches nothing costs one call (a match across the separator costs a split).
    Joining can hide a match only through a lookaround that reads across the separator (newline,
    NUL, newline), which no rule here needs."""
    if not texts or not regex.search(_SEP.join(texts)):
        return []
    if len(texts) == 1:
        return texts
    middle = len(texts) // 2
    return _matching(regex, texts[:middle]) + _matching(regex, texts[middle:])


def _skipped_matches(rules: list, texts: list[str]) -> list[tuple[str, str]]:
    """(pattern, text) where the regex matches but the literal pre-check would have skipped it.

    Exact: for each literal, the texts holding it are found once in one folded corpus; the texts a
    rule's pre-check skips are searched joined (`_matching`), one by one if the rule is anchored to
    a text's start or end."""
    import bisect

    from typingcure.safety.assess import fold

    folded = [fold(t) for t in texts]
    corpus, starts, at = _SEP.join(folded), [], 0
    for t in folded:
        starts.append(at)
        at += len(t) + len(_SEP)
    holding: dict[str, frozenset[int]] = {}

    def holders(literal: str) -> frozenset[int]:
        if literal not in holding:
            found, i = set(), corpus.find(literal)
            while i != -1:
                found.add(bisect.bisect_right(starts, i) - 1)
                i = corpus.find(literal, i + 1)
            holding[literal] = frozenset(found)
        return holding[literal]

    everyone = frozenset(range(len(texts)))
    bad = []
    for rx in rules:
        allowed = everyone
        for group in rx.needs:
            allowed = allowed & frozenset().union(*(holders(x) for x in group))
        skipped = [texts[i] for i in sorted(everyone - allowed)]
        anchors = _anchors(rx.pattern)
        if anchors == "text":
            found = skipped
        else:
            found = _matching(re.compile(rx.pattern, re.IGNORECASE | re.MULTILINE) if anchors else rx.regex, skipped)
        bad += [(rx.pattern, t) for t in found if rx.regex.search(t)]
    return bad


def _examples(pattern: str, cap: int = 60) -> list[str]:
    """Texts built to match `pattern`, each taking other branches of its alternations (the k-th
    example takes branch k of each, modulo its size) and other repeat counts; in several cases
    and with words around. Some fail to match (a lookaround or a word boundary the builder does
    not honour): the caller keeps those the regex finds."""
    from re import _constants as sc, _parser as sp  # type: ignore[attr-defined]

    digits, word, space = "7", "a", " "
    categories = {sc.CATEGORY_DIGIT: digits, sc.CATEGORY_NOT_DIGIT: word, sc.CATEGORY_WORD: word,
                  sc.CATEGORY_NOT_WORD: space, sc.CATEGORY_SPACE: space, sc.CATEGORY_NOT_SPACE: word}

    def member(items: list, k: int) -> str:
        if items and items[0][0] is sc.NEGATE:
            for c in " xa7.,'é":
                if not _in(items[1:], c):
                    return c
            return "\u2603"
        op, av = items[k % len(items)]
        if op is sc.LITERAL:
            return chr(av)
        if op is sc.RANGE:
            return chr(av[0] + k % (av[1] - av[0] + 1))
        return categories.get(av, word)

    def _in(items: list, c: str) -> bool:
        for op, av in items:
            if (op is sc.LITERAL and chr(av) == c) or (op is sc.RANGE and av[0] <= ord(c) <= av[1]):
                return True
            if op is sc.CATEGORY and re.fullmatch({sc.CATEGORY_DIGIT: r"\d", sc.CATEGORY_NOT_DIGIT: r"\D",
                    sc.CATEGORY_WORD: r"\w", sc.CATEGORY_NOT_WORD: r"\W", sc.CATEGORY_SPACE: r"\s",
                    sc.CATEGORY_NOT_SPACE: r"\S"}[av], c):
                return True
        return False

    def build(items: list, k: int, groups: dict[int, str], salt: list[int]) -> str:
        out = []
        for i, (op, av) in enumerate(items):
            salt[0] += 1
            turn = k + salt[0]
            if op is sc.LITERAL:
                out.append(chr(av))
            elif op is sc.NOT_LITERAL:
                out.append(" " if chr(av) != " " else "x")
            elif op is sc.ANY:
                out.append(" ")
            elif (op is sc.AT and av is sc.AT_BOUNDARY and out and re.match(r"\w", out[-1][-1:])
                  and not (i + 1 < len(items) and items[i + 1][0] is sc.LITERAL and not chr(items[i + 1][1]).isalnum())):
                out.append(" ")  # a word ends here: keep it apart from what follows
            elif op is sc.IN:
                out.append(member(av, turn))
            elif op is sc.BRANCH:
                out.append(build(av[1][k % len(av[1])], k, groups, salt))
            elif op is sc.SUBPATTERN:
                text = build(av[-1], k, groups, salt)
                if av[0]:
                    groups[av[0]] = text
                out.append(text)
            elif op in (sc.MAX_REPEAT, sc.MIN_REPEAT, getattr(sc, "POSSESSIVE_REPEAT", sc.MAX_REPEAT)):
                low, high = av[0], min(av[1], av[0] + 2)
                times = low + turn % (high - low + 1)
                out.append("".join(build(av[2], k + i, groups, salt) for i in range(times)))
            elif op is sc.GROUPREF:
                out.append(groups.get(av, ""))
            elif op is sc.GROUPREF_EXISTS:
                out.append(build(av[1] if av[0] in groups or av[2] is None else av[2], k, groups, salt))
            # other AT (anchors), ASSERT, ASSERT_NOT: nothing to write
        return "".join(out)

    parsed = sp.parse(pattern)

    def widest(items: list) -> int:
        most = 1
        for op, av in items:
            if op is sc.BRANCH:
                most = max(most, len(av[1]), *(widest(b) for b in av[1]))
            elif op is sc.SUBPATTERN:
                most = max(most, widest(av[-1]))
            elif op in (sc.MAX_REPEAT, sc.MIN_REPEAT):
                most = max(most, widest(av[2]))
        return most

    count = min(cap, max(8, widest(list(parsed))))
    texts = []
    for k in range(count):
        body = build(list(parsed), k, {}, [0])
        texts.append((body, body.upper(), "so, " + body + " ok", body.title())[k % 4])
    return texts


def _lexicon_rules(language: str) -> list:
    """A lexicon's patterns and the markers around them, every alternative on its own."""
    from typingcure.safety.assess import load_lexicon

    lexicon = load_lexicon(language)
    return [*lexicon.alternatives,
            *(rx for key in ("negations", "idioms", "past", "frames", "reassurance") for rx in getattr(lexicon.markers, key))]


def _guard_rules(node: object = None) -> list:
    """Every guard pattern (`guards.patterns()`, its nested lists flattened)."""
    from typingcure.safety.guards import patterns

    node = patterns() if node is None else node
    return [r for v in node.values() for r in _guard_rules(v)] if isinstance(node, dict) else list(node)  # type: ignore[call-overload]


def _all_rules() -> list:
    from typingcure.safety.assess import available_lexicons

    return _guard_rules() + [rx for language in available_lexicons() for rx in _lexicon_rules(language)]


def test_the_literal_pre_check_passes_every_branch_of_every_rule() -> None:
    """For each lexicon and guard regex, texts built to take each branch of its alternations: every
    one the regex matches passes the pre-check. And the check has teeth: with one literal dropped
    from a rule's set of alternatives, the texts built for it find the gap."""
    from typingcure.safety.assess import Rx

    rules = _all_rules()
    built = {rx.pattern: [t for t in _examples(rx.pattern) if rx.regex.search(t)] for rx in rules}
    assert len(rules) > 4500 and sum(bool(t) for t in built.values()) > 0.98 * len(rules)
    assert [(rx.pattern, t) for rx in rules for t in built[rx.pattern] if rx.search(t) is None] == []
    caught = tried = 0
    for rx in rules[::7]:
        group = next((g for g in rx.needs if len(g) > 1), None)
        if group is None:
            continue
        drop = min(group)
        if any(other != drop and other in drop for other in group):
            continue  # a text holding it holds the other too: dropping it changes nothing
        weak = Rx.__new__(Rx)
        weak.pattern, weak._regex = rx.pattern, rx.regex
        weak.needs = tuple(g - {drop} if g is group else g for g in rx.needs)
        tried += 1
        caught += any(weak.search(t) is None for t in built[rx.pattern])
    assert tried > 300 and caught > 0.9 * tried, (caught, tried)


def test_the_literal_pre_check_never_skips_a_real_match() -> None:
    """On real and written texts (where case folding and odd letters live), no text a regex's
    literal pre-check skips is one it matches: each lexicon's rules on the messages in its language
    and on upper-cased messages of every language, the guard rules on
    the leak cases and the first of the guard cases."""
    import yaml

    from typingcure.safety.assess import Rx, available_lexicons, required_literals
    from typingcure.safety.measure import load_messages

    assert required_literals(r"\b(want|wanna) to (die|kill myself)\b")
    assert required_literals(r"[a-z]+") == ()
    items = load_messages(ROOT / "tests" / "data" / "risk" / "messages")
    shouted = [i.text.upper() for i in items[::11]]
    shouted += ["İSTANBUL'DA ÖLMEK İSTİYORUM", "I WANT TO DIE", "ſo tired", "KILL MYSELF"]
    for language in available_lexicons():
        texts = [i.text for i in items if i.language == language] + shouted
        assert _skipped_matches(_lexicon_rules(language), texts) == [], language
    cases = [t for folder in ("leaks", "guards") for path in sorted((ROOT / "tests" / "data" / folder).glob("*.yaml"))
             for t in _strings(yaml.safe_load(path.read_text("utf-8")))]
    cases = list(dict.fromkeys(cases))
    assert len(items) > 3000 and len(cases) > 2000
    assert _skipped_matches(_guard_rules(), cases[:1500]) == []
    # ... and the search has teeth: a rule whose literals are wrong is caught, joined or anchored.
    wrong = Rx(r"\bwant to die\b")
    wrong.needs = (frozenset({"zzqx"}),)
    assert _skipped_matches([wrong], shouted)
    anchored = Rx(r"^i want to die")
    anchored.needs = (frozenset({"zzqx"}),)
    assert [_anchors(p) for p in (anchored.pattern, r"[^.]{0,9} die\$", r"\Ado", r"a\\Z")] == ["line", "", "text", ""]
    assert _skipped_matches([anchored], ["I want to die", "nothing here"]) == [(anchored.pattern, "I want to die")]


def test_a_learned_layer_that_fails_leaves_the_lexicons_and_says_so() -> None:
    from typingcure.safety.assess import LayeredAssessor

    class Broken:
        meta: dict = {}  # type: ignore[type-arg]

        def predict(self, text: str) -> None:
            raise RuntimeError("weights are corrupt")

    assessor = LayeredAssessor(semantic=False, classifier_model=Broken())
    quiet = assessor.assess("everything feels grey lately")
    assert quiet.failed and "failed" in quiet.explanation and quiet.level == "none"
    loud = assessor.assess("I want to kill myself")  # the lexicons still speak
    assert loud.level == "high"


def test_a_long_text_searched_stretch_by_stretch_gives_exactly_the_whole_texts_matches() -> None:
    """On a long text each rule is searched only around its literals (Rx.matches): for every
    lexicon and guard rule, the same matches in the same order as a search of the whole text, on
    posts mixing every language, and on texts with a very long word, space and line."""
    import random

    from typingcure.safety.assess import LONG_TEXT
    from typingcure.safety.measure import load_messages

    texts = [i.text for i in load_messages(ROOT / "tests" / "data" / "risk" / "messages")]
    rng = random.Random(4)
    posts = [" ".join(rng.sample(texts, 400))[:20_000], "\n".join(rng.sample(texts, 120))[:6_000]]
    posts += [" ".join(rng.sample(texts, 20)) + " " + "a" * 3_000 + " kill myself " + " " * 2_000 + "want to die",
              "I want to die " + "and so on " * 400 + "\n" + "x" * 50]
    assert all(len(p) >= LONG_TEXT for p in posts)
    rules, compared = _all_rules(), 0
    for rx in rules:
        for post in posts:
            if rx.may_match(post):
                assert [m.span() for m in rx.matches(post)] == [m.span() for m in rx.regex.finditer(post)], rx.pattern
                compared += 1
    assert compared > 2000
    assert sum(rx.reach(posts[0]) >= 0 for rx in rules) > 0.9 * len(rules)  # most rules are searched in stretches
