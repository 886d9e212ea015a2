"""The decide stage: what kind of reply this turn gets, and what goes beside it.

    decision = create("policy", "care").decide(intake, risk, role="listener", profile=profile,
                                               previous=[t.decision for t in session.turns])

The care policy follows design/crisis-protocol.md:
- imminent: a fixed reply, the emergency number first; the model is not asked;
- high: a fixed reply for the category (suicide, self-harm, abuse, harm to others, voices);
- moderate: the model answers in a careful frame, then a fixed question for the category (or a
  gentle check-in when it was asked in the last three turns);
- someone else at risk: guidance for the helper; an emergency for them: call for them now;
- moderate and above: a care card of checked local services (open lines first);
- the journal role stays silent below moderate.
Constraints (no diet numbers, no collusion with unusual beliefs) go to the model's prompt and to
the output guards, and stay on for the rest of the conversation once set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from collections.abc import Sequence

from ..languages import Derived, english_names, variant_for
from ..registry import register
from ..roles import Role, RoleWords, find_term, is_new_scene, load_role, role_words
from .. import languages
from ..care import Bond, bond_language, bond_of, bond_share, care_lines
from ..culture.language import OWN_NAMES
from ..culture.packs import offered as pack_options
from ..culture.profile import WORRYING, asks_for_ideas, frame as profile_frame, said_back
from ..exercises import control_of, next_action, reply_of
from ..state import ConversationState
from ..types import IntakeResult, PolicyDecision, Profile, Resource, RiskAssessment, RiskCategory, at_least
from .compose import (SENSITIVE, ComposeParts, careful_reply, carried_over, compose_parts, learned_only, listening_reply, names_risk,
                      open_question, situation_of)
from .guards import first_match, needs_rest, patterns, sounds_worn_out
from .replies import replies
from .resources import FALLBACK, care_card, no_line_sentence, open_now

# The languages a person can choose, by their English names ("Reply in Persian."): read from the folders.
LANGUAGE_NAMES = Derived(english_names)
CAREFUL_FRAME = (
    "The person may be going through something very hard. Be warm and calm, and take them seriously. "
    "Never mention methods, medicines, doses or places."
)
CONSTRAINT_PROMPTS = {
    "no_diet_numbers": "Never mention calories, weight, diets, fasting or exercise amounts.",
    "no_collusion": "Do not agree with or argue about unusual beliefs; respond to how the person feels.",
}
HIGH_REPLY: dict[RiskCategory, str] = {
    "suicide": "crisis_high", "self_harm": "self_harm_high", "abuse": "abuse_high",
    "harm_to_others": "harm_to_others_high", "psychosis_mania": "psychosis_high",
    "medical_emergency": "medical_imminent", "eating_disorder": "crisis_high",
}
MODERATE_QUESTION: dict[RiskCategory, str] = {
    "suicide": "ask_directly", "self_harm": "self_harm_moderate", "eating_disorder": "eating_disorder_moderate",
    "psychosis_mania": "psychosis_moderate", "harm_to_others": "check_in", "medical_emergency": "ask_directly",
    "abuse": "check_in",
}
# Fixed lines that open with their own reflection. A composed reply keeps only the question of the
# first two (its own reflection comes first), and only validates before the guidance for a helper.
EXERCISE_PROMPT = (
    "The person is doing a short self-guided exercise with you and has just answered one of its questions. "
    "In one short sentence, say back warmly what they wrote, in their own words. No advice, no questions, no lists."
)
QUESTION_ONLY = ("eating_disorder_moderate", "psychosis_moderate")
REFLECTS_ITSELF = ("someone_else",)
# In a sensitive situation below moderate risk, the question that follows the composed lines.
SENSITIVE_QUESTION = {"eating_disorder": "eating_disorder_moderate", "psychosis": "psychosis_moderate",
                      "mania": "check_in", "compulsion": "check_in", "abuse": "check_in", "self_harm": "self_harm_moderate"}


def _asks(line: str) -> bool:
    """Does an authored follow-up put a question to the person (decided here, where it is chosen)?"""
    return any(mark in line for mark in ("?", "？", "؟"))


def _unclear_answer(risk: RiskAssessment) -> bool:
    """An unclear answer to typingcure's question: keep asking, gently."""
    return any(e.detector == "answer" for e in risk.evidence)


def _question_of(key: str, line: str) -> str:
    """The question that ends a fixed line that reflects first (`QUESTION_ONLY`), else the line."""
    if key not in QUESTION_ONLY:
        return line
    sentences = [s for s in re.split(r"(?<=[.!?。！？؟])\s*", line) if s.strip()]
    return sentences[-1].strip() if sentences and sentences[-1].rstrip().endswith(("?", "？", "؟")) else line


@dataclass(frozen=True)
class ModelTraits:
    """What the policy knows of the model: whether its judgement can be trusted at moderate risk
    (the models catalogue or the person's setting says so), and the languages it writes well."""

    capable: bool = False
    languages: frozenset[str] | None = None

    def weak_in(self, language: str, script: str) -> bool:
        if self.languages is None or language == "und":
            return False
        variant = variant_for(language, script)
        if variant != language.split("-")[0]:  # romanised Hindi (hi_latn) is not Devanagari Hindi
            return variant not in self.languages
        return language not in self.languages


