"""One turn, start to finish: `run_turn()` shows every stage in order.

    session = Session(profile=Profile(country="KE"), role="listener")
    parts = build_parts("local")
    turn = run_turn(session, "I can't sleep and everything feels heavy", parts, on_release=print)
    turn.reply, turn.risk.level, turn.decision.resources

intake -> assess -> decide -> generate -> check -> deliver -> record. The model's text is split
into sentences and each passes the guards before `on_release` sees it, so streaming never shows
unchecked text. When a safety stage fails, the turn takes the more careful path and says so
(design/foundation.md, "Fail safe").
"""

from __future__ import annotations

import queue
import re
import threading
import time
import unicodedata
import zlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from collections.abc import Callable, Iterable, Iterator, Sequence

from .backends import Backend, GenerateOptions, backend_from_spec, conform
from .composition import TurnSpec, build, turn_spec
from .config import Settings
from .culture.language import OWN_NAMES, detect, script_letters
from .errors import BackendError, InputError
from .culture.profile import Screened, screen
from .exercises import Card, ExerciseRun, advance
from .personas import Persona, system_prompt as persona_prompt
from .roles import load_role, rehearsal_actions
from .safety.assess import Assessor
from .safety.check import CheckContext, Guard, check_sentence
from .safety.compose import compose_parts, cue, echo_line, listening_reply, names_risk
from .safety.guards import uses_their_words
from .safety.decide import ModelTraits, Policy
from .safety.plan import SafetyPlan
from .redact import Redactor
from .safety.replies import asked_in, replies
from .state import ConversationState, Rehearsal
from ._text import is_blank
from .types import (
    CheckResult,
    IntakeResult,
    Message,
    PolicyDecision,
    Profile,
    RiskAssessment,
    StageName,
    StageRecord,
    TurnResult,
    at_least,
    level_rank,
)

Release = Callable[[str], None]
Decided = Callable[[RiskAssessment, PolicyDecision], None]
HISTORY_MESSAGES = 8
HISTORY_CHARS = 6000
LONGEST_SENTENCE = 400


@dataclass
class Session:
    """One conversation: what the person chose, and the turns so far (kept in memory)."""

    profile: Profile = field(default_factory=Profile)
    role: str = "listener"
    messages: list[Message] = field(default_factory=list)
    turns: list[TurnResult] = field(default_factory=list)
    plan: SafetyPlan | None = None
    redactor: Redactor = field(default_factory=Redactor)  # stable placeholders for a remote model
    persona: Persona | None = None  # the person's own persona, in use (typingcure.personas)
    exercise: ExerciseRun | None = None  # an exercise under way or paused (typingcure.exercises)
    cards: list[Card] = field(default_factory=list)  # exercise cards made in this session, for the caller to keep
    profile_read: dict[str, RiskAssessment] = field(default_factory=dict, repr=False)  # profile texts, assessed
    profile_heard: set[str] = field(default_factory=set, repr=False)  # profile texts already answered as risk

    @property
    def state(self) -> ConversationState:
        """What earlier turns did that later ones depend on (typingcure.state). A conversation given
        as messages only (`reply --json`) kept no turns: a rehearsal is read from typingcure's lines."""
        exercise = self.exercise if self.exercise is not None and self.exercise.active else None
        if self.turns or not self.messages:
            return replace(ConversationState.of_turns(self.turns), exercise=exercise)
        pairs, person = [], None
        for m in self.messages:
            if m.role == "user":
                person = m.content
            elif m.role == "assistant" and person is not None:
                pairs.append((person, m.content))
                person = None
        state = replace(ConversationState.of_actions([asked_in(reply) for _, reply in pairs]), exercise=exercise)
        if self.role != "rehearsal":
            return state
        run = rehearsal_actions(pairs)
        return replace(state, roles=("rehearsal",) * len(run), rehearsal=Rehearsal.of(run))

    def user_texts(self) -> list[str]:
        return [m.content for m in self.messages if m.role == "user"]

    def history(self) -> list[dict[str, str]]:
        """The conversation for the assessor: the person's messages and typingcure's replies, so
        that an answer to typingcure's own question is read as one."""
        return [m.as_dict() for m in self.messages if m.role in ("user", "assistant")]


