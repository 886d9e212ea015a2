"""YAML read with libyaml when PyYAML was built with it (about ten times faster; the data files
are read at every start), else with PyYAML's own safe loader. Both build plain data only."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # a safe loader, C or Python


def names_in(package: str, first: Sequence[str] = ()) -> list[str]:
    """The data files of a package (`<name>.yaml`, not `_<name>.yaml`): those in `first` in that
    order, then any other by name (a role or an exercise added as a file)."""
    found = {p.name.removesuffix(".yaml") for p in files(package).iterdir()
             if p.name.endswith(".yaml") and not p.name.startswith("_")}
    return [n for n in first if n in found] + sorted(found - set(first))
