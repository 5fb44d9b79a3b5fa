"""The route table (http/app.py): the hot send routes tried first without changing any answer."""

from __future__ import annotations

import re

from starlette.routing import Route

from openxms.http.app import HOT, build


def _example(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "X1", template)


def test_the_send_routes_come_first_and_no_other_route_takes_their_paths():
    routes = build(None).routes
    first = [(m, r.path) for r in routes[: len(HOT)] for m in r.methods if m in ("POST",)]
    assert set(first) == HOT
    for method, template in HOT:
        path = _example(template)
        takers = [r.path for r in routes if isinstance(r, Route) and method in r.methods and r.path_regex.match(path)]
        assert takers == [template], takers