class Recorder:
    """Where finished turns are kept beyond the session. This one keeps nothing on disk: the turn
    lives in the session's memory only (the encrypted store's recorder is store.StoreRecorder)."""

    spec = "session memory"

    def record(self, session: Session, turn: TurnResult) -> None:
        return None


@dataclass
class Parts:
    backend: Backend
    assessor: Assessor
    policy: Policy
    guards: tuple[Guard, ...]
    recorder: Recorder = field(default_factory=Recorder)
    options: GenerateOptions = field(default_factory=GenerateOptions)
    max_message_chars: int = 16_000
    clock: Callable[[], datetime] = datetime.now  # local time, for opening hours
    model: ModelTraits | None = None  # None: from the backend (its `capable` and `languages`)
    reply_seconds: float = 20.0  # the model's reply ends at the last whole sentence after this
    # What the model is shown of the conversation: "whole" (both sides), or "person_only" (the
    # person's messages: a small model then cannot copy its own earlier replies). None: the person's
    # only for a model not known to be capable, both sides for one that is (design/replies.md).
    model_history: str | None = None
    composition: TurnSpec | None = None  # the spec the assessor, policy and guards were built from (/why)
    # The model's line breaks and indentation kept in what is released (the proxy: a chatbot's lists
    # and code); off, each sentence is released trimmed, followed by one space.
    keep_layout: bool = False
    # Did the model answer in another way than text (the proxy: the upstream's tool calls)? Then a
    # reply with no text is what it meant, and no authored reply takes its place.
    answered: Callable[[], bool] | None = None

    def traits(self) -> ModelTraits:
        if self.model is not None:
            return self.model
        return ModelTraits(capable=bool(self.backend.capable), languages=self.backend.languages)


def build_parts(backend: str | Backend, settings: Settings | None = None) -> Parts:
    settings = settings or Settings()
    backend = backend_from_spec(backend, timeout=settings.timeout) if isinstance(backend, str) else conform(backend)
    second_opinion = backend_from_spec(settings.assessor_model, timeout=settings.timeout) if settings.assessor_model else None
    spec = turn_spec(settings.turn)
    assessor, policy, guards = build(spec, model=second_opinion)
    return Parts(
        backend=backend,
        assessor=assessor,
        policy=policy,
        guards=guards,
        composition=spec,
        options=GenerateOptions(max_tokens=settings.max_tokens, temperature=settings.temperature),
        max_message_chars=settings.max_message_chars,
        reply_seconds=settings.reply_seconds,
        model=None if settings.capable is None else ModelTraits(capable=settings.capable,
                                                                 languages=backend.languages),
    )


class _Clock:
    def __init__(self) -> None:
        self.stages: list[StageRecord] = []
        self._last = time.perf_counter()

    def done(self, stage: StageName, verdict: str, explanation: str, ms: float | None = None) -> None:
        now = time.perf_counter()
        spent = (now - self._last) * 1000 if ms is None else ms
        self.stages.append(StageRecord(stage=stage, verdict=verdict, explanation=explanation, ms=round(spent, 3)))
        self._last = now

    def since_last(self) -> float:
        return (time.perf_counter() - self._last) * 1000


def run_turn(session: Session, text: str, parts: Parts, *, on_release: Release | None = None,
             on_decided: Decided | None = None) -> TurnResult:
    """`on_release` sees each checked piece of the reply as it is released; `on_decided` the risk and
    the decision, once they are known and before the model is asked (the proxy sends its headers then)."""
    release = on_release or (lambda _text: None)
    clock = _Clock()

    load_role(session.role)  # an unknown role is bad input, like bad text: it raises, nothing is recorded
    previous = session.turns[-1].intake.language if session.turns else None
    intake = intake_text(text, session.profile, parts.max_message_chars, previous=previous)
    if parts.backend.remote:
        intake = _redact(intake, session.redactor)
    clock.done("intake", intake.verdict, intake.explanation)

    risk, screened = assess_turn(parts.assessor, intake, session)
    clock.done("assess", risk.level, risk.explanation)

    decision = _with_persona(session, _decide(parts.policy, intake, risk, session, parts.clock(), parts.traits(),
                                              screened.profile))
    clock.done("decide", decision.verdict, decision.explanation)
    if on_decided is not None:
        on_decided(risk, decision)

    ctx = _check_context(session, intake, risk, decision)
    sentences, regenerate, generate_note = _generate(session, intake, decision, parts)
    limit = (decision.max_sentences or ctx.role.rules.max_sentences) if decision.verdict == "generate" else None  # fixed replies are whole
    one_question = decision.follow_up_asks
    released, checks, check_ms = _check_and_release(sentences, parts.guards, ctx, release, limit, regenerate,
                                                    one_question=one_question, seconds=parts.reply_seconds,
                                                    look_at=decision.max_sentences, keep_layout=parts.keep_layout)
    if decision.verdict == "generate" and not released and not (parts.answered and parts.answered()):
        released, checks = _authored_instead(session, intake, decision, ctx, checks, release)
    elif "authored_question" in decision.actions:
        released, checks = _reflect_if_missed(session, intake, ctx, released, checks, release, parts.guards)
    clock.done("generate", generate_note.verdict, generate_note.explanation, ms=clock.since_last() - check_ms)
    clock.done("check", _check_verdict(checks), _check_explanation(checks), ms=check_ms)

    turn = _deliver(session, intake, risk, decision, released, checks, generate_note, clock, parts, release)
    clock.done("deliver", "delivered" if turn.reply else "silent", f"{len(turn.reply)} characters released")

    return _record(session, turn.model_copy(update={"stages": tuple(clock.stages)}), clock, parts.recorder)


