"""app.py's wiring choices: which relay carries a node's live events, and the default node id."""

from __future__ import annotations

import os
import socket

from openxms.app import node_id, relay
from openxms.config import Settings
from openxms.store import live as store_live
from openxms.store.db import Database


def test_one_process_alone_on_sqlite_relays_nothing(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/x.sqlite3")
    assert relay(Settings(role="all"), db) is None
    assert isinstance(relay(Settings(role="api"), db), store_live.SqliteRelay)
    assert isinstance(relay(Settings(role="engine"), db), store_live.SqliteRelay)


def test_processes_sharing_a_port_have_node_ids_of_their_own():
    host = socket.gethostname()
    assert node_id(Settings(port=8080)) == f"{host}:8080"  # stable across restarts
    assert node_id(Settings(port=8080, reuse_port=True)) == f"{host}:8080:{os.getpid()}"
    assert node_id(Settings(port=8080, reuse_port=True, node_id="api-1")) == "api-1"
