"""`/simulator/about`: what this server is, for the web UI's About view (no auth, like the rest of
`/simulator`: bind to loopback): its version, its database (kind and where; never a password),
its clock, each service plan with its rate, connector (SMPP binds up or down, the simulator) and
queue, and the nodes that hold the plans' dispatch leases (store/leases.py).

A plan's connector state is known only on the node that dispatches it (the lease holder runs
the plan's connector, engine/engine.py); elsewhere `connector_state` is null and `dispatched_by`
names that node.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from msgspec import Struct
from starlette.requests import Request
from starlette.responses import Response

from .. import __version__
from ..engine.leasing import lease_name
from ..sms import dates
from ..sms.objects import Timestamp
from ..store import leases, queue
from ..store.db import Tx, dialect_of, sqlite_path
from .context import ctx
from .responses import json_response
from .spec import SIMULATOR, op, route


class AboutDatabase(Struct):
    kind: str  # sqlite | postgresql
    where: str  # the SQLite file, or user@host:port/database (no password)


class AboutPlan(Struct):
    id: str
    rate: float  # recipients per second (0: unlimited)
    connector: str  # simulator | smpp
    numbers: list[str]  # numbers it receives MO on
    queued: int  # messages waiting to be sent
    dispatched_by: str | None  # the node holding its dispatch lease; null: none (no engine runs)
    connector_state: dict[str, Any] | None  # on the dispatching node: ready, and binds_up/binds/smsc for SMPP


class AboutNode(Struct):
    node_id: str
    plans: list[str]  # the plans whose dispatch lease it holds
    lease_expires_at: Timestamp | None  # the soonest of those leases' expiry (they are renewed every few s)
    this: bool  # the node answering this request


class About(Struct):
    version: str
    node_id: str
    role: str  # all | api | engine
    clock: str  # system | manual
    database: AboutDatabase
    simulator: bool  # the handset simulator runs on this node
    plans: list[AboutPlan]
    nodes: list[AboutNode]


def database_where(url: str) -> AboutDatabase:
    """The database: the SQLite file (as store/db.py opens it), or PostgreSQL's user, host, port
    and database, without the password or the query options."""
    if dialect_of(url) == "sqlite":
        return AboutDatabase("sqlite", str(sqlite_path(url).resolve()))
    u = urlsplit(url)
    user = f"{unquote(u.username)}@" if u.username else ""
    port = f":{u.port}" if u.port else ""
    return AboutDatabase("postgresql", f"{user}{u.hostname or 'localhost'}{port}{u.path}")


def _state(tx: Tx) -> tuple[dict[str, int], list[tuple[str, str, int]]]:
    queues, _ = queue.depths(tx)
    return {plan: n for plan, n, _ in queues}, leases.held(tx, lease_name(""))


@op(SIMULATOR, "This server: version, database, clock, plans with their connectors and queues, nodes", response=About)
async def about(request: Request) -> Response:
    c = ctx(request)
    queued, held = await c.db.read(_state)
    holder = {name: (node, expires) for name, node, expires in held}
    states = c.engine.health()["connectors"] if c.engine is not None else {}
    plans = []
    for a in c.accounts.values():
        if a.kind != "plan":
            continue
        node = holder.get(lease_name(a.id), (None, 0))[0]
        plans.append(AboutPlan(a.id, a.rate, a.connector, list(a.numbers), queued.get(a.id, 0), node, states.get(a.id)))
    nodes: dict[str, AboutNode] = {}
    for name, node, expires in held:
        if not (a := c.accounts.get(name.removeprefix(lease_name("")))) or a.kind != "plan":
            continue
        n = nodes.setdefault(node, AboutNode(node, [], None, node == c.node_id))
        n.plans.append(a.id)
        at = dates.format(expires)
        n.lease_expires_at = at if n.lease_expires_at is None else min(n.lease_expires_at, at)
    if c.node_id not in nodes:
        nodes[c.node_id] = AboutNode(c.node_id, [], None, True)
    s = c.settings
    return json_response(
        About(
            __version__,
            c.node_id,
            s.role,
            s.clock,
            database_where(s.database),
            c.simulator is not None,
            plans,
            sorted(nodes.values(), key=lambda n: (not n.this, n.node_id)),
        )
    )


routes = [route("GET", "/about", about)]