# -- intake ---------------------------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def intake_text(text: str, profile: Profile, max_chars: int = 16_000, previous: str | None = None) -> IntakeResult:
    """Normalise the message and settle its language; raise InputError for unusable input."""
    if not isinstance(text, str):
        raise InputError("the message must be text")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("the message is not valid UTF-8 text") from None
    cleaned = _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()
    if not cleaned or is_blank(cleaned):  # only zero-width or other invisible characters: nothing was said
        raise InputError("the message is empty: type something, even a single word")
    if len(cleaned) > max_chars:
        raise InputError(f"the message is too long ({len(cleaned):,} characters; the limit is {max_chars:,}); try sending it in parts")
    found = detect(cleaned)
    if found.language != "und" and (found.confidence >= 0.5 or (not profile.language and not previous and found.confidence >= 0.3)):
        language, source = found.language, "detected"
    elif previous and previous != "und":
        # A short or unclear message ("dosen pembimbing susah banget ditemuin" read as English) keeps
        # the language the conversation is in; a confident detection still follows a switch.
        language, source = previous, "conversation"
    elif profile.language:
        language, source = profile.language, "profile"
    else:
        language, source = "en", "default"
    changed = cleaned != text
    return IntakeResult(
        verdict="normalised" if changed else "accepted",
        text=cleaned,
        language=language,
        language_source=source,  # type: ignore[arg-type]
        script=found.script if found.script != "und" else "latin",
        explanation=f"language {language} ({source})" + ("; whitespace or control characters removed" if changed else ""),
    )


def _redact(intake: IntakeResult, redactor: Redactor) -> IntakeResult:
    """Before text leaves the machine: personal data replaced by placeholders (design/privacy.md)."""
    model_text, found = redactor.redact(intake.text)
    why = f"; {len(found)} personal detail(s) replaced before sending to the remote model: {', '.join(found)}" if found else \
        "; nothing personal found to replace before sending to the remote model"
    return intake.model_copy(update={"model_text": model_text, "redactions": tuple(found),
                                     "explanation": intake.explanation + why})


# -- assess and decide, failing safe ----------------------------------------------------------


def assess_safely(assessor: Assessor, text: str, session: Session, language: str | None = None) -> RiskAssessment:
    """The assessor, failing safe: for text outside a turn (a safety-plan answer, the plan form)."""
    return _assess_text(assessor, text, session, language or session.profile.language or detect(text).language)


def assess_turn(assessor: Assessor, intake: IntakeResult, session: Session) -> tuple[RiskAssessment, Screened]:
    """The turn's risk, failing safe: the message in its conversation, and what the person wrote in
    their profile (a profile text that reads as risk is heard once). The proxy asks this first, to
    relay a message at no risk untouched."""
    risk = _assess(assessor, intake, session)
    screened = _screen_profile(assessor, session, intake.language)
    return _with_profile_risk(risk, screened, session), screened


def _assess(assessor: Assessor, intake: IntakeResult, session: Session) -> RiskAssessment:
    return _assess_text(assessor, intake.text, session, intake.language)


