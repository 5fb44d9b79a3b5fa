"""Python lists as PostgreSQL array literals, for the store's `unnest(?::text[])` and
`ANY(?::bigint[])` parameters.

The store sends many rows in one statement as columns of arrays (docs/architecture.md, "No
ORM"), so a list of 1000 values is the usual parameter on the hot paths: the recipients of a
batch, the ids of a claimed chunk, the receipts of a window. psycopg's own list dumper looks at
every element in Python to choose the array's type, and took ~0.8 ms per 1000 values on the
writer thread, which holds the GIL meanwhile; the joins below take 10-80 us. The literal goes
out as a parameter of unknown type, which the statement's cast types (every array parameter of
the store is cast: `?::text[]`, `?::bigint[]`, `?::int[]`), so PostgreSQL parses it with the
element type's input function, as for any literal.

The syntax is that of array_in
(https://www.postgresql.org/docs/current/arrays.html#ARRAYS-IO): elements between commas,
double-quoted when they are strings (a backslash escapes `"` and `\\` inside the quotes), and an
unquoted NULL for None. Only flat lists of str, int, bool, float and None are written: the
store sends nothing else, and anything else raises TypeError rather than guessing.
"""

from __future__ import annotations

import re
from typing import Any

from psycopg.adapt import Dumper

# What ','.join(map(str, ints)) gives when every element is a plain int (not None, not a bool,
# whose str() is "True"): checked in C over the joined string instead of per element.
_INTS = re.compile(r"-?[0-9]+(?:,-?[0-9]+)*")


def literal(values: list) -> str:
    """The array literal of a flat list."""
    if not values:
        return "{}"
    first = values[0]
    if type(first) is str:
        try:
            s = '","'.join(values)
        except TypeError:  # a None or a number among the strings
            return _slow(values)
        if '"' not in s and "\\" not in s:
            return '{"' + s + '"}'
    elif type(first) is int:
        s = ",".join(map(str, values))
        if _INTS.fullmatch(s):
            return "{" + s + "}"
    return _slow(values)


def _slow(values: list) -> str:
    return "{" + ",".join(map(_element, values)) + "}"


def _element(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, (int, float)):
        return repr(v)  # float8in reads Python's repr, inf and nan included
    raise TypeError(f"no array literal for a {type(v).__name__} element")


class ListDumper(Dumper):
    """psycopg's dumper for `list` on the store's connections (`register`). oid 0: the
    parameter's type is the statement's cast."""

    oid = 0

    def __init__(self, cls: type, context: Any = None) -> None:
        super().__init__(cls, context)
        conn = self.connection
        self._encoding = conn.info.encoding if conn is not None else "utf-8"

    def dump(self, obj: list) -> bytes:
        return literal(obj).encode(self._encoding)


def register(conn: Any) -> None:
    conn.adapters.register_dumper(list, ListDumper)
