"""The proxy's policy file: what a designer may choose, validated before the proxy starts.

    policy = load_policy("policy.yaml")      # ConfigError naming the first wrong key
    policy = ProxyPolicy()                   # the defaults (design/proxy.md)

A policy can make typingcure more careful (the careful path from `low`, or for one category from
`low`), never less: imminent and high risk always get the crisis reply without the upstream,
moderate risk always gets the careful path, and the safety floor's guards cannot be removed or
made gentler (the `turn` section is checked like `[turn]` in config.toml).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import _yaml
from ..composition import TurnOverride, TurnSpec, turn_spec
from ..errors import ConfigError
from ..types import RiskAssessment, RiskCategory, level_rank

# The shaping checks written for typingcure's own voice with the tiny model (a sentence said in an
# earlier turn, the prompt said back, another script, "does this reflect the person"): a chatbot's
# everyday answers (code, lists, translations) are not held to them unless the policy lists them.
PROXY_REMOVES = ("repetition", "prompt_echo", "wrong_script", "listening_fit")
MAX_POLICY_BYTES = 1_000_000


class ProxyPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    # Is the upstream's judgement trusted at moderate risk and in sensitive situations? Then it
    # writes in a careful frame and every sentence is checked; if not, those replies are composed
    # from authored lines and the upstream is not asked.
    capable: bool = False
    # At risk `none`, relay the upstream's answer byte for byte (no sentence checks, no buffering).
    pass_through: bool = False
    # The level from which the careful path applies (moderate always does).
    careful_from: Literal["low", "moderate"] = "moderate"
    # Per category, the careful path from `low` (e.g. eating_disorder: low).
    categories: dict[RiskCategory, Literal["low", "moderate"]] = Field(default_factory=dict)
    # The guards, as config.toml's [turn] says them; the default removes PROXY_REMOVES.
    turn: TurnOverride | None = None
    # The care card (checked local services at moderate risk and above): appended to the reply's
    # text ("text"), or only in the `typingcure` field of the response ("field").
    care_card: Literal["text", "field"] = "text"
    # Tool calls the upstream makes: passed on below moderate risk, or never.
    tools: Literal["below_moderate", "never"] = "below_moderate"
    # One JSON line on stderr per request (time, risk, actions, ms; never any text), or nothing.
    log: Literal["none", "metadata"] = "none"
    reply_seconds: float = Field(default=60.0, gt=0, le=600)  # the upstream's reply ends at the last whole sentence after this
    upstream_timeout: float = Field(default=60.0, gt=0, le=600)
    max_message_chars: int = Field(default=32_000, ge=100, le=1_000_000)
    max_body_bytes: int = Field(default=4_000_000, ge=1_000, le=100_000_000)
    workers: int = Field(default=64, ge=1, le=1024)  # turns checked at once; more wait their turn

    def spec(self) -> TurnSpec:
        override = self.turn if self.turn is not None else TurnOverride(remove=PROXY_REMOVES)
        return turn_spec(override, source="the proxy policy's turn")

    def careful(self, risk: RiskAssessment) -> RiskAssessment:
        """The assessment with the policy's lower thresholds applied: a `low` the policy wants treated
        carefully is raised to `moderate` (never lowered)."""
        if risk.level != "low":
            return risk
        starts = [self.careful_from, *(self.categories.get(c, "moderate") for c in risk.categories)]
        if level_rank("low") < min(level_rank(s) for s in starts):
            return risk
        return risk.model_copy(update={"level": "moderate",
                                       "explanation": f"{risk.explanation}; the proxy's policy is careful from low"})


def load_policy(path: str | Path | None) -> ProxyPolicy:
    """The policy in a YAML or JSON file (None: the defaults); ConfigError on anything wrong."""
    if path is None:
        policy = ProxyPolicy()
    else:
        policy = _parse(Path(path))
    policy.spec()  # the turn section is checked now, before any request
    return policy


def _parse(path: Path) -> ProxyPolicy:
    try:
        if not path.is_file() or path.stat().st_size > MAX_POLICY_BYTES:
            raise ConfigError(f"policy file {path} must be a plain file of at most 1 MB")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"policy file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read policy file {path}: {exc}") from None
    try:
        raw: Any = json.loads(text) if path.suffix == ".json" else _yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"policy file {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: "
                          f"{' '.join(str(exc).split())[:200]}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"policy file {path} must hold a mapping of settings (see design/proxy.md)")
    try:
        return ProxyPolicy(**raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "policy"
        raise ConfigError(f"policy file {path}: {where}: {first['msg']}") from None