def _assess_text(assessor: Assessor, text: str, session: Session, language: str) -> RiskAssessment:
    try:
        return assessor.assess(text, history=session.history(), language=language)
    except Exception as exc:
        return RiskAssessment(
            level="moderate", categories=(), score=0.5, assessor=getattr(assessor, "spec", "?"), failed=True,
            explanation=f"the assessor failed ({type(exc).__name__}); treated as moderate risk to be careful",
        )


def _screen_profile(assessor: Assessor, session: Session, language: str) -> Screened:
    """What the person wrote into their profile, read for risk (once per text in a session)."""
    def assess(text: str) -> RiskAssessment:
        if text not in session.profile_read:
            session.profile_read[text] = _assess_text(assessor, text, Session(), language)
        return session.profile_read[text]

    return screen(session.profile, assess)


def _with_profile_risk(risk: RiskAssessment, screened: Screened, session: Session) -> RiskAssessment:
    """A profile text that reads as risk ("identity: I'm going to end it tonight", "coping: hurting
    myself") is heard once, with the crisis protocol, as if the person had said it; it is never
    offered back (design/culture.md)."""
    for text, found in screened.risky:
        if text in session.profile_heard:
            continue
        session.profile_heard.add(text)
        if level_rank(found.level) > level_rank(risk.level):
            risk = found.model_copy(update={"explanation": f"in the profile (“{text[:60]}”): {found.explanation}"})
    return risk


def _decide(policy: Policy, intake: IntakeResult, risk: RiskAssessment, session: Session, now: datetime,
            model: ModelTraits, profile: Profile | None = None) -> PolicyDecision:
    try:
        return policy.decide(intake, risk, role=session.role, profile=profile or session.profile,
                             previous=[t.decision for t in session.turns], now=now, model=model,
                             said=[m.content for m in session.messages if m.role == "assistant"], state=session.state)
    except Exception as exc:
        if session.role != "listener":
            session.role = "listener"
        text = replies(intake.language, intake.script)
        return PolicyDecision(
            verdict="fixed_reply", role="listener", system_prompt="", fixed_reply=text["fallback"],
            actions=("model_skipped",), policy=getattr(policy, "spec", "?"),
            notes=(text["note_policy_failed"],),
            explanation=f"the policy failed ({type(exc).__name__}); a careful fixed reply instead",
        )


def _with_persona(session: Session, decision: PolicyDecision) -> PolicyDecision:
    """The person's persona in the model's instructions (not for a rehearsal's character)."""
    if session.persona is None or decision.verdict != "generate" or "in_character" in decision.actions:
        return decision
    prompt = persona_prompt(session.persona, decision.system_prompt, load_role(decision.role).prompt)
    return decision.model_copy(update={"system_prompt": prompt})


# -- generate and check, sentence by sentence ---------------------------------------------------


def _check_context(session: Session, intake: IntakeResult, risk: RiskAssessment, decision: PolicyDecision) -> CheckContext:
    """What the guards need to know: the situation's cues, what was said, the prompt, the scripts."""
    users = [*session.user_texts(), intake.text]
    parts = compose_parts(intake.language, intake.script)
    cues = {name for name in ("mania", "psychosis") if cue(parts, name, users[-6:])}
    if "no_diet_numbers" in decision.constraints or "eating_disorder" in risk.categories:
        cues.add("ed")
    if "no_collusion" in decision.constraints:
        cues |= {"mania", "psychosis"}
    said = [s.strip() for m in session.messages if m.role == "assistant" for s in split_sentences([m.content])]
    scripts = frozenset(k for text in users for k, v in script_letters(text).items() if v and k != "other")
    prompt = decision.system_prompt
    if decision.verdict != "generate":  # authored replies are checked for safety, not for shape
        said, scripts, prompt = [], frozenset(), ""
    return CheckContext(risk=risk, role=load_role(decision.role), replies=replies(intake.language, intake.script),
                        constraints=decision.constraints, user_text=intake.text, cues=frozenset(cues), said=said,
                        prompt=prompt, scripts=scripts, language=intake.language,
                        strict="authored_question" in decision.actions, earlier_user=tuple(users[:-1]),
                        relaxed=load_role(decision.role).in_character_relaxes if "in_character" in decision.actions
                        else frozenset(),
                        avoid=session.profile.avoid if decision.verdict == "generate" else ())



