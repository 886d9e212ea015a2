"""What earlier turns of a conversation did that later turns depend on, as types.

    state = session.state                 # ConversationState.of_turns(session.turns)
    state.asked_within(3), state.country_asked, state.constraints

A rule that looks back ("asked in the last three turns", "rest offered lately", "the note about a
weak model was shown") reads a field here, never a string in a list: the fields are filled from the
declared actions (`typingcure.types.Action`), so a renamed action fails the type check and the
tests instead of silently dropping a rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from collections.abc import Iterable, Sequence

from .types import Action, PolicyDecision

if TYPE_CHECKING:
    from .exercises import ExerciseRun
    from .types import TurnResult

ASKED: tuple[Action, ...] = ("asked_about_suicide", "asked_about_safety")
# What a rehearsal turn did, and the phase the next turn is in (design/roles.md, "Rehearsal").
PHASE_AFTER: dict[str, str] = {
    "rehearsal_safety_check": "confirm", "rehearsal_not_yet": "confirm", "rehearsal_ready": "playing",
    "in_character": "playing", "debrief_went_well": "debrief_try", "debrief_try": "debrief_feel",
    "debrief_feel": "debrief_done", "rehearsal_done": "scene", "rehearsal_stopped": "scene",
}


@dataclass(frozen=True)
class Rehearsal:
    """Where a rehearsal is: `scene` (the next message describes whom to play), `confirm` (asked
    whether to go on), `playing`, or a step of the debrief; `scene_text`: the person's description."""

    phase: str = "scene"
    scene_text: str = ""
    played: int = 0  # turns spoken in character since the scene was set

    @classmethod
    def of(cls, run: Sequence[tuple[str, Iterable[str]]]) -> Rehearsal:
        """From the person's messages and the actions of the turns in a row in the rehearsal role."""
        phase, scene, played = "scene", "", 0
        for user_text, actions in run:
            marks = [a for a in actions if a in PHASE_AFTER]
            if not marks:
                continue  # a turn about risk or a sensitive situation: the scene waits
            if "rehearsal_scene" in actions:
                scene, played = user_text, 0
            played += "in_character" in actions
            phase = PHASE_AFTER[marks[-1]]
            if phase == "scene":
                scene, played = "", 0
        return cls(phase=phase, scene_text=scene, played=played)


def _trailing(turns: Sequence[TurnResult], role: str) -> list[TurnResult]:
    run: list[TurnResult] = []
    for turn in reversed(turns):
        if turn.decision.role != role:
            break
        run.append(turn)
    return run[::-1]


@dataclass(frozen=True)
class ConversationState:
    """Turn numbers count from 0; `turns` is how many turns came before the one being decided."""

    turns: int = 0
    asked: tuple[int, ...] = ()           # asked directly about suicide or about safety
    checked_in: tuple[int, ...] = ()      # checked in, after asking earlier
    sensitive: tuple[int, ...] = ()       # asked a sensitive situation's question (eating, voices, energy ...)
    rest_offered: tuple[int, ...] = ()
    coping_offered: tuple[int, ...] = ()  # what the person said helps them was offered back
    country_asked: bool = False
    coping_asked: bool = False            # asked what usually helps the person (once a conversation)
    composed_language: bool = False       # everyday listening was composed in a language the model is weak in
    weak_model_noted: bool = False        # the note that the model is weak in the person's language was shown
    authored_noted: bool = False          # the note that an authored reply stood in was shown
    constraints: frozenset[str] = frozenset()
    roles: tuple[str, ...] = ()           # the role each earlier turn was answered in
    rehearsal: Rehearsal = field(default_factory=lambda: Rehearsal())
    exercise: ExerciseRun | None = None   # an exercise under way (typingcure.exercises), not paused

    @classmethod
    def of_turns(cls, turns: Sequence[TurnResult]) -> ConversationState:
        state = cls._of([(t.actions, t.decision.constraints) for t in turns])
        run = [(t.user_text, t.actions) for t in _trailing(turns, "rehearsal")]
        return replace(state, roles=tuple(t.decision.role for t in turns), rehearsal=Rehearsal.of(run))

    def in_role(self, role: str) -> int:
        """How many of the last turns in a row were answered in `role`."""
        count = 0
        for name in reversed(self.roles):
            if name != role:
                break
            count += 1
        return count

    @classmethod
    def of_actions(cls, actions: Sequence[Iterable[str]]) -> ConversationState:
        """From what each earlier turn did, as read from typingcure's replies (a conversation given as
        messages only: `reply --json`, the proxy)."""
        return cls._of([(a, ()) for a in actions])

    @classmethod
    def of_decisions(cls, decisions: Sequence[PolicyDecision]) -> ConversationState:
        """From the policy's decisions only (a caller that kept no turns): no guard actions, no notes."""
        return cls._of([(d.actions, d.constraints) for d in decisions])

    @classmethod
    def _of(cls, turns: Sequence[tuple[Iterable[str], Iterable[str]]]) -> ConversationState:
        def where(*names: Action, prefix: str | None = None) -> tuple[int, ...]:
            return tuple(i for i, (actions, _) in enumerate(turns)
                         if any(a in names or (prefix is not None and a.startswith(prefix)) for a in actions))

        return cls(
            turns=len(turns),
            asked=where(*ASKED),
            checked_in=where("checked_in"),
            sensitive=where(prefix="sensitive:"),
            rest_offered=where("offered_rest"),
            coping_offered=where("offered_coping"),
            country_asked=bool(where("asked_country")),
            coping_asked=bool(where("asked_coping")),
            composed_language=bool(where("composed_language")),
            weak_model_noted=bool(where("noted_weak_model", "composed_language")),
            authored_noted=bool(where(prefix="guard:authored:")),
            constraints=frozenset(c for _, constraints in turns for c in constraints),
        )

    def _within(self, turns: tuple[int, ...], last: int) -> bool:
        return any(t >= self.turns - last for t in turns)

    def asked_within(self, last: int) -> bool:
        """Asked about suicide or safety in the last `last` turns."""
        return self._within(self.asked, last)

    def rest_within(self, last: int) -> bool:
        return self._within(self.rest_offered, last)

    def coping_offered_within(self, last: int) -> bool:
        return self._within(self.coping_offered, last)

    def asked_last_turn(self) -> bool:
        """Did typingcure's last reply ask about safety, check in, or ask a sensitive situation's question?"""
        return self._within(self.asked + self.checked_in + self.sensitive, 1)
