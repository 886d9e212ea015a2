"""YAML read with libyaml when PyYAML was built with it (about ten times faster; the data files
are read at every start), else with PyYAML's own safe loader. Both build plain data only."""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # a safe loader, C or Python
