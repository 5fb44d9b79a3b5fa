"""app.py's wiring: which relay carries a node's live events, the default node id, and the engine
lock held while an app with an engine runs."""

from __future__ import annotations

import os
import socket

import pytest
from starlette.testclient import TestClient

from openxms.app import node_id, relay
from openxms.config import Settings
from openxms.store import live as store_live
from openxms.store.db import Database
from openxms.store.engine_lock import EngineLock, EngineRunning

from .http.conftest import make_api


def test_every_process_relays_through_its_database(tmp_path):
    # SQLite: any process may share its file with others (`--role all` with `--role api` too)
    assert isinstance(relay(Database(f"sqlite:///{tmp_path}/x.sqlite3")), store_live.SqliteRelay)
    assert isinstance(relay(Database("postgresql://nobody@127.0.0.1:1/x")), store_live.PgRelay)  # not connected


def test_processes_sharing_a_port_have_node_ids_of_their_own():
    host = socket.gethostname()
    assert node_id(Settings(port=8080)) == f"{host}:8080"  # stable across restarts
    assert node_id(Settings(port=8080, reuse_port=True)) == f"{host}:8080:{os.getpid()}"
    assert node_id(Settings(port=8080, reuse_port=True, node_id="api-1")) == "api-1"


def test_the_engine_lock_is_held_while_the_app_runs_each_time_it_runs(tmp_path):
    db = tmp_path / "x.sqlite3"
    app, _ = make_api(f"sqlite:///{db}", tmp_path)
    for _ in range(2):  # one app served twice: the second run holds the lock again
        with TestClient(app):
            with pytest.raises(EngineRunning):
                EngineLock(db).take()
        other = EngineLock(db)
        other.take()  # stopped: free
        other.release()
