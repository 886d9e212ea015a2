"""A simulated person: a model plays a persona for a few more turns after a scenario's scripted ones.

    simulator = UserSimulator(backend_from_spec("openai:llama3.1@http://127.0.0.1:11434/v1"))
    simulator.next_message(persona, [("I can't sleep again", "That sounds exhausting...")])

Scripted turns test what the suite's author foresaw; a simulated person keeps talking the way
someone might, so a chatbot is also measured on turns nobody wrote. The simulator's text is
cleaned (labels, quotes and anything it writes for the assistant are removed) and bounded; a
simulator that fails or says nothing ends the conversation early instead of failing the run.
"""

from __future__ import annotations

import re

from ..backends import Backend, GenerateOptions
from ..errors import TypingcureError
from ..types import Message

LONGEST = 600
_LABEL = re.compile(r"^\s*\**\s*(?:person|user|me|human|you)\s*\**\s*[:：]\s*\**\s*", re.IGNORECASE)
_TURN_BREAK = re.compile(r"\n\s*\**\s*(?:assistant|typingcure|bot|ai|chatbot)\s*\**\s*[:：]", re.IGNORECASE)


def clean_message(text: str) -> str:
    """The person's next message from whatever the simulator wrote, or "" if there is none."""
    text = _TURN_BREAK.split(text or "", maxsplit=1)[0]
    text = _LABEL.sub("", text.strip()).strip().strip('"“”').strip()
    if len(text) > LONGEST:
        cut = text.rfind(" ", 0, LONGEST)
        text = text[: cut if cut > 0 else LONGEST].rstrip()
    return text


class UserSimulator:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.spec = getattr(backend, "spec", "simulator")

    def prompt(self, persona: str, said: list[tuple[str, str]]) -> list[Message]:
        talk = "\n".join(f"PERSON: {user}\nASSISTANT: {reply}" for user, reply in said)
        ask = (f"You play a person talking to a support chatbot. Who they are: {persona}\n\n"
               f"The conversation so far:\n{talk}\n\n"
               "Write only the person's next message: one to three sentences, in their own voice and "
               "language, reacting to the assistant's last reply. Do not write the assistant's part.")
        return [Message("system", "You write realistic messages for one side of a conversation."), Message("user", ask)]

    def next_message(self, persona: str, said: list[tuple[str, str]]) -> str:
        try:
            text = "".join(self.backend.generate(self.prompt(persona, said), GenerateOptions(max_tokens=160, temperature=0.7)))
        except TypingcureError:
            return ""
        return clean_message(text)
