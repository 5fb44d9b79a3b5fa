"""Reading the simulator's virtual handsets (what the UI and /simulator API show)."""

from __future__ import annotations

from typing import Any

from ..sms import dates
from ..store.db import Tx

_COLS = ("s.id, s.msisdn, s.sender, s.type, s.body, s.udh, s.encoding, s.parts, s.flash, s.received_at, "
         "s.batch_id, s.account_id, s.outcome_status, s.outcome_code, r.status, r.code")


def _msg(r: tuple) -> dict[str, Any]:
    return {"id": r[0], "msisdn": r[1], "from": r[2], "type": r[3], "body": r[4], "udh": r[5], "encoding": r[6],
            "parts": r[7], "flash": bool(r[8]), "received_at": dates.format(r[9]), "batch_id": r[10],
            "service_plan_id": r[11], "outcome": {"status": r[12], "code": r[13]},
            "status": r[14] or r[12], "code": r[15] if r[15] is not None else r[13]}


def handsets(tx: Tx, limit: int = 500) -> list[dict[str, Any]]:
    rows = tx.all("SELECT msisdn, count(*), max(received_at), max(id) FROM sim_messages GROUP BY msisdn "
                  "ORDER BY max(id) DESC LIMIT ?", (limit,))
    return [{"msisdn": m, "messages": n, "last_message_at": dates.format(t)} for m, n, t, _ in rows]


def messages(tx: Tx, msisdn: str | None, after_id: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    sql = f"SELECT {_COLS} FROM sim_messages s LEFT JOIN recipients r ON r.id = s.recipient_id WHERE s.id > ?"
    args: list = [after_id]
    if msisdn:
        sql += " AND s.msisdn = ?"
        args.append(msisdn)
    order = "ASC" if after_id else "DESC"
    return [_msg(r) for r in tx.all(sql + f" ORDER BY s.id {order} LIMIT ?", args + [limit])]


def purge(tx: Tx, msisdn: str | None) -> int:
    if msisdn:
        tx.execute("DELETE FROM sim_messages WHERE msisdn = ? AND receipt_done = 1", (msisdn,))
    else:
        tx.execute("DELETE FROM sim_messages WHERE receipt_done = 1")
    return tx.rowcount
