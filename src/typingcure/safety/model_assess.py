"""An optional model-based opinion on risk, for when a capable model is configured.

    opinion = ModelAssessor(backend, timeout=8).assess(text, history)

The model is asked for one JSON object. The answer is used only if it arrives in time and parses
into a known level; otherwise the opinion is marked failed, with the reason, and the layered
assessor goes on without it. It may raise the level up to high, never lower it and never to
imminent (design/risk-levels.md). The bundled model is never used for this.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from collections.abc import Sequence

from ..backends import Backend, GenerateOptions
from ..types import RISK_CATEGORIES, RISK_LEVELS, Message, RiskCategory, RiskLevel

PROMPT = (
    "You check messages to a support chatbot for risk. Read the conversation and the last message. "
    'Answer with one JSON object only: {"level": "none|low|moderate|high|imminent", "categories": [...]} '
    "with categories from: suicide, self_harm, harm_to_others, eating_disorder, abuse, medical_emergency, "
    "psychosis_mania. Idioms, fiction, news and study questions are none or low."
)
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="typingcure-model-assess")


@dataclass(frozen=True)
class ModelOpinion:
    level: RiskLevel
    categories: tuple[RiskCategory, ...]
    failed: bool
    explanation: str


def parse_opinion(answer: str) -> ModelOpinion:
    """Read the model's JSON, tolerating prose around it; anything unusable is a failed opinion."""
    match = re.search(r"\{.*?\}", answer, re.DOTALL)
    if not match:
        return ModelOpinion("none", (), True, "the model's answer held no JSON object")
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError:
        return ModelOpinion("none", (), True, "the model's JSON did not parse")
    level = str(data.get("level", "")).strip().lower() if isinstance(data, dict) else ""
    if level not in RISK_LEVELS:
        return ModelOpinion("none", (), True, f"the model gave an unknown level {level!r}")
    raw = data.get("categories") or []
    categories = tuple(c for c in raw if c in RISK_CATEGORIES) if isinstance(raw, list) else ()
    capped: RiskLevel = "high" if level == "imminent" else level  # type: ignore[assignment]
    return ModelOpinion(capped, categories, False, f"the model judged {level}")


class ModelAssessor:
    def __init__(self, backend: Backend, timeout: float = 8.0) -> None:
        self.backend = backend
        self.timeout = timeout

    def _ask(self, text: str, history: Sequence[str]) -> str:
        context = "\n".join(f"- {h}" for h in list(history)[-5:]) or "(none)"
        messages = [Message("system", PROMPT), Message("user", f"Earlier messages:\n{context}\n\nLast message:\n{text}")]
        return "".join(self.backend.generate(messages, GenerateOptions(max_tokens=60, temperature=0.0)))

    def assess(self, text: str, history: Sequence[str] = ()) -> ModelOpinion:
        future = _pool.submit(self._ask, text[:4000], history)
        try:
            answer = future.result(timeout=self.timeout)
        except FutureTimeout:
            future.cancel()
            return ModelOpinion("none", (), True, f"the model did not answer within {self.timeout:g} s")
        except Exception as exc:
            return ModelOpinion("none", (), True, f"the model failed ({type(exc).__name__})")
        return parse_opinion(answer)
