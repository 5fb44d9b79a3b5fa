"""`openxms smsc`: run the bundled SMSC simulator on its own."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import click

from ..outcomes import OutcomeRules
from .smsc import Smsc, SmscOptions


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=2775, show_default=True)
@click.option(
    "--user",
    "users",
    multiple=True,
    metavar="SYSTEM_ID:PASSWORD",
    help="Accepted credentials (repeatable). Default openxms:secret.",
)
@click.option(
    "--id-format",
    type=click.Choice(["hex", "decimal", "mixed"]),
    default="hex",
    show_default=True,
    help="mixed: hex in submit_sm_resp, decimal in the receipt.",
)
@click.option("--latency-ms", type=float, default=0.0, help="Delay before each submit_sm_resp.")
@click.option("--receipt-delay-ms", type=int, default=None, help="Override the rules' receipt delay.")
@click.option("--throttle-every", type=int, default=0, help="Answer every Nth submit_sm with ESME_RTHROTTLED.")
@click.option("--drop-after", type=int, default=0, help="Drop the connection at every Nth submit_sm.")
@click.option("--receipts-first", is_flag=True, help="Send each receipt before the submit_sm_resp.")
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Outcome rules JSON (same format as GET /simulator/rules).",
)
@click.option("--seed", type=int, default=None)
@click.option("--log-level", default="info", show_default=True)
def smsc(
    host,
    port,
    users,
    id_format,
    latency_ms,
    receipt_delay_ms,
    throttle_every,
    drop_after,
    receipts_first,
    rules_file,
    seed,
    log_level,
) -> None:
    """Run the SMSC simulator. Type `mo FROM TO TEXT` on stdin to inject an inbound message."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    creds = {}
    for u in users or ("openxms:secret",):
        sid, sep, pw = u.partition(":")
        if not sep or not sid:
            raise click.BadParameter(f"expected SYSTEM_ID:PASSWORD, got {u!r}", param_hint="--user")
        creds[sid] = pw
    try:
        rules_doc = json.loads(Path(rules_file).read_text()) if rules_file else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise click.ClickException(f"--rules {rules_file}: not a JSON rules file: {e}") from None
    if not isinstance(rules_doc, dict):
        raise click.ClickException(f"--rules {rules_file}: must hold a JSON object (as GET /simulator/rules returns)")
    if seed is not None:
        rules_doc["seed"] = seed
    try:
        rules = OutcomeRules.from_dict(rules_doc)
    except ValueError as e:
        raise click.ClickException(f"bad rules: {e}") from None
    opts = SmscOptions(
        host, port, creds, id_format, latency_ms, throttle_every, drop_after, receipts_first, receipt_delay_ms, rules
    )
    try:
        asyncio.run(_serve(opts))
    except KeyboardInterrupt:
        pass


async def _serve(opts: SmscOptions) -> None:
    server = Smsc(opts)
    try:
        await server.start()
    except OSError as e:
        raise click.ClickException(f"cannot listen on {opts.host}:{opts.port}: {e.strerror}") from None
    click.echo(f"openxms smsc listening on {opts.host}:{server.port} (users: {', '.join(opts.users)})")
    readline = await _stdin_lines()
    while True:
        line = await readline()
        if not line:
            await asyncio.Event().wait()
        words = line.decode(errors="replace").strip().split(" ", 3)
        if len(words) == 4 and words[0] == "mo":
            n = server.inject_mo(words[1].lstrip("+"), words[2].lstrip("+"), words[3])
            click.echo(f"MO from {words[1]} to {words[2]} sent in {n} part(s)")
        elif words[0] == "stats":
            click.echo(json.dumps(server.stats))
        elif words[0]:
            click.echo("commands: mo FROM TO TEXT | stats")


async def _stdin_lines() -> Callable[[], Awaitable[bytes]]:
    """Reading stdin's command lines. A terminal, pipe or socket is watched by the event loop;
    a regular file or /dev/null (`< /dev/null`, as under a supervisor) cannot be (epoll
    refuses it), so it is read in a thread: it never blocks, and at its end the SMSC keeps
    serving with no commands."""
    mode = os.fstat(sys.stdin.fileno()).st_mode if sys.stdin is not None else 0
    if sys.stdin is None or not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or sys.stdin.isatty()):
        loop = asyncio.get_running_loop()

        async def from_file() -> bytes:
            if sys.stdin is None:
                return b""
            return (await loop.run_in_executor(None, sys.stdin.readline)).encode()

        return from_file
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader.readline