@dataclass(frozen=True)
class _Note:
    verdict: str
    explanation: str


def _model_messages(session: Session, intake: IntakeResult, decision: PolicyDecision,
                    shown: str = "whole") -> list[Message]:
    history: list[Message] = []
    budget = HISTORY_CHARS
    recent = session.messages[-HISTORY_MESSAGES:]
    if shown == "person_only":
        recent = [m for m in recent if m.role == "user"]
    for message in reversed(recent):
        budget -= len(message.content)
        if budget < 0:
            break
        history.insert(0, message)
    if intake.model_text is not None:  # a remote model: the history leaves redacted too
        history = [Message(m.role, session.redactor.redact(m.content)[0]) for m in history]
        return [Message("system", decision.system_prompt), *history, Message("user", intake.model_text)]
    return [Message("system", decision.system_prompt), *history, Message("user", intake.text)]


Regenerate = Callable[[str, str], Iterator[str]]


def _generate(
    session: Session, intake: IntakeResult, decision: PolicyDecision, parts: Parts
) -> tuple[Iterator[str], Regenerate | None, _Note]:
    """The sentences to check, and how to ask the model again with a rule stated (None: no model)."""
    if decision.verdict == "silent":
        return iter(()), None, _Note("skipped", "the role stays silent this turn")
    if decision.verdict == "fixed_reply":
        sentences = iter(split_sentences([decision.fixed_reply or ""]))
        return sentences, None, _Note("skipped", "fixed reply; the model was not asked")
    shown = parts.model_history or ("whole" if parts.traits().capable else "person_only")
    messages = _model_messages(session, intake, decision, shown)

    def regenerate(rule: str, said: str) -> Iterator[str]:
        again = [*messages, *([Message("assistant", said.strip())] if said.strip() else []),
                 Message("system", f"Rule: {rule} {'Continue your reply' if said.strip() else 'Write your reply again'} "
                                   "following this rule, without repeating yourself.")]
        return _Timed(lambda stop: _restored(split_sentences(_until(parts.backend.generate(again, parts.options), stop)),
                                             session, intake))

    sentences = _Timed(lambda stop: _restored(split_sentences(_until(parts.backend.generate(messages, parts.options), stop)),
                                              session, intake))
    return sentences, regenerate, _Note("generated", f"model {parts.backend.spec}")


def _until(tokens: Iterable[str], stop: threading.Event) -> Iterator[str]:
    """The model's tokens until `stop` is set (the time limit passed, or the reply was cut short)."""
    for token in tokens:
        if stop.is_set():
            break
        yield token
    close = getattr(tokens, "close", None)
    if close:
        close()


class _Timed:
    """The model's sentences, made in a thread so that waiting for the next one can end at a time
    limit: a model that stalls, or is still writing when time is up, ends the reply at the last
    whole sentence (the part-written one is never shown). Errors from the model arrive as raised."""

    _DONE = object()

    def __init__(self, make: Callable[[threading.Event], Iterator[str]]) -> None:
        self._make = make
        self._stop = threading.Event()
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.deadline: float | None = None
        self.timed_out = False

    def _pump(self) -> None:
        try:
            for sentence in self._make(self._stop):
                if self._stop.is_set():
                    break
                self._queue.put(sentence)
        except BaseException as exc:
            self._queue.put(exc)
        finally:
            self._queue.put(self._DONE)

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._thread is None:
            self._thread = threading.Thread(target=self._pump, name="typingcure-generate", daemon=True)
            self._thread.start()
        if self._stop.is_set():
            raise StopIteration
        left = None if self.deadline is None else self.deadline - time.monotonic()
        try:
            item = self._queue.get(timeout=max(left, 0.0) if left is not None else None)
        except queue.Empty:
            self.timed_out = True
            self.close()
            raise StopIteration from None
        if item is self._DONE:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item  # type: ignore[return-value]

    def close(self) -> None:
        self._stop.set()


def _restored(sentences: Iterator[str], session: Session, intake: IntakeResult) -> Iterator[str]:
    """Placeholders a remote model wrote back are turned into the real names before checking."""
    if intake.model_text is None:
        return sentences
    return (session.redactor.restore(s) for s in sentences)


