"""The shape of the code: what it takes to extend typingcure, and how the code itself measures.

    .venv/bin/python benchmarks/code.py [--suite] [--out benchmarks/results/code.json]

- files touched to add a guard, a role and a language, counted by really adding each one in a
  temporary folder and running a turn with it (a guard: its module and one line of config.toml;
  a role: one file; a language: one folder);
- the longest functions in src/ (by lines, from the syntax tree);
- mypy errors and ruff findings on src/ (the configuration in pyproject.toml);
- with --suite, the test suite's wall time (the whole of `pytest -q`).
Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _report import print_table, write_json  # benchmarks/_report.py

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "typingcure"
PY = sys.executable


def longest_functions(top: int = 8) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno:
                where = f"{path.relative_to(SRC.parent)}:{node.lineno} {node.name}"
                found.append((where, node.end_lineno - node.lineno + 1))
    return sorted(found, key=lambda f: -f[1])[:top]


def count(command: list[str], pattern: str) -> int:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    return len(re.findall(pattern, done.stdout, re.M))


GUARD = '''
from typingcure.registry import register
from typingcure.types import CheckResult


@register("guard", "no_shouting")
class NoShouting:
    spec = "no_shouting"

    def check(self, sentence, ctx):
        loud = sum(c.isupper() for c in sentence) > 8 and sentence.upper() == sentence
        return CheckResult(guard=self.spec, verdict="replace" if loud else "pass", original=sentence,
                           released=ctx.replies["fallback"] if loud else sentence, explanation="capitals")
'''

TURN = '''
import sys
from typingcure import Profile, ScriptedBackend, Session, build_parts, load_settings, run_turn
import no_shouting  # the plugin module (a package would name it under the typingcure.plugins entry point)

parts = build_parts(ScriptedBackend(["I HEAR HOW HARD THIS IS FOR YOU."], capable=True), load_settings({}))
turn = run_turn(Session(profile=Profile(country="GB")), "a long day", parts)
sys.exit(0 if "guard:no_shouting:replace" in turn.actions else 1)
'''


def files_to_add_a_guard() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        home, code = Path(tmp) / "home", Path(tmp) / "code"
        home.mkdir()
        code.mkdir()
        touched = [code / "no_shouting.py", home / "config.toml"]
        touched[0].write_text(GUARD, "utf-8")
        touched[1].write_text('[turn]\nadd = [{name = "no_shouting", after = "refusal"}]\n', "utf-8")
        (Path(tmp) / "turn.py").write_text(TURN, "utf-8")
        env = {**os.environ, "TYPINGCURE_HOME": str(home), "PYTHONPATH": str(code)}
        ran = subprocess.run([PY, str(Path(tmp) / "turn.py")], env=env, capture_output=True, text=True)
        return len(touched) if ran.returncode == 0 else -1


def files_to_add_a_role() -> int:
    """A role is one file in the package's roles folder: added, listed and loaded, then removed."""
    path = SRC / "roles" / "zz_benchmark.yaml"
    path.write_text(textwrap.dedent("""\
        name: zz_benchmark
        title: Benchmark role
        summary: Used only while measuring.
        speaks: always
        intro: A role added as one file.
        prompt: Listen and reflect.
        """), "utf-8")
    try:
        check = "from typingcure.roles import load_role; assert load_role('zz_benchmark').name == 'zz_benchmark'"
        ran = subprocess.run([PY, "-c", check], capture_output=True, text=True)
        return 1 if ran.returncode == 0 else -1
    finally:
        path.unlink()


def files_to_add_a_language() -> str:
    test = ROOT / "tests" / "test_languages.py"
    if not test.exists():
        return "not measured (no tests/test_languages.py)"
    ran = subprocess.run([PY, "-m", "pytest", "-q", str(test), "-k", "toy"], cwd=ROOT, capture_output=True, text=True)
    return "1 folder" if ran.returncode == 0 else "the toy-language test failed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="store_true", help="also time the whole test suite")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "code.json")
    args = parser.parse_args()
    functions = longest_functions()
    mypy = count([PY, "-m", "mypy", "src"], r"error:")
    ruff = count([PY, "-m", "ruff", "check", "src", "--output-format", "concise"], r"^\S+:\d+:\d+:")
    results = {"guard_files": files_to_add_a_guard(), "role_files": files_to_add_a_role(),
               "language": files_to_add_a_language(), "mypy_errors": mypy, "ruff_findings": ruff,
               "longest_functions": functions}
    if args.suite:
        started = time.perf_counter()
        subprocess.run([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True)
        results["suite_seconds"] = round(time.perf_counter() - started, 1)
    rows = [("files to add a guard (module + config line)", results["guard_files"], "2"),
            ("files to add a role", results["role_files"], "1"),
            ("to add a language", results["language"], "1 folder"),
            ("mypy errors on src/", mypy, "0"), ("ruff findings on src/", ruff, "0"),
            *[(f"longest: {name}", lines, "≤ 60") for name, lines in functions[:5]]]
    if args.suite:
        rows.append(("test suite, seconds", results["suite_seconds"], "≤ 240"))
    print_table(rows, value_width=10)
    write_json(args.out, results)


if __name__ == "__main__":
    main()
