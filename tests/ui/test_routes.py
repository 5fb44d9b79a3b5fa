"""The UI's static routes: the page, its script and style, their headers (CSP, cache, type),
nothing else under /ui/, and the files themselves (offline, never parsing API data as HTML)."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from ..http.conftest import Api, make_api
from .support import STATIC, sqlite

SCRIPTS = sorted(p.name for p in STATIC.glob("*.js"))  # every view's script


@pytest.fixture
def api(tmp_path):
    app, ctx = make_api(sqlite(tmp_path), tmp_path)
    with TestClient(app) as client:
        yield Api(client, ctx)


def test_page_references_its_script_and_style(api):
    r = api.client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script src="/ui/app.js"' in r.text and 'href="/ui/app.css"' in r.text
    # conv.js, messages.js and nav.js define what app.js calls once the page has started: they come first
    scripts = (
        "conv.js",
        "messages.js",
        "batches.js",
        "callbacks.js",
        "inbounds.js",
        "groups.js",
        "rules.js",
        "system.js",
        "notify.js",
    )
    for script in (*scripts, "nav.js"):
        assert r.text.index(f'<script src="/ui/{script}"') < r.text.index('<script src="/ui/app.js"')
    assert "max-age=" in r.headers["cache-control"]
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp


@pytest.mark.parametrize(
    "path,ctype",
    [
        ("/ui/app.js", "text/javascript; charset=utf-8"),
        ("/ui/conv.js", "text/javascript; charset=utf-8"),
        ("/ui/messages.js", "text/javascript; charset=utf-8"),
        ("/ui/nav.js", "text/javascript; charset=utf-8"),
        ("/ui/batches.js", "text/javascript; charset=utf-8"),
        ("/ui/callbacks.js", "text/javascript; charset=utf-8"),
        ("/ui/notify.js", "text/javascript; charset=utf-8"),
        *(
            (f"/ui/{n}", "text/javascript; charset=utf-8")
            for n in ("inbounds.js", "groups.js", "rules.js", "system.js")
        ),
        ("/ui/app.css", "text/css; charset=utf-8"),
    ],
)
def test_assets_served_with_their_types_and_a_short_cache(api, path, ctype):
    r = api.client.get(path)
    assert r.status_code == 200 and r.headers["content-type"] == ctype
    assert r.content == (STATIC / path.rsplit("/", 1)[1]).read_bytes()
    assert re.fullmatch(r"public, max-age=\d{1,3}", r.headers["cache-control"])
    assert r.headers["x-content-type-options"] == "nosniff"
    head = api.client.head(path)
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize("path", ["/ui/other.js", "/ui/../routes.py", "/ui/index.html", "/ui/"])
def test_nothing_else_is_served_under_ui(api, path):
    assert api.client.get(path).status_code == 404


def test_page_is_self_contained_and_never_parses_api_data_as_html():
    html = (STATIC / "index.html").read_text()
    js = "".join((STATIC / name).read_text() for name in SCRIPTS)
    css = (STATIC / "app.css").read_text()
    for text in (html, js, css):  # offline: no CDN, no web fonts, no remote anything
        assert not re.search(r"(src|href)=\"(https?:)?//", text)
        assert "@import" not in text and "url(http" not in text
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in js, sink
    # every element the script looks up exists on the page
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    wanted = set(re.findall(r'\$\("([^"]+)"\)', js))
    assert wanted and wanted <= ids, wanted - ids


def test_scripts_do_not_redefine_each_others_names():
    """The scripts share one global scope (classic scripts, no build step): a function or
    top-level constant declared twice silently replaces the first one."""
    seen: dict[str, str] = {}
    for name in SCRIPTS:
        text = (STATIC / name).read_text()
        for found in re.findall(r"^(?:async )?function (\w+)|^(?:const|let) (\w+)", text, re.M):
            ident = found[0] or found[1]
            assert ident not in seen, f"{ident} is declared in {seen.get(ident)} and {name}"
            seen[ident] = name
