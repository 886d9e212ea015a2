"""The `typingcure` entry point: the command groups, and one place that turns errors into one line.

Every failure ends as one line on stderr, `typingcure: <what went wrong and what to do>`, and an
exit code: 2 bad input or setting, 3 model, 4 download, 5 passphrase, 6 store, 1 anything
unforeseen (a bug), 130 interrupted. `TYPINGCURE_DEBUG=1` shows the traceback instead.
"""

from __future__ import annotations

import logging
import os
import sys

import click

from .._version import __version__
from ..errors import TypingcureError
from .assess import assess_command
from .chat import chat_command
from .countries import countries_command
from .culture import culture_group
from .evals import eval_group
from .exercise import exercise_group
from .models import models_group
from .outcomes import outcomes_group
from .proxy import proxy_command
from .reply import reply_command
from .serve import serve_command
from .store_cmds import export_command, forget_command, history_command, passphrase_command, wipe_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="typingcure")
def cli() -> None:
    """typingcure: a private place to type things out, with a safety layer that does not depend on the model.

    Not a treatment and not an emergency service: if you are in danger now, call your local
    emergency number.
    """


cli.add_command(chat_command)
cli.add_command(reply_command)
cli.add_command(assess_command)
cli.add_command(models_group)
cli.add_command(eval_group)
cli.add_command(serve_command)
cli.add_command(proxy_command)
cli.add_command(countries_command)
cli.add_command(culture_group)
cli.add_command(exercise_group)
cli.add_command(outcomes_group)
for _command in (history_command, export_command, forget_command, wipe_command, passphrase_command):
    cli.add_command(_command)


def quiet_logging() -> None:
    """Warnings and errors only: a library that sets INFO on import (wordllama does) must not print
    every HTTP request to the model server on stderr."""
    logging.basicConfig(level=logging.WARNING, format="typingcure: %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING)


def one_line(message: str) -> str:
    return " ".join(message.split())


def main(argv: list[str] | None = None) -> None:
    debug = os.environ.get("TYPINGCURE_DEBUG") == "1"
    quiet_logging()
    try:
        cli.main(args=argv, prog_name="typingcure", standalone_mode=False)
    except TypingcureError as exc:
        if debug:
            raise
        sys.stderr.write(f"typingcure: {one_line(exc.message)}\n")
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.stderr.write("\n")
        sys.exit(130)
    except click.ClickException as exc:
        sys.stderr.write(f"typingcure: {exc.format_message()}\n")
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        if debug:
            raise
        sys.stderr.write(f"typingcure: unexpected error ({type(exc).__name__}: {one_line(str(exc))[:300]}); "
                         "this is a bug, please report it (TYPINGCURE_DEBUG=1 shows where it happened)\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
