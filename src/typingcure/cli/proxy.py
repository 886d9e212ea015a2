"""`typingcure proxy`: the alignment proxy, an OpenAI-compatible server in front of any chatbot.

Everything is checked before it starts listening (the upstream URL, the policy file, the client
keys, the address), so a bad value is one line and exit 2. Keys never come from the command line
(other people on the computer can read it): client keys from a file or TYPINGCURE_PROXY_KEYS, the
upstream's key from TYPINGCURE_UPSTREAM_KEY (or the variable `--upstream-key-env` names).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError, InputError
from .serve import check_address, is_loopback

MIN_KEY_CHARS = 16
_KEY = re.compile(r"[A-Za-z0-9._~+/=-]+")


def read_keys(path: Path | None) -> frozenset[str]:
    """Client keys: one a line in `path` (`#` comments), and any in TYPINGCURE_PROXY_KEYS (commas)."""
    found: list[str] = [k.strip() for k in os.environ.get("TYPINGCURE_PROXY_KEYS", "").split(",") if k.strip()]
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the keys file {path}: {exc}") from None
        found += [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for key in found:
        if len(key) < MIN_KEY_CHARS or not _KEY.fullmatch(key):
            raise InputError(f"a client key must be at least {MIN_KEY_CHARS} characters of letters, digits and . _ ~ + / = - "
                             f"(for example {secrets.token_urlsafe(24)})")
    return frozenset(found)


@click.command("proxy")
@click.option("--upstream", required=True, help="the OpenAI-compatible server's base URL, e.g. http://127.0.0.1:8080/v1")
@click.option("--model", help="the model name sent upstream (default: the one each request names)")
@click.option("--policy", "policy_file", type=click.Path(path_type=Path, dir_okay=False),
              help="a YAML or JSON policy file (design/proxy.md)")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8100, show_default=True)
@click.option("--keys-file", type=click.Path(path_type=Path, dir_okay=False),
              help="client API keys, one a line; required to bind beyond this computer (or TYPINGCURE_PROXY_KEYS)")
@click.option("--upstream-key-env", default="TYPINGCURE_UPSTREAM_KEY", show_default=True,
              help="the environment variable that holds the upstream's API key, if it needs one")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="worker processes behind the one address (each loads the assessor: about 250 MB)")
def proxy_command(upstream: str, model: str | None, policy_file: Path | None, host: str, port: int,
                  keys_file: Path | None, upstream_key_env: str, workers: int) -> None:
    """Serve /v1/chat/completions in front of UPSTREAM, every request through typingcure's pipeline."""
    from ..proxy import load_policy
    from ..proxy.upstream import check_url

    check_url(upstream)
    load_policy(policy_file)
    keys = read_keys(keys_file)
    if not is_loopback(host) and not keys:
        raise InputError(f"refusing to serve on {host} without client keys: anyone on the network could use the "
                         "upstream through it. Give --keys-file (one key a line) or TYPINGCURE_PROXY_KEYS")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", upstream_key_env):
        raise ConfigError(f"--upstream-key-env must name an environment variable, not {upstream_key_env!r}")
    check_address(host, port)
    # What each worker builds its proxy from (every one the same; nothing is shared between them).
    os.environ[CONFIG_VARIABLE] = json.dumps({"upstream": upstream, "model": model, "upstream_key_env": upstream_key_env,
                                              "policy": str(policy_file) if policy_file else None,
                                              "keys_file": str(keys_file) if keys_file else None})
    import uvicorn

    shown = f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"
    click.echo(f"typingcure proxy at {shown} in front of {upstream}{' (client keys required)' if keys else ''}"
               f"{f', {workers} workers' if workers > 1 else ''}  (Ctrl-C to stop)", err=True)
    uvicorn.run("typingcure.cli.proxy:app_from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, timeout_keep_alive=30)


CONFIG_VARIABLE = "TYPINGCURE_PROXY_CONFIG"


def app_from_environment() -> Any:
    """The proxy app of one worker, from what `typingcure proxy` checked and put in the environment."""
    from ..proxy import Proxy, Upstream, create_proxy_app, load_policy

    config = json.loads(os.environ[CONFIG_VARIABLE])
    policy = load_policy(config["policy"])
    keys = read_keys(Path(config["keys_file"]) if config["keys_file"] else None)
    proxy = Proxy(Upstream(config["upstream"], model=config["model"], key=os.environ.get(config["upstream_key_env"]) or None,
                           timeout=policy.upstream_timeout), policy, keys=keys)
    proxy.warm()
    return create_proxy_app(proxy)