QUESTION_MARKS = ("?", "？", "؟")
# Checks that shape a reply rather than keep it safe: no "a safety check changed this" note for them.
SHAPING = ("role_length", "one_question", "repetition", "prompt_echo", "wrong_script", "time_limit", "authored",
           "listening_fit", "reflection")


def unquoted(sentence: str) -> str:
    """A small model often wraps its whole reply in quotation marks: a mark that opens the reply's
    first sentence or closes its last, with no partner in the sentence, is dropped."""
    text = sentence.strip()
    tail = sentence[len(sentence.rstrip()):]
    for opening, closing in (('"', '"'), ("“", "”"), ("«", "»"), ("„", "“")):
        pair = opening == closing
        unbalanced = (text.count(opening) % 2 == 1) if pair else (text.count(opening) != text.count(closing))
        if not unbalanced:
            continue
        if text.startswith(opening) and (pair or text.count(opening) > text.count(closing)):
            text = text[len(opening):].lstrip()
        elif text.endswith(closing) and (pair or text.count(closing) > text.count(opening)):
            text = text[: -len(closing)].rstrip()
    return text + tail if text else ""


def split_sentences(chunks: Iterable[str]) -> Iterator[str]:
    """Join streamed chunks and yield whole sentences (with their trailing space)."""
    buffer = ""
    boundary = re.compile(r"(?<=[.!?…。！？])[\"')\]]*\s+|\n+")
    for chunk in chunks:
        buffer += chunk
        while True:
            m = boundary.search(buffer)
            if m is None:
                if len(buffer) > LONGEST_SENTENCE:
                    cut = buffer.rfind(" ", 0, LONGEST_SENTENCE) + 1 or LONGEST_SENTENCE
                    yield buffer[:cut]
                    buffer = buffer[cut:]
                    continue
                break
            yield buffer[: m.end()]
            buffer = buffer[m.end():]
    if buffer.strip():
        yield buffer


def _check_and_release(
    sentences: Iterator[str], guards: Sequence[Guard], ctx: CheckContext, release: Release, limit: int | None,
    regenerate: Regenerate | None = None, *, one_question: bool = False, seconds: float | None = None,
    look_at: int | None = None, keep_layout: bool = False,
) -> tuple[list[str], list[CheckResult], float]:
    """Release each sentence once the guards pass it; ask the model again once when a guard names a
    rule, and replace if the rule is broken twice. With `one_question` (a fixed question follows),
    questions are held back so the person is asked one thing at a time.
    After `seconds` the model's reply ends at the last whole sentence (asking again included); with
    `look_at`, no more than that many of the model's sentences are read (kept or dropped).
    Returns (released, non-pass checks, ms in guards)."""
    out = _Releaser(guards, ctx, release, limit, one_question, look_at, keep_layout)
    deadline = None if seconds is None else time.monotonic() + seconds
    current, asked_again = sentences, False
    try:
        while True:
            if isinstance(current, _Timed):
                current.deadline = deadline
            rule = out.read(current, may_ask_again=not asked_again and regenerate is not None)
            if isinstance(current, _Timed) and current.timed_out:
                out.checks.append(CheckResult(guard="time_limit", verdict="repair", original="", released="",
                                              explanation=f"the model was still writing after {seconds:g} s, so the "
                                              "reply ends at the last whole sentence"))
                break
            if rule is None or regenerate is None:
                break
            asked_again = True
            _close(current)
            current = regenerate(rule, "".join(out.released))
    except BackendError as exc:
        if not out.released and not at_least(ctx.risk.level, "moderate"):
            raise
        out.checks.append(CheckResult(guard="generate", verdict="replace", original="", released=ctx.replies["backend_failed"],
                                      explanation=f"the model failed mid-reply ({exc.message})"))
        out.emit(ctx.replies["backend_failed"])
    finally:
        _close(current)
    return out.released, out.checks, out.guard_ms


