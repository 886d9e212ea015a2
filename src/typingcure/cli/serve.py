"""`typingcure serve`: the web app, on this computer only unless you give an access token."""

from __future__ import annotations

import ipaddress
import os
import secrets

import click

from ..config import load_settings, user_dir
from ..errors import InputError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--token", help="required to bind beyond this computer (or TYPINGCURE_WEB_TOKEN)")
@click.option("--backend", help="local | local:/path/model.gguf | openai:MODEL@URL | scripted:FILE")
@click.option("--idle-minutes", type=float, default=15, show_default=True, help="lock the history after this long idle")
def serve_command(host: str, port: int, token: str | None, backend: str | None, idle_minutes: float) -> None:
    """Start the web app. It binds 127.0.0.1 unless --host and an access token are given."""
    token = token or os.environ.get("TYPINGCURE_WEB_TOKEN") or None
    if not is_loopback(host) and not token:
        raise InputError(f"refusing to serve on {host} without an access token: anyone on the network could read "
                         f"your conversations. Add --token (for example --token {secrets.token_urlsafe(16)})")
    import uvicorn

    from ..web.app import create_app

    settings = load_settings({"backend": backend})
    app = create_app(settings, home=user_dir(), token=token, idle_minutes=idle_minutes, hosts=[host], port=port)
    shown = f"http://{host}:{port}/" + (f"?token={token}" if token else "")
    click.echo(f"typingcure is at {shown}  (Ctrl-C to stop)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
