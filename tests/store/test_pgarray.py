"""Lists as PostgreSQL array literals (store/pgarray.py): what PostgreSQL reads back is the
list sent, for every element the store sends, through a real store connection."""

from __future__ import annotations

import pytest

from openxms.store import pgarray
from openxms.store.db import Database

TEXTS = ["a", "b,c", 'q"x', "b\\s", "", "NULL", "{}", " sp ", "é✓", "new\nline", "\\", '"']
CASES = [
    ("text", TEXTS),
    ("text", TEXTS + [None]),
    ("text", [None, "a"]),
    ("text", ["12025550001"] * 3 + ["447700900123"]),
    ("text", [""]),
    ("text", []),
    ("bigint", [1, -2, 0, 2**62]),
    ("bigint", [1, None, 3]),
    ("bigint", [None]),
    ("int", [7]),
    ("bool", [True, False, None]),
    ("float8", [1.5, -0.25, float("inf")]),
]


@pytest.mark.pg
@pytest.mark.parametrize(("kind", "values"), CASES)
def test_postgresql_reads_back_the_list(pg_url, kind, values):
    db = Database(pg_url)  # run_sync: a fresh store connection, closed after the unit
    got = db.run_sync(lambda tx: tx.scalar(f"SELECT ?::{kind}[]", (values,)))
    # the same statement through unnest, as the store uses it, keeps the order too
    rows = db.run_sync(
        lambda tx: tx.all(f"SELECT v FROM unnest(?::{kind}[]) WITH ORDINALITY AS t(v, n) ORDER BY n", (values,))
    )
    assert got == values
    assert [r.v for r in rows] == values


def test_fast_paths_write_the_plain_literal():
    assert pgarray.literal(["1", "2"]) == '{"1","2"}'
    assert pgarray.literal([1, 2]) == "{1,2}"
    assert pgarray.literal([]) == "{}"
    assert pgarray.literal([""]) == '{""}'  # one empty string, not an empty array
    # a bool's str() is "True" and None's "None": neither passes for an int
    assert pgarray.literal([1, True, None]) == "{1,t,NULL}"
    assert pgarray.literal(['a"b', None]) == '{"a\\"b",NULL}'


@pytest.mark.parametrize("bad", [[[1, 2]], [{"a": 1}], ["a", b"b"]])
def test_other_elements_are_refused(bad):
    with pytest.raises(TypeError):
        pgarray.literal(bad)
