"""`openxms` command line."""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import os
import socket
import sqlite3
import sys

import click

from . import __version__, config, logs
from .store.engine_lock import EngineRunning

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


@click.group()
@click.version_option(__version__, prog_name="openxms")
def main() -> None:
    """openxms: the Sinch SMS REST API on your own machine."""


@main.command(
    epilog="\b\nEnvironment variables (they override the --config file; flags override them):\n"
    + config.environment_help()
    + "\n\nEvery setting: docs/configuration.md."
)
@click.option("--host", default=None, help="Listen address (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Listen port (default 8080).")
@click.option("--database", default=None, help="sqlite:///path or postgresql://... (default: SQLite in the data dir).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="TOML configuration file.",
)
@click.option("--data-dir", default=None, help="Directory for the SQLite database (default ./data).")
@click.option(
    "--clock",
    type=click.Choice(["system", "manual"]),
    default=None,
    help="manual: time stands still until POST /clock/advance (for tests).",
)
@click.option(
    "--role",
    type=click.Choice(["all", "api", "engine"]),
    default=None,
    help="all (default): API and delivery engine in one process.",
)
@click.option(
    "--reuse-port",
    is_flag=True,
    default=None,
    help="Share the port with other openxms processes (SO_REUSEPORT): several --role api processes "
    "in front of one engine.",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    help="A Host name the control plane (/simulator, /clock, web UI) also answers; '*' for any.",
)
@click.option(
    "--insecure-control",
    is_flag=True,
    default=None,
    help="Allow a non-loopback --host without OPENXMS_CONTROL_TOKEN (anyone who reaches the port "
    "can then drive the simulator and the clock).",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    help="An origin (https://app.example) whose browser pages may call the APIs (repeatable; '*' for any).",
)
@click.option("--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False), default="info", show_default=True)
@click.option("--log-format", type=click.Choice(logs.FORMATS), default="human", show_default=True)
@click.option("--access-log/--no-access-log", default=False, show_default=True)
def serve(
    host,
    port,
    database,
    config_file,
    data_dir,
    clock,
    role,
    reuse_port,
    allowed_hosts,
    insecure_control,
    cors_origins,
    log_level,
    log_format,
    access_log,
) -> None:
    """Run the API server (and the delivery engine)."""
    import uvicorn

    from .app import build

    log_level = log_level.lower()
    logs.configure(5 if log_level == "trace" else log_level.upper(), log_format)  # uvicorn's TRACE is 5
    try:
        settings = config.load(
            config_file,
            host=host,
            port=port,
            database_url=database,
            data_dir=data_dir,
            clock=clock,
            role=role,
            reuse_port=reuse_port,
            allowed_hosts=tuple(allowed_hosts) or None,
            insecure_control=insecure_control,
            cors_origins=tuple(cors_origins) or None,
        )
        _check_exposure(settings)
    except config.ConfigError as e:
        raise click.ClickException(str(e)) from None
    # The port first: a second server on a busy port must fail before it migrates, takes the
    # delivery lease or sends anything.
    sock = _listen(settings.host, settings.port, settings.reuse_port)
    try:
        app, ctx = build(settings)
    except config.ConfigError as e:
        sock.close()
        raise click.ClickException(str(e)) from None
    except Exception as e:  # noqa: BLE001 - a start-up problem is one line for a person, not a traceback
        sock.close()
        raise click.ClickException(_startup_problem(e, settings)) from None
    if settings.reuse_port:
        sock.listen(BACKLOG)  # started: from now on the kernel may hand this process connections
    s = ctx.settings
    where = config.redact_url(s.database)
    base = f"http://{s.host}:{s.port}"
    click.echo(f"openxms {__version__}: {base}  database: {where}  clock: {s.clock}")
    click.echo(f"web UI:   {base}/")
    click.echo(f"API docs: {base}/docs  (OpenAPI: {base}/openapi.json)")
    if ctx.dev_account is not None:
        a = ctx.dev_account
        click.echo(f"dev service plan id: {a.id}")
        click.echo(f"dev API token:       {a.token}")
        env_file = _write_dev_credentials(s, a, base)
        click.echo(f"export OPENXMS_URL={base} OPENXMS_PLAN={a.id} OPENXMS_TOKEN={a.token}")
        if env_file is not None:
            click.echo(f"(also in {env_file}: . {env_file})")
    else:
        for line in loaded_accounts(s):
            click.echo(line)
    sys.stdout.flush()
    # Long-lived objects made at start-up never need collecting; fewer young-generation passes
    # keep the collector off the request path (~5% of CPU at full load otherwise).
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    from .ui.routes import close_streams

    class Server(uvicorn.Server):
        async def shutdown(self, sockets=None):
            close_streams(ctx)  # open UI event streams would otherwise hold shutdown for 5 s
            await super().shutdown(sockets)

    Server(server_config(app, s.host, s.port, log_level, access_log, own_logging=log_format == "json")).run(
        sockets=[sock]
    )


def loaded_accounts(s: config.Settings) -> list[str]:
    """What start-up loaded, one line per plan, project and Conversation app: never a token or
    secret, only enough of a token to tell two apart (its last 4 characters)."""

    def hint(secret: str | None) -> str:
        return f"...{secret[-4:]}" if secret and len(secret) >= 12 else "***"

    lines = []
    for a in s.accounts:
        rate = "unlimited" if a.rate == 0 else f"{a.rate:g} msg/s"
        if a.connector == "smpp" and a.smpp is not None:
            via = f"smpp {a.smpp.host}:{a.smpp.port} ({a.smpp.binds} bind{'s' if a.smpp.binds > 1 else ''})"
        else:
            via = "simulator"
        if a.kind == "plan":
            lines.append(f"service plan {a.id}: token {hint(a.token)}, {rate}, via {via}")
        else:
            lines.append(f"project {a.id}: key {a.key_id}, secret {hint(a.key_secret)}, {rate}, via {via}")
    for app in s.conversation_apps:
        lines.append(f"conversation app {app.id}: project {app.project}, plan {app.plan}")
    return lines


def _write_dev_credentials(s: config.Settings, a: config.Account, base: str) -> str | None:
    """The dev plan's credentials as shell assignments in `<data dir>/dev-credentials.env`, so
    that the README's examples run as pasted after `. data/dev-credentials.env`. Readable by
    the owner only (it holds a token). None if the file cannot be written (start-up goes on)."""
    path = s.data_dir / "dev-credentials.env"
    names = {"OPENXMS_URL": base, "OPENXMS_PLAN": a.id, "OPENXMS_TOKEN": a.token}
    text = "".join(f"{k}={v}\n" for k, v in names.items()) + f"export {' '.join(names)}\n"
    try:
        s.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
    except OSError as e:
        logging.getLogger("openxms").warning("could not write %s: %s", path, e.strerror)
        return None
    return str(path)


BACKLOG = 2048  # connections the kernel queues for the listening socket


def _listen(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """The listening socket, bound now (uvicorn serves on it), or a ClickException naming the
    address and the reason. With `reuse_port`, other processes that set it too may listen on
    the same address, and the kernel hands each new connection to one of them (Linux
    SO_REUSEPORT, socket(7)); such a socket is only bound here and listens once start-up has
    succeeded (`serve`), so the kernel sends no connection to a process still migrating, or
    about to be refused (a second engine), while its siblings could take it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise click.ClickException(f"cannot listen on {host}:{port}: {e.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
        if not reuse_port:
            sock.listen(BACKLOG)
    except OSError as e:
        sock.close()
        busy = " (is another openxms running? --port picks another)" if e.errno == errno.EADDRINUSE else ""
        raise click.ClickException(f"cannot listen on {host}:{port}: {e.strerror}{busy}") from None
    sock.set_inheritable(True)
    return sock


def _startup_problem(e: Exception, settings: config.Settings) -> str:
    """One line for what stopped start-up: the database that cannot be reached, the data
    directory that cannot be made."""
    import psycopg

    where = config.redact_url(settings.database)
    if isinstance(e, EngineRunning):
        return str(e)
    if isinstance(e, psycopg.OperationalError):
        cause = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return f"cannot connect to the database {where}: {cause}"
    if isinstance(e, OSError):
        return f"cannot use {e.filename or settings.data_dir}: {e.strerror or e}"
    if isinstance(e, sqlite3.Error):
        return f"cannot open the database {where}: {e}"
    return f"start-up failed: {type(e).__name__}: {e}"


def server_config(
    app, host: str, port: int, log_level: str = "info", access_log: bool = False, own_logging: bool = False
):
    """uvicorn's settings: httptools, with the request-reading bounds of `BoundedHttpTools`."""
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        log_config=None if own_logging else LOGGING_CONFIG,  # None: uvicorn's loggers reach our handler
        loop="uvloop",
        http=bounded_http_tools(),
        lifespan="on",
        timeout_graceful_shutdown=5,
        proxy_headers=False,
        server_header=False,
    )


def bounded_http_tools(
    head_timeout: float = 10.0,
    body_timeout: float = 20.0,
    body_min_rate: float = 500.0,
    max_head_bytes: int = 64 * 1024,
):
    """uvicorn's httptools protocol with limits on reading a request, which it has none of.

    uvicorn arms its only timer (`timeout_keep_alive`) after a response; a connection that sends
    nothing, or a request head or body one byte at a time, is held for ever, and a head is
    buffered however long it grows (200 MB of one header took the process from 48 to 306 MB;
    docs/reliability.md). The remedy is Apache's mod_reqtimeout
    (https://httpd.apache.org/docs/2.4/mod/mod_reqtimeout.html): the head must be complete
    `head_timeout` s after the connection opened (or, on a kept-alive connection, after the
    next request's first byte; the idle time in between is uvicorn's keep-alive timeout), and
    the body must arrive within `body_timeout` s plus 1 s per `body_min_rate` bytes received,
    so a slow but steady upload passes and a drip does not. A late head is answered 408, an
    oversized one 431 (RFC 6585, section 5), and the connection closed. Not chosen:
    `limit_concurrency` (idle connections count against it, so it turns a slowloris into 503s
    for everyone) and `h11_max_incomplete_event_size` (h11 only, and sizes are not time)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class BoundedHttpTools(HttpToolsProtocol):
        HEAD_TIMEOUT, BODY_TIMEOUT, BODY_MIN_RATE, MAX_HEAD = head_timeout, body_timeout, body_min_rate, max_head_bytes

        def connection_made(self, transport) -> None:
            self._timer: asyncio.TimerHandle | None = None
            self._in_head, self._head_bytes, self._body_bytes, self._body_start = True, 0, 0, 0.0
            super().connection_made(transport)
            self._arm(self.HEAD_TIMEOUT, self._head_late)

        def _arm(self, delay: float, fn) -> None:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.loop.call_later(delay, fn)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            was_in_head = self._in_head
            super().data_received(data)
            if was_in_head and self._in_head and self.parser is not None and not self.transport.is_closing():
                self._head_bytes += len(data)  # chunks wholly inside one head: what httptools buffers
                if self._head_bytes > self.MAX_HEAD:
                    self._refuse(431, "Request Header Fields Too Large", "the request head is too large")

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head, self._head_bytes = True, 0
            if self._timer is None:  # a kept-alive connection's next request: from its first byte
                self._arm(self.HEAD_TIMEOUT, self._head_late)

        def on_headers_complete(self) -> None:
            self._in_head, self._body_bytes, self._body_start = False, 0, self.loop.time()
            self._arm(self.BODY_TIMEOUT, self._body_late)
            super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            self._body_bytes += len(body)
            super().on_body(body)

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def _head_late(self) -> None:
            self._timer = None
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.keep_alive = False  # a pipelined head behind a running request: close after it
            else:
                self._refuse(408, "Request Timeout", "the request head did not arrive in time")

        def _body_late(self) -> None:
            self._timer = None
            due = self._body_start + self.BODY_TIMEOUT + self._body_bytes / self.BODY_MIN_RATE
            if self.loop.time() < due:
                self._arm(due - self.loop.time(), self._body_late)
                return
            cycle = self.cycle
            if cycle is None or cycle.response_started:
                self.transport.close()
                return
            # The app is waiting for the rest of the body: it now gets http.disconnect and whatever
            # it answers is dropped; the client gets the 408.
            cycle.disconnected = True
            cycle.message_event.set()
            self._refuse(408, "Request Timeout", "the request body did not arrive in time")

        def _refuse(self, status: int, reason: str, text: str) -> None:
            self._disarm()
            body = (
                b'{"code":"request_timeout","text":"%s"}' % text.encode()
                if status == 408
                else b'{"code":"request_too_large","text":"%s"}' % text.encode()
            )
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n%s" % (status, reason.encode(), len(body), body)
            )
            self.transport.close()

    return BoundedHttpTools


def _check_exposure(s: config.Settings) -> None:
    """The control plane has no authentication unless a control token is set: refuse to listen
    beyond loopback without one, unless told to (docs/security.md)."""
    if s.host in ("127.0.0.1", "localhost", "::1") or s.host.startswith("127."):
        return
    if s.control_token:
        return
    if not s.insecure_control:
        raise config.ConfigError(
            f"--host {s.host} exposes /simulator and /clock to the network: set "
            "OPENXMS_CONTROL_TOKEN (or control_token), or pass --insecure-control"
        )
    logging.getLogger("openxms").warning(
        "listening on %s with an unauthenticated control plane (--insecure-control)", s.host
    )


def _smsc():
    from .connectors.smpp.smsc_cli import smsc

    return smsc


main.add_command(_smsc(), "smsc")


def _people_commands() -> None:
    from . import commands

    main.add_command(commands.send, "send")
    main.add_command(commands.status, "status")
    main.add_command(commands.plans, "plans")
    main.add_command(commands.config_group, "config")
    main.add_command(commands.prune, "prune")


_people_commands()
