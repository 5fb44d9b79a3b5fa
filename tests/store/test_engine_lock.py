"""One engine per SQLite file (`store/engine_lock.py`): a second taker is refused with the
holder's pid; a released (or dropped) lock can be taken again."""

from __future__ import annotations

import gc
import os

import pytest

from openxms.store.engine_lock import EngineLock, EngineRunning


def test_a_second_engine_is_refused_until_the_first_releases(tmp_path):
    db = tmp_path / "data" / "x.sqlite3"
    first, second = EngineLock(db), EngineLock(db)
    first.take()
    assert (tmp_path / "data" / "x.sqlite3.engine-lock").read_text() == str(os.getpid())
    with pytest.raises(EngineRunning, match=rf"already runs on .*x\.sqlite3 \(pid {os.getpid()}\).*--role api"):
        second.take()
    first.release()
    second.take()  # the first engine stopped: the file is free
    second.release()


def test_a_lock_nobody_holds_any_more_is_free(tmp_path):
    db = tmp_path / "x.sqlite3"
    EngineLock(db).take()  # an app built and never served: dropped at once
    gc.collect()
    again = EngineLock(db)
    again.take()
    again.release()
    again.release()  # twice is harmless
