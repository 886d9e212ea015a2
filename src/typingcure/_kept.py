"""A record kept in the encrypted store as one value (the personas, the exercise cards)."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel


class Kept(BaseModel):
    @classmethod
    def load(cls, raw: Any) -> Self:
        """From the store; a record that does not read as this one gives an empty one, so one damaged
        record never stops the app."""
        if not isinstance(raw, dict):
            return cls()
        try:
            return cls.model_validate(raw)
        except ValueError:
            return cls()
