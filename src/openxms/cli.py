"""`openxms` command line."""

from __future__ import annotations

import gc
import logging
import sys

import click

from . import __version__, config


@click.group()
@click.version_option(__version__, prog_name="openxms")
def main() -> None:
    """openxms: the Sinch SMS REST API on your own machine."""


@main.command()
@click.option("--host", default=None, help="Listen address (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Listen port (default 8080).")
@click.option("--database", default=None, help="sqlite:///path or postgresql://... (default: SQLite in the data dir).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TOML configuration file.")
@click.option("--data-dir", default=None, help="Directory for the SQLite database (default ./data).")
@click.option("--clock", type=click.Choice(["system", "manual"]), default=None,
              help="manual: time stands still until POST /clock/advance (for tests).")
@click.option("--role", type=click.Choice(["all", "api", "engine"]), default=None,
              help="all (default): API and delivery engine in one process.")
@click.option("--allowed-host", "allowed_hosts", multiple=True,
              help="A Host name the control plane (/simulator, /clock, web UI) also answers; '*' for any.")
@click.option("--insecure-control", is_flag=True, default=None,
              help="Allow a non-loopback --host without OPENXMS_CONTROL_TOKEN (anyone who reaches the port "
                   "can then drive the simulator and the clock).")
@click.option("--log-level", default="info", show_default=True)
@click.option("--access-log/--no-access-log", default=False, show_default=True)
def serve(host, port, database, config_file, data_dir, clock, role, allowed_hosts, insecure_control, log_level,
          access_log) -> None:
    """Run the API server (and the delivery engine)."""
    import uvicorn

    from .app import build

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = config.load(config_file, host=host, port=port, database_url=database, data_dir=data_dir,
                               clock=clock, role=role, allowed_hosts=tuple(allowed_hosts) or None,
                               insecure_control=insecure_control)
        _check_exposure(settings)
        app, ctx = build(settings)
    except config.ConfigError as e:
        raise click.ClickException(str(e)) from None
    s = ctx.settings
    click.echo(f"openxms {__version__}: http://{s.host}:{s.port}  database: {_redact(s.database)}  clock: {s.clock}")
    if ctx.dev_account is not None:
        a = ctx.dev_account
        click.echo(f"dev service plan id: {a.id}")
        click.echo(f"dev API token:       {a.token}")
        click.echo(f"try: curl -H 'Authorization: Bearer {a.token}' http://{s.host}:{s.port}/xms/v1/{a.id}/batches")
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

    Server(uvicorn.Config(app, host=s.host, port=s.port, log_level=log_level, access_log=access_log,
                          loop="uvloop", http="httptools", lifespan="on", timeout_graceful_shutdown=5,
                          proxy_headers=False, server_header=False)).run()


def _check_exposure(s: config.Settings) -> None:
    """The control plane has no authentication unless a control token is set: refuse to listen
    beyond loopback without one, unless told to (docs/security.md)."""
    if s.host in ("127.0.0.1", "localhost", "::1") or s.host.startswith("127."):
        return
    if s.control_token:
        return
    if not s.insecure_control:
        raise config.ConfigError(f"--host {s.host} exposes /simulator and /clock to the network: set "
                                 "OPENXMS_CONTROL_TOKEN (or control_token), or pass --insecure-control")
    logging.getLogger("openxms").warning("listening on %s with an unauthenticated control plane "
                                         "(--insecure-control)", s.host)


def _smsc():
    from .connectors.smpp.smsc_cli import smsc

    return smsc


main.add_command(_smsc(), "smsc")


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url
