"""`/openapi.json` and a human-readable page of the same document at `/docs`."""

from __future__ import annotations

import html
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .openapi import document
from .responses import json_response
from .spec import OPERATOR, op, route


def _cached(request: Request, key: str, make) -> Any:
    """Built once per app, from the app's own routes."""
    cache = getattr(request.app.state, "openapi_cache", None)
    if cache is None:
        cache = request.app.state.openapi_cache = {}
    if key not in cache:
        cache[key] = make(request.app.routes)
    return cache[key]


@op(OPERATOR, "This document (OpenAPI 3.1)", response=dict[str, Any])
async def openapi_json(request: Request) -> Response:
    return json_response(_cached(request, "json", lambda routes: json.dumps(document(routes), indent=1).encode()))


def _schema_name(content: dict | None) -> str:
    if not content:
        return ""
    schema = next(iter(content.values()), dict[str, Any]()).get("schema", {})
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{name}">{name}</a>'
    return html.escape(schema.get("type", ""))


def _page(routes) -> str:
    doc = document(routes)
    out = [
        f"<h1>{html.escape(doc['info']['title'])}</h1><p>{html.escape(doc['info']['description'])}</p>",
        '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). '
        'Simulator: <a href="/">web UI</a>, <code>/simulator/...</code>; clock: <code>/clock</code>.</p>',
    ]
    for path, item in doc["paths"].items():
        for method, o in item.items():
            params = "".join(
                f"<li><code>{html.escape(p['name'])}</code> ({p['in']}{', required' if p.get('required') else ''})"
                f" {html.escape(p.get('description', ''))}</li>"
                for p in o.get("parameters", [])
            )
            body = _schema_name(o.get("requestBody", {}).get("content"))
            responses = "".join(
                f"<li>{code}: {html.escape(r.get('description', ''))} {_schema_name(r.get('content'))}</li>"
                for code, r in o["responses"].items()
            )
            tags = ", ".join(o.get("tags", []))
            out.append(
                f"<section><h3><span class=m>{method.upper()}</span> <code>{html.escape(path)}</code>"
                f" <small>{html.escape(tags)}</small></h3><p>{html.escape(o['summary'])}</p>"
                + (f"<p>{html.escape(o['description'])}</p>" if o.get("description") else "")
                + (f"<p>Body: {body}</p>" if body else "")
                + (f"<ul>{params}</ul>" if params else "")
                + f"<p>Responses:</p><ul>{responses}</ul></section>"
            )
    out.append("<h2>Schemas</h2>")
    for name, schema in doc["components"]["schemas"].items():
        out.append(f'<h3 id="schema-{name}">{name}</h3><pre>{html.escape(json.dumps(schema, indent=2))}</pre>')
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
        "section{border-top:1px solid #ddd;padding:.3rem 0}.m{background:#225;color:#fff;padding:0 .4rem;"
        "border-radius:3px;font-size:.8rem}pre{background:#f6f6f6;padding:.5rem;overflow:auto}"
    )
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>openxms API</title><style>{style}</style>"
        f"</head><body>{''.join(out)}</body></html>"
    )


@op(OPERATOR, "This document as a web page", response=str, response_media="text/html")
async def docs_page(request: Request) -> Response:
    return HTMLResponse(_cached(request, "html", _page))


routes = [
    route("GET", "/openapi.json", openapi_json),
    route("GET", "/docs", docs_page),
]
