"""A record kept in the encrypted store as one value (the personas, the exercise cards, time spent,
the person's outcomes, kept summaries)."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel


class Kept(BaseModel):
    store_name: ClassVar[str] = ""  # the record it is kept as (a class that uses kept_in and keep names it)

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

    @classmethod
    def kept_in(cls, store: Any) -> Self:
        """The record kept in an open store, or an empty one (no store: history is off)."""
        return cls.load(store.get(cls.store_name) if store is not None else None)

    def keep(self, store: Any) -> None:
        """Kept in `store` (encrypted) when one is open; with history off, nothing is written."""
        if store is not None:
            store.put(self.store_name, self.model_dump(mode="json"))
