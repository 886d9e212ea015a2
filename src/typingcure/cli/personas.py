"""`/persona` in the terminal chat: save a persona, use it, and hear about any change to what it was
pinned to before the next reply (design/personas.md).

    /persona                 the saved personas, and the one in use
    /persona new NAME        three questions (tone, focus, what to avoid), then it is saved, pinned and used
    /persona use NAME | off | show | delete NAME
    /persona keep            go on with what is running now (pinned again)
    /persona back            the pinned version: its role prompt, its settings and, when it can be had, its model
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..backends import GenerateOptions, backend_from_spec
from ..config import Settings
from ..errors import InputError, TypingcureError
from ..personas import (Change, Persona, Personas, drift, make_persona, model_drifted, pinned, pinned_backend,
                        pinned_settings)
from ..pipeline import Parts, Session

QUESTIONS = (("tone", "What tone would you like {name} to have? (for example: warm and brief; Enter to skip)"),
             ("focus", "What should {name} focus on? (Enter to skip)"),
             ("avoid", "Anything {name} should avoid? (for example: advice, talk of therapy; Enter to skip)"))


class PersonaDesk:
    """The personas of one chat: kept in the encrypted store when there is one, else for this session."""

    def __init__(self, session: Session, parts: Parts, settings: Settings, say: Callable[[str], None],
                 block: Callable[[str, list[str]], None], store: Any = None) -> None:
        self.session, self.parts, self.settings, self.say, self.block = session, parts, settings, say, block
        self.store = store
        self.saved = Personas.load(store.get("personas") if store is not None else None)
        self.asking: tuple[str, dict[str, str], int] | None = None  # (name, answers so far, next question)
        self.noticed: tuple[Change, ...] = ()
        if self.saved.current is not None:
            self._wear(self.saved.current)

    # -- before each reply ------------------------------------------------------------------------

    def check(self) -> None:
        """Say what changed since the persona was pinned, once for each new set of changes."""
        persona = self.session.persona
        if persona is None:
            return
        changes = tuple(drift(persona, self.parts.backend, self.settings))
        if changes and changes != self.noticed:
            self.block(f"{persona.name} has changed since you saved it", [c.sentence() for c in changes] + [
                "/persona keep: go on with it as it is now · /persona back: the version you saved"])
        self.noticed = changes

    # -- the command ----------------------------------------------------------------------------------

    def command(self, arg: str) -> None:
        word, _, rest = arg.partition(" ")
        rest = rest.strip()
        handlers: dict[str, Callable[[str], None]] = {
            "": self.list, "new": self.new, "use": self.use, "off": self.off, "show": self.show,
            "delete": self.delete, "keep": self.keep, "back": self.back}
        try:
            handler = handlers[word]
        except KeyError:
            self.say("Try /persona, /persona new NAME, /persona use NAME, /persona keep, /persona back, /persona off.")
            return
        handler(rest)

    def list(self, _: str = "") -> None:
        if not self.saved.items:
            self.say("No personas yet. /persona new NAME makes one: a name, a tone, what to focus on and avoid.")
            return
        for p in self.saved.items:
            mark = "*" if self.session.persona and p.name == self.session.persona.name else " "
            self.say(f" {mark}{p.name} ({p.role}): {p.tone or 'no tone set'}")
        self.say("/persona use NAME · /persona off · /persona show")

    def new(self, name: str) -> None:
        make_persona(name=name)  # the name is checked before any question is asked
        self.asking = (name, {}, 0)
        self.say(QUESTIONS[0][1].format(name=name))

    def answer(self, line: str) -> None:
        """The person's answer to one of the questions of `/persona new`."""
        assert self.asking is not None
        name, answers, step = self.asking
        answers = {**answers, QUESTIONS[step][0]: line.strip()}
        if step + 1 < len(QUESTIONS):
            self.asking = (name, answers, step + 1)
            self.say(QUESTIONS[step + 1][1].format(name=name))
            return
        self.asking = None
        role = self.session.role if self.session.role != "rehearsal" else "listener"
        try:
            persona = pinned(make_persona(name=name, role=role, **answers), self.parts.backend, self.settings)
        except InputError as exc:
            self.say(f"typingcure: {exc.message}. /persona new {name} to try again.")
            return
        self.saved.put(persona)
        self._wear(persona)
        self._save()
        self.say(f"{persona.name} is saved and in use, pinned to this model, its {persona.role} role and settings. "
                 "If any of them changes, I'll say so before the next reply.")

    def use(self, name: str) -> None:
        persona = self.saved.find(name)
        if persona is None:
            self.say(f"No persona called {name!r}. /persona lists them.")
            return
        self._wear(persona)
        self._save()
        self.say(f"{persona.name} is in use ({persona.role}).")
        self.check()

    def off(self, _: str = "") -> None:
        self.session.persona, self.saved.active = None, None
        self._save()
        self.say("No persona in use now.")

    def show(self, _: str = "") -> None:
        persona = self.session.persona
        if persona is None or persona.pin is None:
            self.say("No persona in use. /persona lists them.")
            return
        pin = persona.pin
        self.block(persona.name, [f"tone: {persona.tone or '-'}", f"focus: {persona.focus or '-'}",
                                  f"avoid: {persona.avoid or '-'}", f"role: {pin.role} (version {pin.role_version})",
                                  f"model: {pin.model}", *([f"model file: sha256 {pin.model_file[:16]}…"] if pin.model_file else []),
                                  "settings: " + ", ".join(f"{k} {v}" for k, v in pin.settings.items()),
                                  "using: " + ("the version you saved" if persona.use_pinned else "what is running now")])

    def delete(self, name: str) -> None:
        if not self.saved.remove(name):
            self.say(f"No persona called {name!r}.")
            return
        if self.session.persona is not None and self.session.persona.name.lower() == name.lower():
            self.session.persona = None
        self._save()
        self.say(f"{name} is deleted.")

    def keep(self, _: str = "") -> None:
        persona = self.session.persona
        if persona is None:
            self.say("No persona in use.")
            return
        self._replace(pinned(persona, self.parts.backend, self.settings))
        self.say(f"{persona.name} goes on with what is running now, and is pinned to it.")

    def back(self, _: str = "") -> None:
        persona = self.session.persona
        if persona is None or persona.pin is None:
            self.say("No persona in use.")
            return
        spec = pinned_backend(persona)
        if model_drifted(persona, self.parts.backend):
            if spec is None:
                self.say(f"The model {persona.name} was pinned to is not there as it was ({persona.pin.model}); "
                         "its role prompt and settings are back, the model stays as it is. /persona keep accepts it.")
            else:
                try:
                    backend = backend_from_spec(spec, timeout=self.settings.timeout)
                    backend.prepare()
                except TypingcureError as exc:
                    self.say(f"typingcure: the pinned model could not start ({exc.message}).")
                    return
                self.parts.backend = backend
        settings = pinned_settings(persona, self.settings)
        self.settings = settings
        self.parts.options = GenerateOptions(max_tokens=settings.max_tokens, temperature=settings.temperature)
        self._replace(persona.model_copy(update={"use_pinned": True}))
        self.say(f"{persona.name} is back to the version you saved.")
        self.noticed = tuple(drift(self.session.persona, self.parts.backend, self.settings))  # type: ignore[arg-type]

    # -- keeping -----------------------------------------------------------------------------------------

    def _wear(self, persona: Persona) -> None:
        self.session.persona, self.saved.active = persona, persona.name
        self.session.role = persona.role

    def _replace(self, persona: Persona) -> None:
        self.saved.put(persona)
        self._wear(persona)
        self._save()

    def _save(self) -> None:
        if self.store is not None:
            self.store.put("personas", self.saved.model_dump(mode="json"))
