"""`/openapi.json` and a human-readable page of the same document at `/docs`."""

from __future__ import annotations

import html
import json
from functools import lru_cache

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .openapi import document
from .responses import json_response


@lru_cache(maxsize=1)
def _doc_bytes() -> bytes:
    return json.dumps(document(), indent=1).encode()


async def openapi_json(request: Request) -> Response:
    return json_response(_doc_bytes())


def _schema_name(content: dict | None) -> str:
    if not content:
        return ""
    schema = content.get("application/json", content.get("application/x-www-form-urlencoded", {})).get("schema", {})
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{name}">{name}</a>'
    return html.escape(schema.get("type", ""))


@lru_cache(maxsize=1)
def _page() -> str:
    doc = document()
    out = [f"<h1>{html.escape(doc['info']['title'])}</h1><p>{html.escape(doc['info']['description'])}</p>",
           '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). '
           'Simulator: <a href="/">web UI</a>, <code>/simulator/...</code>; clock: <code>/clock</code>.</p>']
    for path, item in doc["paths"].items():
        for method, op in item.items():
            params = "".join(
                f"<li><code>{html.escape(p['name'])}</code> ({p['in']}{', required' if p.get('required') else ''})"
                f" {html.escape(p.get('description', ''))}</li>" for p in op.get("parameters", []))
            body = _schema_name(op.get("requestBody", {}).get("content"))
            responses = "".join(f"<li>{code}: {html.escape(r.get('description', ''))} {_schema_name(r.get('content'))}</li>"
                                for code, r in op["responses"].items())
            out.append(f"<section><h3><span class=m>{method.upper()}</span> <code>{html.escape(path)}</code></h3>"
                       f"<p>{html.escape(op['summary'])}</p>"
                       + (f"<p>Body: {body}</p>" if body else "")
                       + (f"<ul>{params}</ul>" if params else "") + f"<p>Responses:</p><ul>{responses}</ul></section>")
    out.append("<h2>Schemas</h2>")
    for name, schema in doc["components"]["schemas"].items():
        out.append(f'<h3 id="schema-{name}">{name}</h3><pre>{html.escape(json.dumps(schema, indent=2))}</pre>')
    style = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
             "section{border-top:1px solid #ddd;padding:.3rem 0}.m{background:#225;color:#fff;padding:0 .4rem;"
             "border-radius:3px;font-size:.8rem}pre{background:#f6f6f6;padding:.5rem;overflow:auto}")
    return (f"<!doctype html><html><head><meta charset=utf-8><title>openxms API</title><style>{style}</style>"
            f"</head><body>{''.join(out)}</body></html>")


async def docs_page(request: Request) -> Response:
    return HTMLResponse(_page())


routes = [
    Route("/openapi.json", openapi_json, methods=["GET"]),
    Route("/docs", docs_page, methods=["GET"]),
]
