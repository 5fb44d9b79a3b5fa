"""Fixtures of the Conversation resource tests (helpers in resources.py)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from ..conftest import make_api
from .resources import ENV, Conv


@pytest.fixture
def conv(database_url, tmp_path):
    """PROJ1's view; `conv.other` is PROJ2's, on the same server."""
    app, ctx = make_api(database_url, tmp_path, env=ENV)
    with TestClient(app) as client:
        c = Conv(client, ctx)
        c.other = Conv(client, ctx, "PROJ2", "KEY2", "SECRET2")
        yield c
