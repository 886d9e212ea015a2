"""typingcure: a private, therapeutically aligned support companion, and the toolkit behind it.

The public surface is what `__all__` lists; everything else may change.
"""

from ._version import __version__
from .api import assess, reply
from .backends import Backend, GenerateOptions, backend_from_spec
from .backends.scripted import ScriptedBackend
from .config import Settings, load_settings, user_dir
from .errors import BackendError, ConfigError, InputError, TypingcureError
from .pipeline import Parts, Session, build_parts, run_turn
from .registry import register
from .types import (
    CheckResult,
    Message,
    PolicyDecision,
    Profile,
    RiskAssessment,
    TurnResult,
)

__all__ = [
    "Backend",
    "BackendError",
    "CheckResult",
    "ConfigError",
    "GenerateOptions",
    "InputError",
    "Message",
    "Parts",
    "PolicyDecision",
    "Profile",
    "RiskAssessment",
    "ScriptedBackend",
    "Session",
    "Settings",
    "TurnResult",
    "TypingcureError",
    "__version__",
    "assess",
    "backend_from_spec",
    "build_parts",
    "load_settings",
    "register",
    "reply",
    "run_turn",
    "user_dir",
]
