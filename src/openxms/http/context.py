"""What route handlers reach through `request.app.state.ctx`."""

from __future__ import annotations

from starlette.requests import Request

from ..config import Account


def ctx(request: Request):
    return request.app.state.ctx


def account(request: Request) -> Account:
    """Authenticate the caller for the `{service_plan_id}` path segment (plan id or project id)."""
    c = request.app.state.ctx
    return c.auth.check(request.path_params["service_plan_id"], request.headers.get("authorization"))


def project(request: Request) -> Account:
    """Authenticate the caller for the `{project_id}` path segment of the Conversation APIs."""
    c = request.app.state.ctx
    return c.auth.project(request.path_params["project_id"], request.headers.get("authorization"))
