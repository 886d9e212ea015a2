"""The evaluation harness: measure how therapeutically aligned any chatbot is.

    from typingcure.evals import load_suite, make_target, run_eval, write_reports
    results = run_eval([load_suite("crisis")], [make_target("aligned:local"), make_target("raw:local")])

Suites are data (`suites/*.yaml`), scorers are registered factories with declared dimensions
(`scorers.py`), targets are typingcure's own pipeline (`aligned:BACKEND`), the same model with only
a plain supportive prompt (`raw:BACKEND`), or any OpenAI-compatible chatbot (`http:MODEL@URL`).
Results are versioned JSON that two runs can be compared on; reports are a terminal table, JSON
and a self-contained HTML page.
"""

from .report import compare, summarise, write_reports
from .runner import run_eval
from .suite import Scenario, Suite, load_suite, suite_names
from .targets import make_target

__all__ = ["Scenario", "Suite", "compare", "load_suite", "make_target", "run_eval", "suite_names", "summarise",
           "write_reports"]
