"""`typingcure serve`: the web app, on this computer only unless you give an access token.

Everything is checked before the server starts (the settings, the backend spec, the token, the
idle time, that the address can be listened on), so a bad value is one line and exit 2, never a
server that starts and fails on the first message. The backend is made, not loaded: no model is
read and no server is called until the first message.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import secrets
import socket
from typing import Any

import click

from ..backends import backend_from_spec
from ..config import load_settings, user_dir
from ..errors import InputError

MIN_TOKEN_CHARS = 16
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]+")  # what a URL carries as it is (RFC 3986 "unreserved")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_token(token: str, where: str) -> None:
    example = secrets.token_urlsafe(16)
    if len(token) < MIN_TOKEN_CHARS:
        raise InputError(f"the access token ({where}) is {len(token)} character{'' if len(token) == 1 else 's'}; use at least {MIN_TOKEN_CHARS}, "
                         f"for example {example}")
    if not _TOKEN_CHARS.fullmatch(token):
        raise InputError(f"the access token ({where}) may hold only letters, digits and . _ ~ - (it travels in a URL), "
                         f"for example {example}")


def positive_minutes(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise click.BadParameter(f"must be a number of minutes above 0, not {value}")
    return value


def check_address(host: str, port: int) -> None:
    """Bind every address the server will, and let go: a port in use or a name that does not resolve is
    said now, in one line (as asyncio's create_server binds: a family this machine lacks is skipped)."""
    try:
        for family, kind, proto, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
            try:
                probe = socket.socket(family, kind, proto)
            except OSError:
                continue
            with probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                probe.bind(address)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port or --host") from None


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--token", help=f"required to bind beyond this computer (or TYPINGCURE_WEB_TOKEN); at least {MIN_TOKEN_CHARS} characters")
@click.option("--backend", help="local | local:/path/model.gguf | openai:MODEL@URL | scripted:FILE")
@click.option("--idle-minutes", type=float, default=15, show_default=True, callback=positive_minutes,
              help="lock the history after this long idle")
@click.option("--multi-user", is_flag=True, help="accounts for many people, in the PostgreSQL database of TYPINGCURE_DATABASE_URL")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="worker processes behind the one address (with --multi-user)")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="a name the service is reached by besides --host (behind a reverse proxy); repeatable")
@click.option("--sign-ups-per-hour", type=click.IntRange(1, 1_000_000), default=20, show_default=True,
              help="with --multi-user: new accounts from one address in an hour (raise it when many people share one address)")
@click.option("--sign-ins-per-10-minutes", "sign_ins", type=click.IntRange(1, 1_000_000), default=60, show_default=True,
              help="with --multi-user: sign-in attempts from one address in ten minutes")
@click.option("--admin-key-env", default="TYPINGCURE_ADMIN_KEY", show_default=True,
              help="with --multi-user: the environment variable holding the key of /admin (counts only); unset: no /admin")
def serve_command(host: str, port: int, token: str | None, backend: str | None, idle_minutes: float,
                  multi_user: bool, workers: int, allow_hosts: tuple[str, ...], sign_ups_per_hour: int, sign_ins: int,
                  admin_key_env: str) -> None:
    """Start the web app. It binds 127.0.0.1 unless --host and an access token (or --multi-user) are given."""
    where = "--token" if token else "TYPINGCURE_WEB_TOKEN"
    token = token or os.environ.get("TYPINGCURE_WEB_TOKEN") or None
    if token is not None:
        check_token(token, where)
    if multi_user or workers > 1:
        serve_many(host, port, token, backend, idle_minutes, multi_user, workers, allow_hosts, admin_key_env,
                   (sign_ups_per_hour, sign_ins))
        return
    if not is_loopback(host) and not token:
        raise InputError(f"refusing to serve on {host} without an access token: anyone on the network could read "
                         f"your conversations. Add --token (for example --token {secrets.token_urlsafe(16)})")
    settings = load_settings({"backend": backend})
    backend_from_spec(settings.backend, timeout=settings.timeout)  # an unknown or malformed spec fails here
    if settings.assessor_model:
        backend_from_spec(settings.assessor_model, timeout=settings.timeout)
    check_address(host, port)
    import uvicorn

    from ..web.app import create_app

    from ..store import passphrase_from_env
    from ..store.sqlite import secure_home

    for note in secure_home(user_dir()):  # files others could read, made private before anything is served
        click.echo(note, err=True)

    app = create_app(settings, home=user_dir(), token=token, idle_minutes=idle_minutes, hosts=[host], port=port,
                     passphrase=passphrase_from_env() if settings.history != "off" else None)
    code = app.state.tc.start_code
    query = "&".join(q for q in (f"token={token}" if token else "", f"code={code}" if code else "") if q)
    shown = f"http://{f'[{host}]' if ':' in host else host}:{port}/" + (f"?{query}" if query else "")
    click.echo(f"typingcure is at {shown}  (Ctrl-C to stop)", err=True)
    # A bounded number of connections, and idle ones closed soon: many half-open connections from
    # another local process must not use up the file handles and lock the person out.
    uvicorn.run(app, host=host, port=port, log_level="warning", limit_concurrency=64, timeout_keep_alive=5)


