"""A turn's parts as data: which assessor and policy decide, which guards check each sentence, in
what order, and what each guard's finding does to the reply.

    spec = turn_spec()                                  # the default, safety/data/turn.yaml
    spec = turn_spec({"add": [{"name": "no_shouting", "after": "refusal"}]})   # config.toml [turn]
    assessor, policy, guards = build(spec)
    spec.summary()                                      # what /why names

The default lives in `safety/data/turn.yaml`. `config.toml` changes it under `[turn]`:

    [turn]
    add = [{name = "no_shouting", after = "refusal", on_fail = "regenerate"}]
    on_fail = {diagnosis = "replace"}
    remove = ["wrong_script"]

or gives the whole order in `guards`. A guard registered by a plugin (`typingcure.registry`) runs by
being listed. The safety floor (the guards marked `floor` in the default: method details, diet
numbers, approval of a plan, medication, diagnoses and the rest) cannot be removed or made gentler:
a spec that tries is a `ConfigError` naming the guard. Every name and argument is checked against
the registry and the factory's signature when the spec is built, before any turn runs.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Literal
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import _yaml
from .errors import ConfigError
from .registry import create, entries
from .safety.assess import Assessor
from .safety.check import CheckContext, Guard
from .safety.decide import Policy
from .types import CheckResult

OnFail = Literal["graded", "repair", "regenerate", "replace"]
# How far each response goes: a floor guard may move right, never left ("graded" is its own choice).
STRENGTH: dict[OnFail, int] = {"repair": 0, "regenerate": 1, "graded": 2, "replace": 3}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Component(_Spec):
    name: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)

    def label(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in sorted(self.args.items()))
        return f"{self.name}({shown})" if shown else self.name


class GuardStep(Component):
    on_fail: OnFail = "graded"
    floor: bool = False


class Addition(Component):
    on_fail: OnFail = "graded"
    before: str | None = None
    after: str | None = None


class TurnOverride(_Spec):
    """What `[turn]` in config.toml may say; every key is optional."""

    assessor: Component | None = None
    policy: Component | None = None
    guards: tuple[GuardStep, ...] | None = None  # the whole order
    add: tuple[Addition, ...] = ()
    remove: tuple[str, ...] = ()
    on_fail: dict[str, OnFail] = Field(default_factory=dict)


class TurnSpec(_Spec):
    assessor: Component
    policy: Component
    guards: tuple[GuardStep, ...]
    source: str = "default"

    def summary(self) -> str:
        steps = " → ".join(g.name if g.on_fail == "graded" else f"{g.name} ({g.on_fail})" for g in self.guards)
        return f"{self.source} spec: assessor {self.assessor.label()}, policy {self.policy.label()}, guards {steps}"


@cache
def default_spec() -> TurnSpec:
    raw = _yaml.safe_load(files("typingcure.safety").joinpath("data", "turn.yaml").read_text("utf-8"))
    return TurnSpec(**raw)


def turn_spec(override: Mapping[str, Any] | TurnOverride | None = None, *, source: str = "config.toml [turn]") -> TurnSpec:
    """The default spec with `override` applied and checked (ConfigError on anything wrong)."""
    base = default_spec()
    if not override:
        return base
    try:
        change = override if isinstance(override, TurnOverride) else TurnOverride(**override)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'turn'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid [turn] in {source}: {problems}") from None
    guards = _reordered(base.guards, change)
    spec = TurnSpec(assessor=change.assessor or base.assessor, policy=change.policy or base.policy,
                    guards=guards, source=source)
    _check_floor(base, spec, source)
    for kind, component in (("assessor", spec.assessor), ("policy", spec.policy), *(("guard", g) for g in spec.guards)):
        _bind(kind, component.name, component.args)  # type: ignore[arg-type]
    return spec


def _reordered(default: tuple[GuardStep, ...], change: TurnOverride) -> tuple[GuardStep, ...]:
    floor = {g.name for g in default if g.floor}
    known = {g.name: g for g in default}
    if change.guards is not None:
        steps = [known[g.name].model_copy(update=g.model_dump(include={"args", "on_fail"}, exclude_unset=True))
                 if g.name in known else g for g in change.guards]
    else:
        steps = list(default)
    steps = [s for s in steps if s.name not in change.remove]
    for extra in change.add:
        step = GuardStep(name=extra.name, args=extra.args, on_fail=extra.on_fail)
        names = [s.name for s in steps]
        anchor = extra.before or extra.after
        if anchor is not None and anchor not in names:
            raise ConfigError(f"[turn] add {extra.name!r}: there is no guard {anchor!r} to put it "
                              f"{'before' if extra.before else 'after'} (the order: {', '.join(names)})")
        at = len(steps) if anchor is None else names.index(anchor) + (0 if extra.before else 1)
        steps.insert(at, step)
    for name, response in change.on_fail.items():
        if name not in {s.name for s in steps}:
            raise ConfigError(f"[turn] on_fail names {name!r}, which is not in the order")
        steps = [s.model_copy(update={"on_fail": response}) if s.name == name else s for s in steps]
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"[turn] lists {', '.join(twice)} more than once")
    return tuple(s.model_copy(update={"floor": s.name in floor}) for s in steps)


def _check_floor(base: TurnSpec, spec: TurnSpec, source: str) -> None:
    present = {g.name: g for g in spec.guards}
    for guard in base.guards:
        if not guard.floor:
            continue
        if guard.name not in present:
            raise ConfigError(f"{source} leaves out the {guard.name!r} guard: it is part of the safety floor "
                              "and cannot be removed")
        chosen = present[guard.name].on_fail
        if STRENGTH[chosen] < STRENGTH[guard.on_fail]:
            raise ConfigError(f"{source} makes the {guard.name!r} guard gentler ({chosen!r}): it is part of "
                              "the safety floor; only 'replace' may be set for it")


# -- building: typed factories --------------------------------------------------------------------


def build(spec: TurnSpec, *, model: object | None = None) -> tuple[Assessor, Policy, tuple[Guard, ...]]:
    """The components a spec names, each made through the registry and checked for its protocol.
    `model`: the optional model layer of an assessor that takes one (settings.assessor_model)."""
    assessor_args = dict(spec.assessor.args)
    if model is not None and "model" in _parameters("assessor", spec.assessor.name):
        assessor_args["model"] = model
    assessor = _make("assessor", spec.assessor.name, assessor_args, needs="assess")
    policy = _make("policy", spec.policy.name, spec.policy.args, needs="decide")
    guards = tuple(_Step(_make("guard", g.name, g.args, needs="check"), g.on_fail) if g.on_fail != "graded"
                   else _make("guard", g.name, g.args, needs="check") for g in spec.guards)
    return assessor, policy, guards


def _parameters(kind: Literal["assessor", "policy", "guard"], name: str) -> Mapping[str, inspect.Parameter]:
    for entry in entries(kind):
        if entry.name == name:
            return inspect.signature(entry.factory).parameters
    known = ", ".join(e.name for e in entries(kind)) or "none"
    raise ConfigError(f"unknown {kind} {name!r} in the turn spec (known: {known})")


def _bind(kind: Literal["assessor", "policy", "guard"], name: str, args: Mapping[str, Any]) -> None:
    params = _parameters(kind, name)
    try:
        inspect.Signature(list(params.values())).bind(**args)
    except TypeError as exc:
        takes = ", ".join(p for p in params if p != "self") or "no arguments"
        raise ConfigError(f"the {kind} {name!r} cannot take {dict(args)!r} ({exc}); it takes: {takes}") from None


def _make(kind: Literal["assessor", "policy", "guard"], name: str, args: Mapping[str, Any], *, needs: str) -> Any:
    _bind(kind, name, args)
    component = create(kind, name, **args)
    if not callable(getattr(component, needs, None)):
        raise ConfigError(f"the {kind} {name!r} has no {needs}() method, so it cannot be a {kind}")
    return component


@dataclass
class _Step:
    """A guard whose finding is turned into the response the spec chose for it."""

    guard: Guard
    on_fail: OnFail
    spec: str = ""

    def __post_init__(self) -> None:
        self.spec = self.guard.spec

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        result = self.guard.check(sentence, ctx)
        if result.verdict == "pass":
            return result
        why = f"{result.explanation} (the turn spec says {self.on_fail})"
        if self.on_fail == "replace":
            released = result.released if result.verdict == "replace" else ctx.replies["fallback"]
            return result.model_copy(update={"verdict": "replace", "released": released, "constraint": None,
                                             "explanation": why})
        if self.on_fail == "regenerate":
            rule = result.constraint or f"Do not write anything like this: {result.explanation}."
            return result.model_copy(update={"verdict": "repair", "released": "", "constraint": rule, "explanation": why})
        released = result.released if result.verdict == "repair" and not result.constraint else ""
        return result.model_copy(update={"verdict": "repair", "released": released, "constraint": None,
                                         "explanation": why})
