"""`openxms` commands for people at a terminal: send a message and watch it, a batch's status,
the plans a server would load, a config file check. `send` and `status` talk to a running
server through its API (the Sinch SMS REST API, as any client would); `plans` and `config
check` read the settings and the database directly. Plain text output (no table library:
one line per item reads well in a terminal and in a script)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
import httpx

from . import config
from .sms import statuses as st

CREDENTIALS = "data/dev-credentials.env"


def _target(url: str | None, plan: str | None, token: str | None, credentials: str) -> tuple[str, str, str]:
    """The server and plan: the options (or OPENXMS_URL / OPENXMS_PLAN / OPENXMS_TOKEN), else the
    dev credentials file `openxms serve` wrote."""
    if not (url and plan and token):
        path = Path(credentials)
        if path.exists():
            values = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
            url, plan, token = (
                url or values.get("OPENXMS_URL"),
                plan or values.get("OPENXMS_PLAN"),
                token or values.get("OPENXMS_TOKEN"),
            )
    missing = [n for n, v in (("--url", url), ("--plan", plan), ("--token", token)) if not v]
    if missing:
        raise click.ClickException(
            f"no {', '.join(missing)}: give them, set OPENXMS_URL / OPENXMS_PLAN / OPENXMS_TOKEN, or run this "
            f"where {credentials} is (openxms serve writes it for its dev plan)"
        )
    assert url and plan and token
    return url.rstrip("/"), plan, token


def _call(method: str, url: str, token: str, **kw) -> dict:
    try:
        r = httpx.request(method, url, headers={"Authorization": f"Bearer {token}"}, timeout=10, **kw)
    except httpx.HTTPError as e:
        raise click.ClickException(f"{url}: {e}") from None
    if r.status_code >= 400:
        try:
            detail = r.json().get("text") or r.text
        except ValueError:
            detail = r.text
        raise click.ClickException(f"{method} {url}: {r.status_code} {detail}")
    return r.json()


def _summary(report: dict) -> tuple[int, str]:
    """(recipients final, "Delivered 2, Failed 1 (153), Queued 1")."""
    done, parts = 0, []
    for s in report.get("statuses", []):
        if s["status"] in st.FINAL:
            done += s["count"]
        code = f" ({s['code']})" if s["code"] not in (0, 400, 401) or s["status"] == "Failed" else ""
        parts.append(f"{s['status']} {s['count']}{code}")
    return done, ", ".join(parts) or "nothing yet"


_server = [
    click.option("--url", envvar="OPENXMS_URL", help="The server (default: from the dev credentials file)."),
    click.option("--plan", envvar="OPENXMS_PLAN", help="Service plan id."),
    click.option("--token", envvar="OPENXMS_TOKEN", help="The plan's API token."),
    click.option("--credentials", default=CREDENTIALS, show_default=True, help="Where openxms serve wrote them."),
]


def _with_server(fn):
    for option in reversed(_server):
        fn = option(fn)
    return fn


@click.command()
@click.option("--to", "to", multiple=True, required=True, help="Recipient MSISDN (repeatable).")
@click.option("--body", required=True)
@click.option("--from", "sender", default="+12025550100", show_default=True)
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait for every recipient's final status.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait.")
@_with_server
def send(to, body, sender, wait, timeout, url, plan, token, credentials) -> None:
    """Send one SMS batch and follow its delivery report."""
    url, plan, token = _target(url, plan, token, credentials)
    batch = _call("POST", f"{url}/xms/v1/{plan}/batches", token, json={"to": list(to), "from": sender, "body": body})
    click.echo(f"batch {batch['id']} to {len(batch['to'])} recipient(s)")
    if not wait:
        return
    total, deadline, line = len(batch["to"]), time.monotonic() + timeout, ""
    while True:
        report = _call("GET", f"{url}/xms/v1/{plan}/batches/{batch['id']}/delivery_report", token)
        done, line = _summary(report)
        if sys.stdout.isatty():
            click.echo(f"\r{done}/{total} final: {line}   ", nl=False)
        if done >= total:
            break
        if time.monotonic() > deadline:
            click.echo("")
            raise click.ClickException(f"not final after {timeout:g} s: {line}")
        time.sleep(0.2)
    click.echo(("\r" if sys.stdout.isatty() else "") + f"{done}/{total} final: {line}   ")


@click.command()
@click.argument("batch_id")
@_with_server
def status(batch_id, url, plan, token, credentials) -> None:
    """A batch's state and its recipients' statuses."""
    url, plan, token = _target(url, plan, token, credentials)
    b = _call("GET", f"{url}/xms/v1/{plan}/batches/{batch_id}", token)
    report = _call("GET", f"{url}/xms/v1/{plan}/batches/{batch_id}/delivery_report", token)
    done, line = _summary(report)
    state = "canceled" if b.get("canceled") else ("scheduled" if b.get("send_at") else "sent")
    click.echo(f"batch {b['id']}: {state}, created {b['created_at']}, {len(b['to'])} recipient(s)")
    click.echo(f"{done}/{len(b['to'])} final: {line}")


@click.command()
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--data-dir", default=None)
@click.option("--database", default=None)
def plans(config_file, data_dir, database) -> None:
    """The service plans and projects a server started here would serve; with none
    configured, the dev plan `openxms serve` made, with its token."""
    from .cli import loaded_accounts

    try:
        s = config.load(config_file, data_dir=data_dir, database_url=database)
    except config.ConfigError as e:
        raise click.ClickException(str(e)) from None
    if s.accounts:
        for line in loaded_accounts(s):
            click.echo(line)
        return
    from .store import meta
    from .store.db import Database, sqlite_path

    if s.database.startswith("sqlite") and not sqlite_path(s.database).exists():
        raise click.ClickException(f"no plans configured and no database at {s.database} yet: run openxms serve")
    import json

    try:
        found = Database(s.database).run_sync(meta.get, "dev_service_plan")
    except Exception as e:  # noqa: BLE001 - one line for a person
        raise click.ClickException(f"cannot read {config.redact_url(s.database)}: {e}") from None
    if found is None:
        raise click.ClickException("no plans configured and no dev plan yet: run openxms serve")
    dev = json.loads(found)
    click.echo(f"dev service plan {dev['id']}: token {dev['token']}, {config.DEFAULT_RATE:g} msg/s, via simulator")


@click.group("config")
def config_group() -> None:
    """Configuration files."""


@config_group.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def check(file) -> None:
    """Load FILE (with the environment) as openxms serve would; say what it holds, or what is wrong."""
    try:
        s = config.load(file)
    except config.ConfigError as e:
        raise click.ClickException(str(e)) from None
    n_plans = sum(1 for a in s.accounts if a.kind == "plan")
    n_projects = len(s.accounts) - n_plans
    click.echo(
        f"{file}: ok ({n_plans} service plan(s), {n_projects} project(s), "
        f"{len(s.conversation_apps)} Conversation app(s))"
    )


@click.command()
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--data-dir", default=None)
@click.option("--database", default=None)
@click.option("--days", type=float, default=None, help="Override retention.days for this run.")
def prune(config_file, data_dir, database, days) -> None:
    """Delete what is older than the retention period now (the server also does it every
    retention.interval seconds), in chunks; safe while a server runs on the same database."""
    from .clock import Clock
    from .engine.retention import DAY_MS, sweep_sync, trim_sync
    from .store import schema
    from .store.db import Database

    try:
        s = config.load(config_file, data_dir=data_dir, database_url=database)
    except config.ConfigError as e:
        raise click.ClickException(str(e)) from None
    keep = s.retention.days if days is None else days
    cap = s.retention.max_messages
    if keep <= 0 and cap is None:
        raise click.ClickException("retention.days is 0: everything is kept (give --days N to prune anyway)")
    db = Database(s.database)
    try:
        schema.migrate(db)
        accounts = sorted({a.id for a in s.accounts} | _dev_plans(db))
        now = Clock().now_ms()
        deleted = sweep_sync(db, accounts, now - int(keep * DAY_MS)) if keep > 0 else {}
        if cap is not None:
            deleted["over max_messages"] = trim_sync(db, accounts, cap, now)
    except Exception as e:  # noqa: BLE001 - one line for a person
        raise click.ClickException(f"cannot prune {config.redact_url(s.database)}: {e}") from None
    total = sum(deleted.values())
    detail = ", ".join(f"{k} {n}" for k, n in deleted.items() if n) or "none"
    click.echo(f"deleted {total} rows older than {keep:g} days ({detail})")


def _dev_plans(db) -> set[str]:
    import json

    from .store import meta

    found = db.run_sync(meta.get, "dev_service_plan")
    return {json.loads(found)["id"]} if found else set()