@dataclass
class _Releaser:
    """What one reply has released so far, and the checks that did not pass."""

    guards: Sequence[Guard]
    ctx: CheckContext
    release: Release
    limit: int | None
    one_question: bool
    look_at: int | None
    keep_layout: bool = False
    released: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    guard_ms: float = 0.0
    seen: int = 0  # the model's sentences read, kept or dropped

    def read(self, sentences: Iterator[str], *, may_ask_again: bool) -> str | None:
        """Check and release sentences until the reply ends; a rule to ask the model again with, or None."""
        for sentence in sentences:
            if not self.keep_layout:
                sentence = unquoted(sentence)
            if not sentence.strip():
                continue
            self.seen += 1
            if self.look_at is not None and self.seen > self.look_at:
                return None
            if self.limit is not None and len(self.released) >= self.limit:
                self.checks.append(CheckResult(guard="role_length", verdict="repair", original=sentence, released="",
                                               explanation=f"the {self.ctx.role.name} role keeps replies to "
                                               f"{self.limit} sentences; the rest was not shown"))
                return None
            results, text, action = self._checked(sentence)
            if action == "regenerate":
                if may_ask_again:
                    return results[-1].constraint
                self.checks.append(CheckResult(guard=results[-1].guard, verdict="replace", original=sentence,
                                               released=self.ctx.replies["fallback"],
                                               explanation="the rule was broken again after asking; replaced"))
                self.emit(self.ctx.replies["fallback"])
                return None
            if self.keep_layout and text == sentence.strip():  # passed as written: its line breaks and indentation too
                self.emit(sentence, as_written=True)
            else:
                self.emit(text)
            if action == "stop":
                return None
        return None

    def _checked(self, sentence: str) -> tuple[list[CheckResult], str, str]:
        started = time.perf_counter()
        try:
            results, text, action = check_sentence(sentence.strip(), self.guards, self.ctx)
        except Exception as exc:
            results = [CheckResult(guard="check", verdict="replace", original=sentence,
                                   released=self.ctx.replies["fallback"],
                                   explanation=f"a guard failed ({type(exc).__name__}); replaced to be careful")]
            text, action = self.ctx.replies["fallback"], "stop"
        self.guard_ms += (time.perf_counter() - started) * 1000
        self.checks.extend(results)
        return results, text, action

    def emit(self, text: str, *, as_written: bool = False) -> None:
        """Release `text`; a repair repeated twice running is said once. `as_written`: the model's own
        sentence with its layout (a line of code may well repeat the one before it)."""
        if self.one_question:
            kept = [part for part in split_sentences([text]) if not part.rstrip().endswith(QUESTION_MARKS)]
            if "".join(kept).strip() != text.strip():
                self.checks.append(CheckResult(guard="one_question", verdict="repair", original=text,
                                               released="".join(kept).strip(),
                                               explanation="a question from typingcure follows, so this question was "
                                               "held back: one question at a time"))
            text = "".join(kept).strip()
        if text.strip() and (as_written or not self.released or self.released[-1].strip() != text.strip()):
            piece = text + ("" if as_written or text.endswith((" ", "\n")) else " ")
            self.released.append(piece)
            self.ctx.said.append(text.strip())  # a sentence is said once per conversation, this reply included
            self.ctx.reply.append(text.strip())
            self.release(piece)


def _authored_instead(
    session: Session, intake: IntakeResult, decision: PolicyDecision, ctx: CheckContext, checks: list[CheckResult],
    release: Release,
) -> tuple[list[str], list[CheckResult]]:
    """Nothing the model wrote could be shown (it stalled, was too slow, or every sentence was dropped):
    an authored listening reply in the person's language takes its place, and /why says so."""
    parts = compose_parts(intake.language, intake.script)
    said = [m.content for m in session.messages if m.role == "assistant"]
    text = (listening_reply(intake.text, parts, said=said, question=not decision.follow_up,
                            quote=not at_least(ctx.risk.level, "moderate") and not names_risk(ctx.risk))
            if parts.can_listen else ctx.replies["backend_failed"])
    why = ("the model wrote nothing that could be shown in time" if any(c.guard == "time_limit" for c in checks)
           else "nothing the model wrote could be shown")
    checks = [*checks, CheckResult(guard="authored", verdict="replace", original="", released=text,
                                   explanation=f"{why}; an authored reply in the person's language instead")]
    piece = text + " "
    release(piece)
    return [piece], checks


