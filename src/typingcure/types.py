"""The typed data that travels through a turn.

Owns: the shapes every stage returns (a verdict from a closed set plus a readable explanation)
and the JSON shapes promised to other tools. Does not own: how any stage decides.

Frozen dataclasses for in-process values; pydantic models for what is validated or stored;
TypedDict for the JSON contract in DESIGN.md.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
import warnings
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._text import their_words

RiskLevel = Literal["none", "low", "moderate", "high", "imminent"]
RISK_LEVELS: tuple[RiskLevel, ...] = ("none", "low", "moderate", "high", "imminent")

RiskCategory = Literal[
    "suicide",
    "self_harm",
    "harm_to_others",
    "eating_disorder",
    "abuse",
    "medical_emergency",
    "psychosis_mania",
]
RISK_CATEGORIES: tuple[RiskCategory, ...] = (
    "suicide",
    "self_harm",
    "harm_to_others",
    "eating_disorder",
    "abuse",
    "medical_emergency",
    "psychosis_mania",
)

StageName = Literal["intake", "assess", "decide", "generate", "check", "deliver", "record"]


def level_rank(level: str) -> int:
    """0 for none … 4 for imminent, so levels can be compared."""
    return RISK_LEVELS.index(level)


def at_least(level: RiskLevel, floor: RiskLevel) -> bool:
    return level_rank(level) >= level_rank(floor)


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")



def _language_code(value: Any) -> str | None:
    if value is None or value == "":
        return None
    code = value.strip().lower() if isinstance(value, str) else ""
    if not (2 <= len(code) <= 8) or not code.replace("-", "").isalpha():
        raise ValueError(f"language must be a code such as 'en' or 'pt-br', not {value!r}")
    return code


warnings.filterwarnings("ignore", message='Field name "register" in "Profile" shadows', category=UserWarning)


class Profile(BaseModel):
    """What the person chose to tell us about themselves. Never inferred. (`register` is the name
    the public contract gives it; on an instance it is the field, as pydantic keeps fields there.)"""

    model_config = ConfigDict(extra="forbid")  # a misspelt field ("contry") is refused, not kept

    country: str | None = None
    language: str | None = None
    languages: tuple[str, ...] = ()  # other languages they speak
    coping: tuple[str, ...] = ()     # what helps them when things are heavy ("prayer", "my sister"), their words
    avoid: tuple[str, ...] = ()      # suggestions they do not want ("therapy", "meditation"), their words
    identity: str | None = None      # what they want affirmed, in their words
    register: Literal["formal", "informal"] | None = None
    pack: str | None = None          # a culture pack the person chose (`typingcure culture packs`); never inferred

    @classmethod
    def from_saved(cls, saved: dict) -> Profile:  # type: ignore[type-arg]
        """A profile kept by an earlier version: fields it no longer has are left out, not refused."""
        return cls(**{k: v for k, v in (saved or {}).items() if k in cls.model_fields or k == "helps"})

    @model_validator(mode="before")
    @classmethod
    def _helps_is_coping(cls, data: Any) -> Any:
        """`helps` (one text, before `coping` existed) is read as what helps them."""
        if isinstance(data, dict) and "helps" in data:
            data = dict(data)
            helps = data.pop("helps")
            if helps and not data.get("coping"):
                data["coping"] = [helps]
        return data

    @field_validator("coping", "avoid", mode="before")
    @classmethod
    def _their_words(cls, value: Any) -> Any:
        """A list of short texts in the person's words: "prayer, my church" is two; at most 12 of
        at most 80 characters, blanks and repeats left out."""
        if value is None or value == "":
            return ()
        if isinstance(value, str):  # commas as each script writes them: "prayer, my church", "기도、산책", "صلاة، عائلة"
            value = re.split(r"[,،、，;；]", value)
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ValueError("must be a list of texts, such as [\"prayer\", \"my sister\"]")
        found: dict[str, str] = {}
        for item in value:
            text = their_words(item)
            if len(text) > 80:
                raise ValueError(f"each entry is at most 80 characters (one has {len(text)})")
            if text:
                found.setdefault(text.casefold(), text)
        if len(found) > 12:
            raise ValueError(f"at most 12 entries (there are {len(found)})")
        return tuple(found.values())

    @field_validator("pack", mode="before")
    @classmethod
    def _pack(cls, value: Any) -> Any:
        """One of the culture packs that ship (typingcure.culture.packs), by its name."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        from .culture.packs import names

        given = str(value).strip().lower() if isinstance(value, str) else value
        if given not in names():
            raise ValueError(f"no culture pack {value!r}; there are: {', '.join(names())}")
        return given

    @field_validator("identity", mode="before")
    @classmethod
    def _identity(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or len(value) > 200:
            raise ValueError("identity is a text of at most 200 characters, in the person's words")
        return their_words(value)

    @field_validator("languages", mode="before")
    @classmethod
    def _language_codes(cls, value: Any) -> Any:
        if value is None or value == "":
            return ()
        if isinstance(value, str):
            value = [v for v in re.split(r"[,\s]+", value) if v]
        if not isinstance(value, (list, tuple)) or len(value) > 10:
            raise ValueError("languages is a list of at most 10 codes, such as [\"en\", \"yo\"]")
        return tuple(dict.fromkeys(c for v in value if (c := _language_code(v))))

    @field_validator("country")
    @classmethod
    def _country_code(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        from .config import COUNTRIES  # (config imports this module)

        code = value.strip().upper()
        if len(code) != 2 or not code.isalpha() or code not in COUNTRIES:
            raise ValueError(f"unknown country code {value!r}: use a two-letter ISO code such as NG "
                             "(`typingcure countries` lists them)")
        return code

    @field_validator("language")
    @classmethod
    def _language_code(cls, value: str | None) -> str | None:
        return _language_code(value)


class Resource(_Model):
    """One crisis line or emergency number, rendered verbatim from the resources file."""

    name: str
    type: Literal["crisis_line", "text_line", "mental_health_line", "specialized", "emergency"]
    phone: str | None = None
    phone_e164: str | None = None
    sms: str | None = None
    url: str | None = None
    hours: str
    open: str | None = None
    languages: tuple[str, ...] = ()
    source: str
    source_date: str
    checked: str
    confidence: Literal["verified", "unverified"]
    conflict: bool = False
    notes: str | None = None

    @field_validator("open")
    @classmethod
    def _opening(cls, value: str | None) -> str | None:
        if value is None or value == "limited":
            return value
        import re

        if not re.fullmatch(r"([01]\d|2[0-4]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d", value):
            raise ValueError(f"open must be null, 'limited' or 'HH:MM-HH:MM', not {value!r}")
        return value

    def card(self) -> ResourceCard:
        return {"name": self.name, "phone": self.phone, "sms": self.sms, "url": self.url, "hours": self.hours}


class IntakeResult(_Model):
    verdict: Literal["accepted", "normalised"]
    text: str
    language: str
    language_source: Literal["detected", "conversation", "profile", "default"]
    explanation: str
    script: str = "latin"  # the script the person wrote in (romanised Hindi is Latin, not Devanagari)
    model_text: str | None = None  # what a remote model is sent: personal data replaced by placeholders
    redactions: tuple[str, ...] = ()


class Evidence(_Model):
    detector: str
    category: RiskCategory
    level: RiskLevel
    span: str
    explanation: str


class RiskAssessment(_Model):
    level: RiskLevel
    categories: tuple[RiskCategory, ...] = ()
    score: float = Field(ge=0.0, le=1.0)
    evidence: tuple[Evidence, ...] = ()
    about: Literal["self", "someone_else", "unclear"] = "self"
    assessor: str
    explanation: str
    failed: bool = False


# Every action a policy may record, and what it means (the `actions` of `reply --json` and of a
# turn). A policy that names one not listed here is a bug and fails at once, so a renamed action
# can never silently drop a rule that looks for it. A turn's actions add `guard:<name>:<verdict>`
# for each check that did not pass; a sensitive situation is `sensitive:<situation>`; the person speaking of
# their bond with typingcure is `bond:<exclusive|love|human|leave>` (typingcure.care).
Action = Literal[
    "crisis_reply",
    "emergency_first",
    "asked_about_safety",
    "asked_about_suicide",
    "checked_in",
    "kept_listening",
    "offered_safety_plan",
    "guidance_for_helper",
    "care_card",
    "asked_country",
    "careful_frame",
    "composed",
    "composed_language",
    "authored_question",
    "model_skipped",
    "journal_silent",
    "offered_rest",
    "asked_coping",
    "offered_coping",
    "offered_pack",
    "noted_weak_model",
    "rest_first",
    "coach_step",
    "meaning_question",
    "explained_term",
    "no_diagnosis",
    "rehearsal_scene",
    "rehearsal_safety_check",
    "rehearsal_not_yet",
    "rehearsal_ready",
    "in_character",
    "debrief_went_well",
    "debrief_try",
    "debrief_feel",
    "rehearsal_done",
    "rehearsal_stopped",
    "exercise_started",
    "exercise_resumed",
    "exercise_step",
    "exercise_skipped",
    "exercise_paused",
    "exercise_stopped",
    "exercise_done",
]
ACTIONS: dict[Action, str] = {
    "crisis_reply": "the fixed crisis reply for high or imminent risk",
    "emergency_first": "the emergency number comes first",
    "asked_about_safety": "asked whether the person is safe right now",
    "asked_about_suicide": "asked directly about thoughts of suicide",
    "checked_in": "checked in on how the person is, after asking earlier",
    "kept_listening": "asked last turn with no new worry now: listened, and will ask again later",
    "offered_safety_plan": "offered to make a safety plan together",
    "guidance_for_helper": "guidance for someone worried about another person",
    "care_card": "the local services are shown",
    "asked_country": "asked for the person's country, to show local services",
    "careful_frame": "the reply is made in a careful frame (risk low or above)",
    "composed": "the reply is composed from authored lines",
    "composed_language": "everyday listening composed in a language the model is weak in",
    "authored_question": "the model's short reflection, then an authored open question",
    "model_skipped": "the model was not asked",
    "journal_silent": "the journal role stays silent (no risk found)",
    "offered_rest": "a gentle offer of rest follows",
    "asked_coping": "asked, once, what usually helps the person (their profile says nothing yet)",
    "offered_coping": "what the person said helps them, in their words, offered with rest",
    "offered_pack": "asked what helps them, with a few practices from the culture pack they chose, as choices",
    "noted_weak_model": "a note said the model is weak in the person's language (said once)",
    "rest_first": "the coach put rest before any step: the person sounds worn out or is crying",
    "coach_step": "the coach asked about one small next step",
    "meaning_question": "the meaning role asked its next re-authoring question",
    "explained_term": "a checked explanation of a term was given, with its source",
    "no_diagnosis": "asked for a diagnosis of a person: said only a professional who meets them can assess",
    "rehearsal_scene": "the person's message describes whom typingcure is to play, and the conversation",
    "rehearsal_safety_check": "before playing someone who hurt the person, asked whether they are safe and want to go on",
    "rehearsal_not_yet": "the rehearsal waits until the person says they are ready",
    "rehearsal_ready": "the scene is set: typingcure will play the person described",
    "in_character": "typingcure speaks as the character in the rehearsal",
    "debrief_went_well": "stepped out of the scene: asked what went well",
    "debrief_try": "debrief: asked for one thing to try next time",
    "debrief_feel": "debrief: asked how the person feels now",
    "rehearsal_done": "the debrief is over: back to listening",
    "rehearsal_stopped": "the rehearsal stopped (the person stepped out, or risk was found): back to listening",
    "exercise_started": "an exercise started: its first step is shown",
    "exercise_resumed": "a paused exercise goes on at the step it stopped at",
    "exercise_step": "the person's answer is kept for their card; the exercise's next step is shown",
    "exercise_skipped": "the person skipped a step of the exercise",
    "exercise_paused": "the exercise is paused (the person asked, or risk was found); it waits for /exercise resume",
    "exercise_stopped": "the person stopped the exercise; what they wrote so far is on their card",
    "exercise_done": "the exercise's last step is answered: its takeaway card is made",
}
ACTION_PREFIXES = ("sensitive:", "guard:", "bond:")


def unknown_actions(actions: tuple[str, ...]) -> list[str]:
    return [a for a in actions if a not in ACTIONS and not a.startswith(ACTION_PREFIXES)]


class PolicyDecision(_Model):
    verdict: Literal["generate", "fixed_reply", "silent"]
    role: str
    system_prompt: str
    fixed_reply: str | None = None
    follow_up: str | None = None
    follow_up_asks: bool = False  # the follow-up puts a question: the model's own questions are held back
    max_sentences: int | None = None  # the model's part of the reply, when shorter than the role's rule
    resources: tuple[Resource, ...] = ()
    constraints: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    policy: str
    explanation: str

    @field_validator("actions")
    @classmethod
    def _declared(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if unknown := unknown_actions(value):
            raise ValueError(f"actions not declared in typingcure.types.ACTIONS: {', '.join(unknown)}")
        return value


class CheckResult(_Model):
    guard: str
    verdict: Literal["pass", "repair", "replace"]
    explanation: str
    original: str
    released: str
    constraint: str | None = None  # a repair that asks the model again, with this rule stated


class StageRecord(_Model):
    stage: StageName
    verdict: str
    explanation: str
    ms: float


class TurnResult(_Model):
    """Everything a turn decided, kept beside it so `/why` and evaluations can explain it."""

    user_text: str
    reply: str
    intake: IntakeResult
    risk: RiskAssessment
    decision: PolicyDecision
    checks: tuple[CheckResult, ...]
    stages: tuple[StageRecord, ...]
    backend: str
    notes: tuple[str, ...]
    actions: tuple[str, ...]
    composition: str = ""  # the turn spec its parts were built from (typingcure.composition), for /why

    def contract(self) -> ReplyJSON:
        return {
            "reply": self.reply,
            "risk": {"level": self.risk.level, "categories": list(self.risk.categories)},
            "actions": list(self.actions),
            "resources": [r.card() for r in self.decision.resources],
            "notes": list(self.notes),
        }


# -- JSON shapes promised to other tools (DESIGN.md, "Public contract") -------------------------


class ResourceCard(TypedDict):
    name: str
    phone: str | None
    sms: str | None
    url: str | None
    hours: str


class RiskJSON(TypedDict):
    level: str
    categories: list[str]


class ReplyJSON(TypedDict):
    reply: str
    risk: RiskJSON
    actions: list[str]
    resources: list[ResourceCard]
    notes: list[str]


class AssessJSON(TypedDict):
    id: object
    level: str
    categories: list[str]
    score: float
