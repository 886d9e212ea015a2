"""`typingcure eval run|compare|list`: measure any chatbot on the scenario suites."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..backends import backend_from_spec
from ..config import load_settings
from ..errors import InputError


def _print_table(head: list[str], rows: list[list[str]]) -> None:
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*head)
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        return
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))


@click.group("eval")
def eval_group() -> None:
    """Measure how therapeutically aligned a chatbot is, on readable scenario suites."""


@eval_group.command("list")
def list_command() -> None:
    """The built-in suites and how many scenarios each has."""
    from ..evals import load_suite, suite_names

    for name in suite_names():
        suite = load_suite(name)
        click.echo(f"{name:<22} {len(suite.scenarios):>3}  {suite.description}")


@eval_group.command("run")
@click.argument("suites", nargs=-1, required=True)
@click.option("--target", "targets", multiple=True, required=True,
              help="aligned:BACKEND | raw:BACKEND | http:MODEL@URL (repeatable)")
@click.option("--judge", help="a backend spec for the rubric judge (optional)")
@click.option("--simulate", "simulate", help="a backend spec that plays the person in scenarios with a simulate: block (optional)")
@click.option("--out", type=click.Path(path_type=Path), default=Path("typingcure-eval"), show_default=True)
@click.option("--workers", type=int, default=4, show_default=True, help="conversations at once for remote targets")
@click.option("--no-resume", is_flag=True, help="start again instead of continuing an interrupted run")
def run_command(suites: tuple[str, ...], targets: tuple[str, ...], judge: str | None, simulate: str | None, out: Path,
                workers: int, no_resume: bool) -> None:
    """Run SUITES (built-in names or .yaml paths) against every --target; write JSON and HTML reports."""
    from rich.progress import Progress

    from ..evals import load_suite, make_target, run_eval, summarise, write_reports
    from ..evals.judge import Judge
    from ..evals.simulate import UserSimulator
    from ..evals.report import table_rows

    if workers < 1:
        raise InputError("--workers must be at least 1")
    settings = load_settings()
    loaded = [load_suite(s) for s in suites]
    made = [make_target(t, settings) for t in targets]
    judge_model = Judge(backend_from_spec(judge, timeout=settings.timeout)) if judge else None
    simulator = UserSimulator(backend_from_spec(simulate, timeout=settings.timeout)) if simulate else None
    total = sum(len(s.scenarios) for s in loaded) * len(made)
    with Progress(disable=not sys.stderr.isatty(), transient=True) as bar:
        task = bar.add_task("evaluating", total=total)
        results = run_eval(loaded, made, out_dir=out, judge=judge_model, workers=workers, resume=not no_resume,
                           progress=lambda _msg: bar.advance(task), simulator=simulator)
    json_path, html_path = write_reports(results, out)
    _print_table(*table_rows(summarise(results)))
    click.echo(f"\nresults: {json_path}\nreport:  {html_path}")


@eval_group.command("compare")
@click.argument("a", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("b", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def compare_command(a: Path, b: Path) -> None:
    """Compare two results.json files, dimension by dimension."""
    from ..evals import compare

    try:
        head, rows = compare(a, b)
    except (ValueError, KeyError) as exc:
        raise InputError(f"cannot compare: {exc}") from None
    _print_table(head, rows)