def _reflect_if_missed(
    session: Session, intake: IntakeResult, ctx: CheckContext, released: list[str], checks: list[CheckResult],
    release: Release, guards: Sequence[Guard],
) -> tuple[list[str], list[CheckResult]]:
    """With a model not known to be capable, before the authored question: when none of the person's
    words came back in what the model wrote, a reflection in their own words (a short phrase of
    theirs, quoted) goes before the question."""
    if at_least(ctx.risk.level, "moderate") or names_risk(ctx.risk) or uses_their_words("".join(released), intake.text):
        return released, checks  # words that name a risk are never said back
    parts = compose_parts(intake.language, intake.script)
    said = [m.content for m in session.messages if m.role == "assistant"] + [r.strip() for r in released]
    echo = echo_line(intake.text, parts, said, zlib.crc32(intake.text.encode("utf-8")))
    if not echo or any(r.verdict != "pass" for r in check_sentence(echo, guards, ctx)[0]):
        return released, checks  # a quote the guards would change is not said at all
    ctx.said.append(echo)
    release(echo + " ")
    return [*released, echo + " "], [*checks, CheckResult(
        guard="reflection", verdict="repair", original="", released=echo,
        explanation="nothing the model wrote used the person's words; a reflection in their own words follows")]


def _close(sentences: Iterator[str]) -> None:
    close = getattr(sentences, "close", None)
    if close:
        close()


def _check_verdict(checks: Sequence[CheckResult]) -> str:
    verdicts = {c.verdict for c in checks}
    return "replaced" if "replace" in verdicts else "repaired" if "repair" in verdicts else "pass"


def _check_explanation(checks: Sequence[CheckResult]) -> str:
    if not checks:
        return "every sentence passed every guard"
    return "; ".join(f"{c.guard}: {c.explanation}" for c in checks)


# -- deliver and record --------------------------------------------------------------------------


def _deliver(
    session: Session, intake: IntakeResult, risk: RiskAssessment, decision: PolicyDecision, released: list[str],
    checks: list[CheckResult], generate_note: _Note, clock: _Clock, parts: Parts, release: Release,
) -> TurnResult:
    pieces = list(released)
    if decision.follow_up:
        follow_up = (" " if pieces and not pieces[-1][-1:].isspace() else "") + decision.follow_up
        pieces.append(follow_up)
        release(follow_up)
    reply = "".join(pieces).strip()
    notes, words = list(decision.notes), replies(intake.language, intake.script)
    actions = list(decision.actions) + [f"guard:{c.guard}:{c.verdict}" for c in checks]
    if any(c.guard not in SHAPING for c in checks):
        notes.append(words["note_safety_check"])
    state = session.state
    if any(c.guard == "authored" for c in checks) and not state.authored_noted:  # said once: /why says it every time
        notes.append(words["note_authored_instead"])
    if risk.failed:
        notes.append(words["note_assessment_failed"])
    strong = parts.backend.languages
    if (generate_note.verdict == "generated" and strong and intake.language not in strong
            and intake.language != "und" and not state.weak_model_noted):
        notes.append(words["note_weak_model"].format(language=OWN_NAMES.get(intake.language, intake.language)))
        actions.append("noted_weak_model")
    return TurnResult(
        user_text=intake.text, reply=reply, intake=intake, risk=risk, decision=decision, checks=tuple(checks),
        stages=tuple(clock.stages), backend=parts.backend.spec if generate_note.verdict == "generated" else "none",
        notes=tuple(notes), actions=tuple(actions),
        composition=parts.composition.summary() if parts.composition else "",
    )


def _record(session: Session, turn: TurnResult, clock: _Clock, recorder: Recorder) -> TurnResult:
    """Keep the turn in the session and hand it (with every stage up to delivery) to the recorder."""
    session.messages.append(Message("user", turn.user_text))
    if turn.reply:
        session.messages.append(Message("assistant", turn.reply))
    notes = turn.notes
    try:
        recorder.record(session, turn)
        clock.done("record", "recorded", f"kept by {recorder.spec}")
    except Exception as exc:
        clock.done("record", "failed", f"{recorder.spec} failed ({type(exc).__name__})")
        notes = (*notes, replies(turn.intake.language, turn.intake.script)["note_not_saved"])
    final = turn.model_copy(update={"stages": tuple(clock.stages), "notes": notes})
    session.turns.append(final)
    if any(a in final.actions for a in ("rehearsal_done", "rehearsal_stopped")):
        session.role = "listener"  # the scene is over: typingcure listens as itself (design/roles.md)
    if session.exercise is not None:  # the answer is kept for the card; the next step comes next turn
        session.exercise, card = advance(session.exercise, session.redactor.restore(final.user_text), final.actions)
        if card is not None:
            session.cards.append(card)
    return final
