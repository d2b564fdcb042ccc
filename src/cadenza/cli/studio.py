"""`cadenza studio`: the web studio and its HTTP API on this machine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(app: typer.Typer) -> None:
    app.command()(studio)


def studio(
    host: str = typer.Option("127.0.0.1", help="address to serve on; any but this machine's own needs a token"),
    port: int = typer.Option(0, help="port [default: a free one, printed]"),
    token: Optional[str] = typer.Option(
        None, help="the token every request must carry [default: none on 127.0.0.1, else a new one, printed]"
    ),
    dir_: Optional[Path] = typer.Option(
        None, "--dir", help="where pieces and their histories are kept [default: ~/.cadenza/studio]"
    ),
    workers: int = typer.Option(1, help="jobs run at once (each a process; two cores: one job and the server)"),
    queue: int = typer.Option(8, help="jobs that may wait; more are refused with 429 and Retry-After"),
    time_limit: float = typer.Option(300.0, help="seconds a job may run before it is stopped"),
    no_browser: bool = typer.Option(False, "--no-browser", help="do not open a web browser"),
):
    """Open Cadenza Studio in the browser: compose, harmonize, edit and listen, with an HTTP API under /api."""
    import secrets
    import socket
    import webbrowser

    import uvicorn

    from cadenza.cli.common import say
    from cadenza.errors import OptionError
    from cadenza.studio.app import create_app

    if workers < 1 or queue < 0 or time_limit <= 0:
        raise OptionError("--workers must be at least 1, --queue at least 0 and --time-limit above 0")
    if host not in LOOPBACK and not token:
        token = secrets.token_urlsafe(16)
    home = Path(os.environ.get("CADENZA_HOME", Path.home() / ".cadenza"))
    root = (dir_ or home / "studio").expanduser()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OptionError(f"--dir {root}: cannot use it ({e.strerror})") from None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        raise OptionError(f"cannot serve on {host}:{port} ({e.strerror})") from None
    sock.listen(128)
    bound = sock.getsockname()[1]
    shown = socket.gethostname() if host in ("0.0.0.0", "::") else f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/" + (f"?token={token}" if token else "")
    hosts = set(LOOPBACK) if host in LOOPBACK else None  # off loopback, the token guards it
    app = create_app(root, token=token, workers=workers, max_waiting=queue, time_limit=time_limit, hosts=hosts)
    say(f"Cadenza Studio: {url}  (pieces in {root}; the API under /api, described at /api/docs; Ctrl-C stops it)")
    if not no_browser:
        webbrowser.open(url)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    server.run(sockets=[sock])
