"""The `typingcure` entry point: the command groups, and one place that turns errors into one line."""

from __future__ import annotations

import os
import sys

import click

from .._version import __version__
from ..errors import TypingcureError
from .assess import assess_command
from .chat import chat_command
from .evals import eval_group
from .models import models_group
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
for _command in (history_command, export_command, forget_command, wipe_command, passphrase_command):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    debug = os.environ.get("TYPINGCURE_DEBUG") == "1"
    try:
        cli.main(args=argv, prog_name="typingcure", standalone_mode=False)
    except TypingcureError as exc:
        if debug:
            raise
        sys.stderr.write(f"typingcure: {exc.message}\n")
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


if __name__ == "__main__":
    main()