CONFIG_VARIABLE = "TYPINGCURE_SERVE_CONFIG"


def serve_many(host: str, port: int, token: str | None, backend: str | None, idle_minutes: float, multi_user: bool,
               workers: int, allow_hosts: tuple[str, ...], admin_key_env: str, limits: tuple[int, int]) -> None:
    """`serve --multi-user`: accounts in PostgreSQL, any number of workers (design/organisations.md)."""
    from ..store import database_url

    if not multi_user:
        raise InputError("--workers above 1 needs --multi-user: the one-person app keeps its open history in one process")
    url = database_url()
    if not url:
        raise InputError("--multi-user keeps each person's history in PostgreSQL: set TYPINGCURE_DATABASE_URL "
                         "(for example postgresql://typingcure@/typingcure?host=/run/postgresql)")
    if token:
        raise InputError("--multi-user has accounts instead of one access token; leave out --token")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", admin_key_env):
        raise InputError(f"--admin-key-env must name an environment variable, not {admin_key_env!r}")
    admin_key = os.environ.get(admin_key_env) or None
    if admin_key is not None and len(admin_key) < MIN_TOKEN_CHARS:
        raise InputError(f"the admin key ({admin_key_env}) is too short; use at least {MIN_TOKEN_CHARS} characters")
    settings = load_settings({"backend": backend})
    backend_from_spec(settings.backend, timeout=settings.timeout)
    from ..store.accounts import Accounts

    Accounts(url)  # the database is reachable and migrated, before any worker starts
    check_address(host, port)
    os.environ[CONFIG_VARIABLE] = json.dumps({"backend": backend, "idle_minutes": idle_minutes, "host": host, "port": port,
                                              "hosts": [host, *allow_hosts], "admin_key_env": admin_key_env,
                                              "sign_ups": limits[0], "sign_ins": limits[1]})
    import uvicorn

    shown = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
    click.echo(f"typingcure (accounts) is at {shown}{f', {workers} workers' if workers > 1 else ''}  (Ctrl-C to stop)",
               err=True)
    if not is_loopback(host):
        click.echo("Passwords travel to this address: serve it over HTTPS (a reverse proxy in front, "
                   "with --allow-host its name).", err=True)
    uvicorn.run("typingcure.cli.serve:app_from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, timeout_keep_alive=5, limit_concurrency=1024)


def app_from_environment() -> Any:
    """The app of one worker of `serve --multi-user`, from what the command checked."""
    from ..store import database_url
    from ..store.accounts import Accounts
    from ..web.app import create_app

    config = json.loads(os.environ[CONFIG_VARIABLE])
    settings = load_settings({"backend": config["backend"]})
    url = database_url()
    assert url
    return create_app(settings, home=user_dir(), idle_minutes=config["idle_minutes"], hosts=config["hosts"],
                      port=config["port"], accounts=Accounts(url, idle_seconds=config["idle_minutes"] * 60, sign_ups=config["sign_ups"],
                                        sign_ins=config["sign_ins"]),
                      admin_key=os.environ.get(config["admin_key_env"]) or None)