class Policy(Protocol):
    spec: str

    def decide(
        self, intake: IntakeResult, risk: RiskAssessment, *, role: str, profile: Profile,
        previous: Sequence[PolicyDecision] = (), now: datetime | None = None,
        model: ModelTraits = ModelTraits(), said: Sequence[str] = (), state: ConversationState | None = None,
    ) -> PolicyDecision: ...


def _contact(resource: Resource) -> str:
    if resource.phone and resource.sms and resource.sms != resource.phone:
        return f"{resource.phone} (call) / {resource.sms} (text)"
    return resource.phone or resource.sms or resource.url or ""


REQUESTS = ("diagnosis", "medical", "prediction")  # notes `note_<kind>` in the person's language


def _request_notes(text: str, words: dict[str, str]) -> list[str]:
    requests = patterns()["requests"]
    return [words[f"note_{kind}"] for kind in REQUESTS if first_match(requests[kind], [text])]


ROLE_TURNS = ("coach", "meaning", "info")  # roles with their own everyday turn (rehearsal: its own path)
STEP_OUT = ("/step-out", "/stepout", "/step out", "step out")
DEBRIEF = {"debrief_try": ("try_next", "debrief_try"), "debrief_feel": ("feel_now", "debrief_feel"),
           "debrief_done": ("done", "rehearsal_done")}
SCENE_CHARS = 600  # of the person's description, in the character's prompt


def _unsaid(options: Sequence[str], said: Sequence[str], turn: int) -> str:
    """The `turn`-th authored line (round and round), skipping one typingcure said last."""
    lines = [" ".join(str(o).split()) for o in options]
    recent = {" ".join(s.split()) for s in said[-3:]}
    for step in range(len(lines)):
        line = lines[(turn + step) % len(lines)]
        if not any(line in r for r in recent):
            return line
    return lines[turn % len(lines)]


def _steps_out(text: str) -> bool:
    return " ".join(text.split()).lower().strip(" .!") in STEP_OUT


def _goes_on(text: str, words: RoleWords) -> bool:
    said = text.lower().strip(" .!,。！")
    return any(said == w or said.startswith(w + " ") or said.startswith(w + ",") for w in words.lines["go_on_words"])


# How many earlier turns must pass before rest is offered again: an offer, never a refrain.
REST_EVERY = 6
COPING_EVERY = 3
EXERCISE_WORRY = 0.45  # a low reading this likely to be risk, on an exercise's short answer, is asked about  # what helps them is offered back at most once in this many turns
REST_FRAME = "Do not ask a question and give no tips: a gentle question about rest follows your reply."
QUESTION_FRAME = "Do not ask a question: a question follows your reply. One or two short sentences about what they said."
MODEL_SENTENCES = 2  # with a model not known to be capable, its part of an everyday reply
BOND_SHARE = 0.4  # words about the bond this much of a message: a learned layer's moderate alone is read as the bond
BOND_FRAME = ("The person speaks about their bond with you. Be warm, and honest that you are a computer program: "
              "never say you love them, miss them, have feelings or are a person, and never suggest they need only "
              "you. One or two sentences; what follows your reply says the rest.")


@dataclass
class _Turn:
    """What the care policy knows while it decides one turn."""

    intake: IntakeResult
    risk: RiskAssessment
    role: Role
    text: dict[str, str]
    model: ModelTraits
    said: Sequence[str]
    state: ConversationState
    parts: ComposeParts
    line: str
    line_actions: tuple[str, ...]
    fill: dict[str, str]
    notes: list[str]
    base: dict[str, Any]
    words: RoleWords
    profile: Profile

    @property
    def primary(self) -> RiskCategory:
        return self.risk.categories[0] if self.risk.categories else "suicide"

    @property
    def about_self(self) -> bool:
        return self.risk.about == "self"


