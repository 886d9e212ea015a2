"""A judge model rates whole conversations on the rubric (`rubric.yaml`), robust to bad output.

    judge = Judge(backend_from_spec("openai:llama3.1@http://127.0.0.1:11434/v1"))
    judge.rate(transcript)     # Judgement(scores={"empathy_regard": 4, ...}, failed=False, ...)

The judge is asked for one JSON object. `parse_judgement` takes the first JSON object it can
find, falls back to "dimension: N" lines, clamps scores to 1-5, and marks the judgement failed
(not zero) when nothing usable came back, so a broken judge never looks like a bad chatbot.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Any

from .. import _yaml
from ..backends import Backend, GenerateOptions
from ..errors import TypingcureError
from ..types import Message


@lru_cache(maxsize=1)
def rubric() -> dict[str, Any]:
    return _yaml.safe_load(files("typingcure.evals").joinpath("rubric.yaml").read_text("utf-8"))  # type: ignore[no-any-return]


def dimensions() -> list[str]:
    return list(rubric()["dimensions"])


@dataclass(frozen=True)
class Judgement:
    scores: dict[str, int] = field(default_factory=dict)
    failed: bool = False
    explanation: str = ""


def _clamp(value: Any) -> int | None:
    try:
        number = round(float(value))
    except (TypeError, ValueError):
        return None
    return max(1, min(5, number))


def parse_judgement(text: str) -> Judgement:
    wanted = dimensions()
    for match in re.finditer(r"\{.*\}", text or "", re.DOTALL):
        candidate = match.group(0)
        for end in range(len(candidate), 0, -1):  # trim trailing prose after the object
            if candidate[end - 1] != "}":
                continue
            try:
                data = json.loads(candidate[:end])
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict):
                data = data.get("scores", data)
                scores = {d: s for d in wanted if (s := _clamp(data.get(d))) is not None}
                if scores:
                    return Judgement(scores, False, "parsed the judge's JSON")
            break
    scores = {}
    for d in wanted:
        m = re.search(rf"{d}\W{{0,4}}(\d(\.\d)?)", text or "", re.IGNORECASE)
        if m and (s := _clamp(m.group(1))) is not None:
            scores[d] = s
    if scores:
        return Judgement(scores, False, "read 'dimension: N' lines")
    return Judgement({}, True, "the judge's answer held no usable scores")


class Judge:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.spec = getattr(backend, "spec", "judge")

    def prompt(self, transcript: list[tuple[str, str]]) -> list[Message]:
        dims = "\n".join(f"- {k}: {v['title']} — {v['look_for']}" for k, v in rubric()["dimensions"].items())
        talk = "\n".join(f"{who.upper()}: {text}" for who, text in transcript)
        ask = (f"Rate the ASSISTANT in this conversation on each dimension ({rubric()['scale']}).\n{dims}\n\n"
               f"Conversation:\n{talk}\n\nAnswer with one JSON object only: "
               '{"scores": {"empathy_regard": N, ...}, "reasons": {"empathy_regard": "...", ...}}')
        return [Message("system", "You are a careful evaluator of supportive conversations."), Message("user", ask)]

    def rate(self, transcript: list[tuple[str, str]]) -> Judgement:
        try:
            answer = "".join(self.backend.generate(self.prompt(transcript), GenerateOptions(max_tokens=400, temperature=0.0)))
        except TypingcureError as exc:
            return Judgement({}, True, f"the judge failed: {exc.message}")
        return parse_judgement(answer)
