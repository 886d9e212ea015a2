"""Running suites against targets: conversations, then scores, then (optionally) a judge.

    results = run_eval([load_suite("crisis")], [make_target("aligned:local")], out_dir=Path("runs/a"))

Each target's finished scenarios are appended to `<out_dir>/<target>.jsonl` as soon as they are
done, so an interrupted run picks up where it stopped (`resume=True`). Remote targets run several
conversations at once; local ones run one at a time (the model is the bottleneck). Scoring is
separate from talking (`score_scenario`), so it can be timed and re-run on stored replies.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable, Sequence

from .judge import Judge
from .simulate import UserSimulator
from .scorers import ScoreContext, make_scorer
from .suite import Scenario, Suite
from .targets import Reply, Target

Progress = Callable[[str], None]


@dataclass
class TurnRecord:
    user: str
    reply: str
    seconds: float
    risk: str | None = None
    actions: list[str] = field(default_factory=list)
    resources: list[dict] = field(default_factory=list)  # type: ignore[type-arg]
    error: str | None = None
    scores: dict[str, dict[str, str]] = field(default_factory=dict)
    simulated: bool = False  # written by the simulated person, not the suite


@dataclass
class ScenarioRecord:
    suite: str
    id: str
    tags: list[str]
    turns: list[TurnRecord]
    judge: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        return f"{self.suite}/{self.id}"


def slug(spec: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", spec).strip("_")[:120]


def talk(target: Target, scenario: Scenario, simulator: UserSimulator | None = None) -> list[tuple[str, Reply]]:
    """The scripted turns, then (with a simulator and a `simulate:` block) the simulated ones."""
    conversation = target.start(scenario)
    said = [(turn.user, conversation.say(turn.user)) for turn in scenario.turns]
    if simulator is not None and scenario.simulate is not None:
        for _ in range(scenario.simulate.turns):
            text = simulator.next_message(scenario.simulate.persona, [(user, reply.text) for user, reply in said])
            if not text:
                break  # a simulator that says nothing ends the conversation; the scripted part still counts
            said.append((text, conversation.say(text)))
    return said


def score_scenario(suite: Suite, scenario: Scenario, said: Sequence[tuple[str, Reply]]) -> ScenarioRecord:
    turns = []
    for index, (user, reply) in enumerate(said):
        scripted = index < len(scenario.turns)
        expect = scenario.turns[index].expect if scripted else (scenario.simulate.expect if scenario.simulate else [])
        record = TurnRecord(user, reply.text, round(reply.seconds, 4), reply.risk, reply.actions, reply.resources,
                            reply.error, simulated=not scripted)
        for expectation in [*suite.every_turn, *expect]:
            scorer = make_scorer(expectation.name, expectation.argument)
            result = scorer.score(ScoreContext(scenario, index, user, reply,
                                               earlier=tuple(r.text for _, r in said[:index])))
            record.scores[expectation.name] = {"value": result.value, "explanation": result.explanation,
                                               "dimension": scorer.dimension}
        turns.append(record)
    return ScenarioRecord(suite.suite, scenario.id, scenario.tags, turns)


def _load_done(path: Path) -> dict[str, ScenarioRecord]:
    done: dict[str, ScenarioRecord] = {}
    if not path.exists():
        return done
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            raw = json.loads(line)
            record = ScenarioRecord(raw["suite"], raw["id"], raw["tags"], [TurnRecord(**t) for t in raw["turns"]],
                                    raw.get("judge"))
        except (json.JSONDecodeError, KeyError, TypeError):
            continue  # a line cut short by an interruption is simply done again
        done[record.key] = record
    return done


def run_eval(
    suites: Sequence[Suite],
    targets: Sequence[Target],
    *,
    out_dir: Path | None = None,
    judge: Judge | None = None,
    workers: int = 4,
    resume: bool = True,
    progress: Progress | None = None,
    simulator: UserSimulator | None = None,
) -> dict[str, list[ScenarioRecord]]:
    results: dict[str, list[ScenarioRecord]] = {}
    jobs = [(suite, scenario) for suite in suites for scenario in suite.scenarios]
    for target in targets:
        path = out_dir / f"{slug(target.spec)}.jsonl" if out_dir else None
        done = _load_done(path) if path and resume else {}
        if path and not resume and path.exists():
            path.unlink()
        todo = [(s, sc) for s, sc in jobs if f"{s.suite}/{sc.id}" not in done]

        def one(job: tuple[Suite, Scenario], target: Target = target, path: Path | None = path) -> ScenarioRecord:
            suite, scenario = job
            record = score_scenario(suite, scenario, talk(target, scenario, simulator))
            if judge is not None:
                transcript = [(w, t) for turn in record.turns for w, t in (("person", turn.user), ("assistant", turn.reply))]
                verdict = judge.rate(transcript)
                record.judge = {"scores": verdict.scores, "failed": verdict.failed, "explanation": verdict.explanation}
            if path:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")
            if progress:
                progress(f"{target.spec} {record.key}")
            return record

        if target.remote and workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                finished = list(pool.map(one, todo))
        else:
            finished = [one(job) for job in todo]
        by_key = {**done, **{r.key: r for r in finished}}
        results[target.spec] = [by_key[f"{s.suite}/{sc.id}"] for s, sc in jobs if f"{s.suite}/{sc.id}" in by_key]
    return results