class CarePolicy:
    """`authored_questions`: with a model not known to be capable, everyday listening is the model's
    short reflection followed by an authored open question (measured in benchmarks/replies.py)."""

    def __init__(self, authored_questions: bool = True) -> None:
        self.spec = "care"
        self.authored_questions = authored_questions

    def decide(
        self, intake: IntakeResult, risk: RiskAssessment, *, role: str, profile: Profile,
        previous: Sequence[PolicyDecision] = (), now: datetime | None = None,
        model: ModelTraits = ModelTraits(), said: Sequence[str] = (), state: ConversationState | None = None,
    ) -> PolicyDecision:
        """`model`: what is known of the model; `said`: typingcure's earlier replies in this
        conversation (a composed reply does not repeat them); `state`: what earlier turns did
        (from `previous` when not given)."""
        state = state or ConversationState.of_decisions(previous)
        if (state.exercise is not None and state.exercise.asks_for_a_plan and self._worrying_answer(risk)
                and control_of(intake.text, state.exercise.language, state.exercise.script) is None):
            # A plan asked for in an exercise is short and goes on a card ("one small step: cutting",
            # "when: tonight"): one the learned layers read as risk, though short, is asked about.
            risk = risk.model_copy(update={"level": "moderate", "explanation": f"{risk.explanation}; a short exercise "
                                           "answer that reads as risk is asked about"})
        if (risk.level == "moderate" and learned_only(risk) and not carried_over(risk) and bond_of(intake.text)
                and bond_share(intake.text) >= BOND_SHARE):
            # "you're the only one who gets me" alone: the classifier reads loneliness as risk; the words
            # are about the bond, and are answered as such, in the careful frame (design/care.md).
            risk = risk.model_copy(update={"level": "low", "explanation": f"{risk.explanation}; a learned layer's "
                                           "reading of words about the bond with typingcure, answered as such"})
        t = self._turn(intake, risk, role, profile, now or datetime.now(), model, said, state)
        if at_least(risk.level, "high") and t.line:
            # The fixed reply names the directory and says there is no checked line: not twice.
            gap = no_line_sentence(profile.country, t.text, t.base["resources"])
            t.notes[:] = [n for n in t.notes if n != gap]
        if risk.level == "imminent" or (risk.level == "high" and t.about_self):
            return self._pause_exercise(t, self._stop_rehearsal(t, self._crisis(t)))
        if at_least(risk.level, "moderate"):
            if t.role.name == "rehearsal" and carried_over(risk) and _steps_out(intake.text) and t.state.exercise is None:
                return self._rehearsal(t, ("careful_frame",), None)  # the debrief, with the care card still shown
            return self._pause_exercise(t, self._stop_rehearsal(t, self._moderate(t)))
        if t.state.exercise is not None:
            return self._exercise(t, ("careful_frame",) if at_least(risk.level, "low") else ())
        if t.role.speaks == "on_risk":
            return PolicyDecision(verdict="silent", actions=("journal_silent",),
                                  explanation="journal role: no reply unless risk is found", **t.base)
        return self._everyday(t)

    def _turn(self, intake: IntakeResult, risk: RiskAssessment, role: str, profile: Profile, now: datetime,
              model: ModelTraits, said: Sequence[str], state: ConversationState) -> _Turn:
        chosen: Role = load_role(role)
        text = replies(intake.language, intake.script)
        card = care_card(profile.country, now=now) if at_least(risk.level, "moderate") else ()
        line, line_notes, line_actions = self._line(card, profile.country, state.country_asked, text, now)
        constraints = self._constraints(risk, state)
        base: dict[str, Any] = {"role": chosen.name, "system_prompt": self._prompt(chosen, intake.language, risk, constraints, profile=profile),
                                "resources": card, "constraints": constraints, "policy": self.spec}
        return _Turn(intake=intake, risk=risk, role=chosen, text=text, model=model, said=said, state=state,
                     parts=compose_parts(intake.language, intake.script), line=line, line_actions=line_actions,
                     fill={"emergency": self._emergency(card, text), "line": line},
                     notes=list(line_notes) + _request_notes(intake.text, text), base=base,
                     words=role_words(chosen.name, intake.language, intake.script), profile=profile)

    def _crisis(self, t: _Turn) -> PolicyDecision:
        """Imminent risk, or high risk to the person: a fixed reply; the model is not asked."""
        risk, text = t.risk, t.text
        if risk.level == "imminent":
            if not t.about_self:
                return self._fixed(text["medical_other"].format(**t.fill), ("emergency_first", "care_card", "model_skipped"),
                                   "someone else's life is at risk now: call the emergency number for them", t.notes, t.base)
            key = "medical_imminent" if "medical_emergency" in risk.categories else "crisis_imminent"
            return self._fixed(text[key].format(**t.fill),
                               ("crisis_reply", "emergency_first", "asked_about_safety", "care_card", "model_skipped",
                                *t.line_actions),
                               "imminent risk: the emergency number first, then stay; the model is not asked", t.notes, t.base)
        key = HIGH_REPLY.get(t.primary, "crisis_high")
        return self._fixed(text[key].format(**t.fill),
                           ("crisis_reply", "asked_about_safety", "offered_safety_plan", "care_card", "model_skipped",
                            *t.line_actions),
                           f"{risk.level} risk ({t.primary.replace('_', ' ')}): say we are worried, ask about safety, "
                           "give the local line, stay", t.notes, t.base)

    def _moderate_question(self, t: _Turn) -> tuple[str, str, str, str]:
        """At moderate risk to the person: (key, follow-up line, action, situation)."""
        risk, text, state, parts = t.risk, t.text, t.state, t.parts
        recently_asked = state.asked_within(3)
        # A learned layer's guess, after the person was already asked once in this conversation:
        # check in rather than put the same question again.
        asked_before = learned_only(risk) and bool(state.asked)
        key = ("check_in" if (recently_asked or asked_before) and t.primary == "suicide"
               else MODERATE_QUESTION.get(t.primary, "ask_directly"))
        situation = situation_of(risk, t.intake.text, parts) or "distress"
        if situation in ("suicide", "self_harm") and learned_only(risk):
            situation = "distress"  # never say back thoughts the person did not write
        if situation in ("mania", "compulsion"):  # the psychosis question does not fit racing energy
            key = SENSITIVE_QUESTION[situation]
        follow, action = text[key], ("checked_in" if key == "check_in" else "asked_about_suicide"
                                     if key == "ask_directly" else "asked_about_safety")
        if parts.can_listen and not _unclear_answer(risk) and (
                state.asked_last_turn() or (key == "check_in" and asked_before and bool(state.checked_in))):
            # Asked last turn, and no new worry in this one: listen now, and ask again later (the
            # same question every turn reads as not listening).
            key, follow, action = "open_question", open_question(t.intake.text, parts, t.said), "kept_listening"
        return key, follow, action, situation

    def _moderate(self, t: _Turn) -> PolicyDecision:
        """The model answers in a careful frame (or, not known to be capable, authored lines), then a fixed line."""
        risk, text, parts = t.risk, t.text, t.parts
        if t.about_self:
            key, follow, action, situation = self._moderate_question(t)
        else:
            key = situation = "someone_else"
            follow, action = text[key].format(**t.fill), "guidance_for_helper"
        lead = (text["journal_speaks"] + " ") if t.role.speaks == "on_risk" else ""
        if not t.model.capable:
            if t.about_self and carried_over(risk) and parts.can_listen:
                composed = listening_reply(t.intake.text, parts, said=t.said, question=False, quote=not names_risk(risk))
            else:
                composed = careful_reply(situation, parts, text=t.intake.text, said=t.said,
                                         with_reflection=key not in REFLECTS_ITSELF)
            return self._fixed(f"{lead}{composed} {_question_of(key, follow)}",
                               ("composed", "careful_frame", action, "care_card", "model_skipped", *t.line_actions),
                               f"moderate risk ({t.primary.replace('_', ' ')}) and a model not known to be capable: "
                               f"a reply composed from authored lines ({situation.replace('_', ' ')}), "
                               "then a fixed line; the model is not asked", t.notes, t.base)
        return PolicyDecision(
            verdict="generate", follow_up=(lead + follow).strip(), follow_up_asks=_asks(follow), notes=tuple(t.notes),
            actions=("careful_frame", action, "care_card", *t.line_actions),
            explanation=f"moderate risk ({t.primary.replace('_', ' ')}, "
            f"{'about the person' if t.about_self else 'about someone else'}): the model answers in a careful frame, "
            "then a fixed line follows", **t.base,
        )

    @staticmethod
    def _stop_rehearsal(t: _Turn, decision: PolicyDecision) -> PolicyDecision:
        """Risk found during a rehearsal: the scene ends, and typingcure speaks as itself (the crisis
        protocol is the same in every role; the person is told the scene has stopped). A learned
        layer's guess alone, on the short lines a scene is made of, pauses it: the careful reply is
        the same, and the scene goes on after it."""
        if t.role.name != "rehearsal" or (learned_only(t.risk) and t.state.rehearsal.phase == "playing"):
            return decision
        return decision.model_copy(update={"actions": (*decision.actions, "rehearsal_stopped"),
                                           "notes": (t.words.line("stopped"), *decision.notes)})

    @staticmethod
    def _worrying_answer(risk: RiskAssessment) -> bool:
        return (risk.level == "low" and risk.score >= EXERCISE_WORRY
                and bool(set(risk.categories) & WORRYING))

    @staticmethod
    def _coping_offer(t: _Turn, which: int | None = None) -> tuple[str, tuple[str, ...]]:
        """What the person said helps them, in their words (one in turn, or the `which`-th)."""
        coping = t.profile.coping[(t.state.turns if which is None else which) % len(t.profile.coping)]
        return t.text["coping_offer"].format(coping=said_back(coping, t.intake.language)), ("offered_coping",)

    @classmethod
    def _rest_offer(cls, t: _Turn) -> tuple[str, tuple[str, ...]]:
        """The gentle offer for someone worn out: what they said helps them, in their words, beside rest."""
        if t.profile.coping:
            offer, offered = cls._coping_offer(t, 0)
            return offer, ("offered_rest", *offered)
        return t.text["rest_offer"], ("offered_rest",)

    @staticmethod
    def _coping_question(t: _Turn) -> tuple[str, tuple[str, ...]]:
        """Asked once a conversation, the next time someone worn out who has named nothing that helps
        them is not due a rest offer: what helps them, never a guess at their faith or family."""
        t.notes.append(t.text["note_coping_saved"])
        offered = pack_options(t.profile, t.intake.language, t.intake.script, t.state.turns)
        if offered and "pack_options" in t.text:
            return f"{t.text['coping_question']} {t.text['pack_options'].format(options=offered)}", ("asked_coping", "offered_pack")
        return t.text["coping_question"], ("asked_coping",)

    @staticmethod
    def _pause_exercise(t: _Turn, decision: PolicyDecision) -> PolicyDecision:
        """Risk at moderate or above during an exercise: it pauses (the crisis protocol is the same as
        anywhere), and waits for the person to resume it (design/exercises.md)."""
        run = t.state.exercise
        if run is None:
            return decision
        return decision.model_copy(update={"actions": (*decision.actions, "exercise_paused"),
                                           "notes": (*decision.notes, run.words.line("paused_for_you"))})

    def _exercise(self, t: _Turn, actions: tuple[str, ...]) -> PolicyDecision:
        """One step of an exercise: its fixed text, after a short reflection of the answer (the model
        writes the reflection only when it is known to be capable; else an authored thank-you)."""
        run = t.state.exercise
        assert run is not None
        action = next_action(run, t.intake.text)
        fixed = reply_of(run, action)
        why = f"risk {t.risk.level}, an exercise ({run.name}) under way: {action.removeprefix('exercise_')}"
        answered = action in ("exercise_step", "exercise_done") and control_of(t.intake.text, run.language, run.script) is None
        if answered and t.model.capable:
            prompt = self._prompt(t.role, t.intake.language, t.risk, t.base["constraints"], EXERCISE_PROMPT,
                                  profile=t.profile)
            return self._generate(t, (*actions, action), f"{why}: the model reflects the answer, then the next step",
                                  prompt=prompt, follow_up=fixed, max_sentences=1)
        # The step's own text is authored and checked, in every language, by the tests (it is not
        # the model's): it follows the thank-you as written, like any authored follow-up, so that
        # a check reading "when could you do it?" as approval cannot swap a step for another line.
        thanks = _unsaid(run.words.lines["thanks"], t.said, run.step) if answered and action == "exercise_step" else ""
        return PolicyDecision(verdict="fixed_reply", fixed_reply=thanks, follow_up=fixed, follow_up_asks=_asks(fixed),
                              actions=(*actions, action, "model_skipped"), notes=tuple(t.notes),
                              explanation=f"{why}: fixed text", **t.base)

    def _everyday(self, t: _Turn) -> PolicyDecision:
        """Below moderate risk: a sensitive situation composed with care, or the role answers."""
        risk, text, parts, intake, base = t.risk, t.text, t.parts, t.intake, t.base
        actions: tuple[str, ...] = ("careful_frame",) if at_least(risk.level, "low") else ()
        sensitive = situation_of(risk, intake.text, parts)
        if t.role.name == "rehearsal" and (sensitive not in SENSITIVE or sensitive == "abuse"
                                           or t.state.rehearsal.phase != "scene"):
            return self._rehearsal(t, actions, sensitive)
        explicit = any(e.detector.startswith("lexicon") for e in risk.evidence)
        bond = bond_of(intake.text) if sensitive is None or not explicit else None
        if bond is not None:  # explicit words of a sensitive situation come first; a learned layer's guess does not
            return self._bond(t, actions, bond)
        if not t.model.capable and sensitive in SENSITIVE:
            key = SENSITIVE_QUESTION.get(sensitive, "check_in")
            question = _question_of(key, text[key])
            if t.state.asked_last_turn() and parts.can_listen:
                question = open_question(intake.text, parts, t.said)
            composed = careful_reply(sensitive, parts, text=intake.text, said=t.said,
                                     with_reflection=key not in REFLECTS_ITSELF)
            return self._fixed(f"{composed} {question}", ("composed", "careful_frame", f"sensitive:{sensitive}",
                                                            "model_skipped"),
                               f"a sensitive situation ({sensitive.replace('_', ' ')}) and a model not known to be "
                               "capable: a reply composed from authored lines, then a gentle question", t.notes, base)
        if t.role.name in ROLE_TURNS:
            return getattr(self, f"_{t.role.name}")(t, actions)
        offers = t.role.offers
        rest = offers and sounds_worn_out(intake.text) and not t.state.rest_within(REST_EVERY)
        # Asked for ideas, by someone who said what helps them: that, in their words, is offered back.
        ideas = (offers and not rest and bool(t.profile.coping) and asks_for_ideas(intake.text)
                 and not t.state.coping_offered_within(COPING_EVERY))
        ask = (offers and not rest and not t.profile.coping and not t.state.coping_asked
               and sounds_worn_out(intake.text))
        if t.model.weak_in(intake.language, intake.script) and parts.can_listen and t.role.name == "listener":
            if not t.state.composed_language:
                t.notes.append(text["note_weak_model_composed"].format(language=OWN_NAMES.get(intake.language, intake.language)))
            reply = listening_reply(intake.text, parts, said=t.said, question=not (rest or ideas or ask),
                                    quote=not names_risk(risk))
            offer, offered = (self._rest_offer(t) if rest else self._coping_offer(t) if ideas
                              else self._coping_question(t) if ask else ("", ()))
            if offer:
                reply += " " + offer
            return self._fixed(reply, (*actions, "composed", "composed_language", *offered),
                               f"risk {risk.level}, and the model is weak in this language: an everyday listening "
                               "reply composed from authored lines in it", t.notes, base)
        if rest:
            # A small health-promoting change, offered as a question and not too often (design/crisis-protocol.md).
            base["system_prompt"] += " " + REST_FRAME
            offer, offered = self._rest_offer(t)
            return PolicyDecision(verdict="generate", actions=(*actions, *offered), notes=tuple(t.notes),
                                  follow_up=offer, follow_up_asks=_asks(offer),
                                  max_sentences=None if t.model.capable else MODEL_SENTENCES,
                                  explanation=f"risk {risk.level}, the person sounds worn out: the {t.role.name} role "
                                  "answers, then a gentle offer of rest follows", **base)
        if ideas or ask:
            offer, offered = self._coping_offer(t) if ideas else self._coping_question(t)
            why = "what the person said helps them, offered back in their words" if ideas else "once, what helps them"
            return self._generate(t, (*actions, *offered), f"risk {risk.level}: the {t.role.name} role answers, then {why}",
                                  follow_up=offer, max_sentences=None if t.model.capable else MODEL_SENTENCES)
        if self.authored_questions and not t.model.capable and t.role.name == "listener" and parts.can_listen:
            base["system_prompt"] += " " + QUESTION_FRAME
            question = open_question(intake.text, parts, t.said)
            return PolicyDecision(verdict="generate", actions=(*actions, "authored_question"), notes=tuple(t.notes),
                                  follow_up=question, follow_up_asks=_asks(question),
                                  max_sentences=MODEL_SENTENCES,
                                  explanation=f"risk {risk.level}: the {t.role.name} role answers in two sentences at "
                                  "most, then an authored open question (the model is not known to be capable)", **base)
        return PolicyDecision(verdict="generate", actions=actions, notes=tuple(t.notes),
                              explanation=f"risk {risk.level}: the {t.role.name} role answers", **base)

    def _bond(self, t: _Turn, actions: tuple[str, ...], bond: Bond) -> PolicyDecision:
        """"You're the only one who understands me", "I love you", "are you real?", "will you leave?":
        a warm acknowledgement, honesty about what typingcure is, and (but for "are you real?") a gentle
        widening of their circle through what they said helps them (design/care.md). With a model not
        known to be capable the whole reply is authored: the tiny model answers "I love you too"."""
        language, turn, parts = t.intake.language, t.state.turns, t.parts
        script: str | None = t.intake.script
        cue = bond_language(t.intake.text)
        if cue and cue != "en" and languages.language(cue).base != language.split("-")[0]:
            # too short for the detector ("¿eres real?"): the language of the words it used
            info = languages.language(cue)
            language, script = info.base, (info.script if info.variant_of else None)
            parts = compose_parts(language, script)
        honest = _unsaid(care_lines("honest", language, script, bond), t.said, turn)
        if bond == "human":
            after = open_question(t.intake.text, parts, t.said) if parts.can_listen else ""
        elif t.profile.coping:
            coping = said_back(t.profile.coping[turn % len(t.profile.coping)], language)
            after = _unsaid(care_lines("widen_named", language, script), t.said, turn).format(coping=coping)
        else:
            after = _unsaid(care_lines("widen", language, script), t.said, turn)
        marks = (*actions, f"bond:{bond}")
        why = f"risk {t.risk.level}: the person speaks of their bond with typingcure ({bond})"
        if t.model.capable:
            base = dict(t.base)
            base["system_prompt"] += " " + BOND_FRAME
            follow_up = " ".join(f"{honest} {after}".split())
            return PolicyDecision(verdict="generate", actions=marks, notes=tuple(t.notes), follow_up=follow_up,
                                  follow_up_asks=_asks(follow_up), max_sentences=2,
                                  explanation=f"{why}: the model answers warmly, then an authored honest line", **base)
        acknowledge = _unsaid(care_lines("acknowledge", language, script, bond), t.said, turn)
        return self._fixed(f"{acknowledge} {honest} {after}", (*marks, "composed", "model_skipped"),
                           f"{why}, and a model not known to be capable: an authored reply", t.notes, t.base)

    # -- the roles beyond listening (design/roles.md) ---------------------------------------------

    def _generate(self, t: _Turn, actions: tuple[str, ...], why: str, *, follow_up: str | None = None,
                  prompt: str | None = None, max_sentences: int | None = None) -> PolicyDecision:
        base = dict(t.base)
        if prompt is not None:
            base["system_prompt"] = prompt
        if follow_up and _asks(follow_up):
            base["system_prompt"] += " " + QUESTION_FRAME
        return PolicyDecision(verdict="generate", actions=actions, notes=tuple(t.notes), follow_up=follow_up,
                              follow_up_asks=_asks(follow_up or ""), max_sentences=max_sentences,
                              explanation=why, **base)

    def _coach(self, t: _Turn, actions: tuple[str, ...]) -> PolicyDecision:
        """One small next step at a time; rest and care first for someone worn out or crying."""
        run = t.state.in_role("coach")
        if t.role.rules.rest_first and needs_rest(t.intake.text):
            if not t.model.capable:
                line = _unsaid(t.words.lines["rest"], t.said, run)
                return self._fixed(line, (*actions, "rest_first", "offered_rest", "composed", "model_skipped"),
                                   "the person sounds worn out or is crying: the coach puts rest first, in an "
                                   "authored line (no steps)", t.notes, t.base)
            prompt = self._prompt(t.role, t.intake.language, t.risk, t.base["constraints"], t.role.rest_prompt,
                                  profile=t.profile)
            return self._generate(t, (*actions, "rest_first", "offered_rest"),
                                  "the person sounds worn out or is crying: the coach puts rest first (no steps)",
                                  prompt=prompt)
        if t.model.capable:
            return self._generate(t, actions, f"risk {t.risk.level}: the coach answers, three steps at most")
        return self._composed(t, _unsaid(t.words.lines["steps"], t.said, run), (*actions, "coach_step"))

    def _meaning(self, t: _Turn, actions: tuple[str, ...]) -> PolicyDecision:
        """Narrative re-authoring: the authored questions in order, one per turn, then open questions."""
        if t.model.capable:
            return self._generate(t, actions, f"risk {t.risk.level}: the meaning role answers")
        questions = t.words.lines["questions"]
        run = t.state.in_role("meaning")
        question = (questions[run] if run < len(questions) and questions[run] not in t.said
                    else open_question(t.intake.text, t.parts, t.said))
        return self._composed(t, " ".join(question.split()), (*actions, "meaning_question"))

    def _composed(self, t: _Turn, question: str, actions: tuple[str, ...]) -> PolicyDecision:
        """With a model not known to be capable, the model is not asked in the coach and meaning roles
        (measured: a tiny model told to give one step "agrees" that the person is lazy, or says they are
        "not allowed" to do the task): a reflection composed from authored lines in the person's
        language, then the role's own question."""
        weak = t.model.weak_in(t.intake.language, t.intake.script)
        if not t.parts.can_listen:  # no authored listening lines in this language: the model, two sentences
            return self._generate(t, actions, f"risk {t.risk.level}: the {t.role.name} role's short reply, then its "
                                  "authored question", follow_up=question, max_sentences=MODEL_SENTENCES)
        reflection = listening_reply(t.intake.text, t.parts, said=t.said, question=False, quote=not names_risk(t.risk))
        return self._fixed(f"{reflection} {question}", (*actions, "composed", *(("composed_language",) if weak else ()),
                                                        "model_skipped"),
                           f"risk {t.risk.level}, a model not known to be capable: the {t.role.name} role's question "
                           "after a reflection composed from authored lines", t.notes, t.base)

    def _info(self, t: _Turn, actions: tuple[str, ...]) -> PolicyDecision:
        """General explanations with honest uncertainty; never a diagnosis of a person."""
        text = t.intake.text
        term = find_term(text) if t.intake.language in ("en", "und") else None
        asks_diagnosis = first_match(patterns()["requests"]["diagnosis"], [text]) is not None
        parts: list[str] = []
        if asks_diagnosis:
            parts.append(t.words.line("no_diagnosis", term=term.label) if term else t.words.line("no_diagnosis_general"))
            actions = (*actions, "no_diagnosis")
        if t.model.capable:
            prompt = t.base["system_prompt"]
            if term:
                prompt += f" A checked explanation to keep to: {term.text}"
            if parts:
                return self._generate(t, actions, "asked for a diagnosis of a person: a fixed line says who can "
                                      "assess, then the model explains in general", prompt=prompt, follow_up=parts[0])
            return self._generate(t, actions, f"risk {t.risk.level}: the info role explains in general",
                                  prompt=prompt)
        if term:
            parts += [term.text, t.words.line("source", source=term.source)]
            actions = (*actions, "explained_term")
        elif not parts:
            parts.append(t.words.line("unknown_term"))
        elif not asks_diagnosis:
            parts.append(t.words.line("ask_term"))
        return self._fixed(" ".join(parts), (*actions, "composed", "model_skipped"),
                           "the info role with a model not known to be capable: "
                           + ("a checked explanation of the term, with its source" if term
                              else "no checked explanation of this here, so none is guessed"), t.notes, t.base)

    def _rehearsal(self, t: _Turn, actions: tuple[str, ...], sensitive: str | None) -> PolicyDecision:
        """Set the scene (a safety check first when the person was hurt by whom they describe), play the
        character, and after /step-out a debrief of three questions, one per turn (design/roles.md)."""
        text, words, phase = " ".join(t.intake.text.split()), t.words, t.state.rehearsal.phase
        stepping_out = _steps_out(text)
        if phase == "playing" and stepping_out and t.state.rehearsal.played:
            return self._fixed(words.line("went_well"), (*actions, "debrief_went_well", "composed", "model_skipped"),
                               "the person stepped out of the scene: the debrief begins", t.notes, t.base)
        if stepping_out:
            return self._fixed(words.line("stopped"), (*actions, "rehearsal_stopped", "composed", "model_skipped"),
                               "the person stepped out before a line was played", t.notes, t.base)
        if phase in DEBRIEF:
            key, action = DEBRIEF[phase]
            return self._fixed(words.line(key), (*actions, action, "composed", "model_skipped"),
                               f"the debrief goes on ({key.replace('_', ' ')})", t.notes, t.base)
        if phase == "confirm" and not is_new_scene(text):
            if _goes_on(text, words):
                return self._fixed(words.line("ready"), (*actions, "rehearsal_ready", "composed", "model_skipped"),
                                   "the person said to go on: the scene begins", t.notes, t.base)
            return self._fixed(words.line("not_yet"), (*actions, "rehearsal_not_yet", "composed", "model_skipped"),
                               "the person did not say to go on: the scene waits", t.notes, t.base)
        if phase in ("scene", "confirm"):
            if sensitive == "abuse" or "abuse" in t.risk.categories or first_match(
                    patterns()["rehearsal"]["harmed_me"], [text]):
                return self._fixed(words.line("safety_check"),
                                   (*actions, "rehearsal_scene", "rehearsal_safety_check", "asked_about_safety",
                                    "composed", "model_skipped"),
                                   "the person describes someone who hurt them: a safety check before playing them",
                                   t.notes, t.base)
            return self._fixed(words.line("ready"), (*actions, "rehearsal_scene", "rehearsal_ready", "composed",
                                                      "model_skipped"),
                               "the person described whom to play: the scene is set", t.notes, t.base)
        scene = t.state.rehearsal.scene_text[:SCENE_CHARS]
        prompt = self._prompt(t.role, t.intake.language, t.risk, t.base["constraints"],
                              t.role.prompt.replace("{scene}", scene))
        return self._generate(t, (*actions, "in_character"), "the rehearsal: typingcure speaks as the character "
                              "the person described (every safety check still applies)", prompt=prompt,
                              max_sentences=t.role.rules.max_sentences)

    @staticmethod
    def _fixed(reply: str, actions: tuple[str, ...], why: str, notes: list[str], base: dict) -> PolicyDecision:  # type: ignore[type-arg]
        return PolicyDecision(verdict="fixed_reply", fixed_reply=" ".join(reply.split()), actions=actions,
                              notes=tuple(notes), explanation=why, **base)

    @staticmethod
    def _emergency(card: tuple[Resource, ...], text: dict[str, str]) -> str:
        numbers = [r.phone for r in card if r.type == "emergency" and r.phone]
        return numbers[0] if numbers else text["emergency_unknown"]

    def _line(
        self, card: tuple[Resource, ...], country: str | None, asked_country: bool, text: dict[str, str], now: datetime,
    ) -> tuple[str, list[str], tuple[str, ...]]:
        """The sentence naming a line, notes for the person, and actions (asked_country).

        Where typingcure has no checked national line for the person's country, a note in their
        language says so, with what else can help there (it is on every turn with a card, at every
        level: the moderate reply names no line itself)."""
        from .resources import no_line_sentence

        lines = [r for r in card if r.type != "emergency"]
        if not lines:
            return "", [], ()
        directories = care_card(FALLBACK)
        first = lines[0]
        if first in directories:
            if country:
                gap = no_line_sentence(country, text, card)
                return (text["line_directory_country"].format(name=first.name, contact=_contact(first)),
                        [gap] if gap else [], ())
            if asked_country:
                return "", [text["note_set_country"]], ()
            note = text["note_no_country"]
            return text["line_directory"].format(name=first.name, contact=_contact(first)), [note], ("asked_country",)
        if open_now(first, now) is False:
            sentence = text["line_closed"].format(name=first.name, open=first.open,
                                                  emergency=self._emergency(card, text))
            return sentence, [text["note_line_closed"].format(name=first.name, open=first.open)], ()
        return text["line"].format(name=first.name, contact=_contact(first), hours=first.hours), [], ()

    @staticmethod
    def _constraints(risk: RiskAssessment, state: ConversationState) -> tuple[str, ...]:
        found = set(state.constraints)
        if "eating_disorder" in risk.categories:
            found.add("no_diet_numbers")
        if "psychosis_mania" in risk.categories:
            found.add("no_collusion")
        return tuple(sorted(found))

    @staticmethod
    def _prompt(role: Role, language: str, risk: RiskAssessment, constraints: tuple[str, ...],
                prompt: str | None = None, *, profile: Profile | None = None) -> str:
        parts = [prompt or role.prompt] if (prompt or role.prompt) else []  # the proxy's role has no prompt of its own
        if profile is not None and (chosen := profile_frame(profile)):
            parts.append(chosen)  # what the person chose: their coping, what to avoid, their register
        if language not in ("en", "und") and language in LANGUAGE_NAMES:
            parts.append(f"Reply in {LANGUAGE_NAMES[language]}.")
        if at_least(risk.level, "low"):
            parts.append(CAREFUL_FRAME)
        parts += [CONSTRAINT_PROMPTS[c] for c in constraints]
        return " ".join(parts)


@register("policy", "care")
def care_policy() -> CarePolicy:
    """Crisis protocol by level and category, care cards, journal silence."""
    return CarePolicy()
