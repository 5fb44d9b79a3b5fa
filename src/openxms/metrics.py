"""Prometheus metrics (`GET /metrics`, text format 0.0.4), with the `prometheus-client`
library (https://prometheus.github.io/client_python/).

Counted where it happens (cheap: a labelled counter is a dict lookup and an add): HTTP
requests by route template, method and status with a latency histogram; recipients queued
per plan; status changes reaching Dispatched and final statuses per plan, status and code;
callback attempts by result; the database writer's commits (duration, units per commit).
Read when scraped (one query each, on an index): the queue depth and oldest queued age per
plan, the callback backlog, SMPP binds up per plan. A unit of work that is rolled back after
it counted (rare: the writer retries a failed group once) is counted twice; counters are
for rates and ratios, the database for exact figures.

One registry per process, as Prometheus clients keep it: the engine's rules count into it
without a pointer threaded through every call.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from .logs import REQUEST_ID, new_request_id

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


# prometheus-client's own metric objects take a lock and validate labels on every update, on
# the request path of every call.
# These keep plain dicts instead, each updated by one thread only (the event loop, or the
# database writer, as written beside each metric), and are turned into the client's metric
# families when scraped: a dict copy is atomic under the GIL.
class _Metric:
    kind = ""

    def __init__(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.doc, self.labels = name, doc, labels
        self.values: dict[tuple[str, ...], Any] = {}

    def family(self) -> Any:
        raise NotImplementedError


class _Counter(_Metric):
    def inc(self, key: tuple[str, ...] = (), n: float = 1) -> None:
        v = self.values
        v[key] = v.get(key, 0) + n

    def family(self) -> Any:
        return _samples(CounterMetricFamily(self.name, self.doc, labels=self.labels), self.values)


class _Gauge(_Metric):
    def family(self) -> Any:
        return _samples(GaugeMetricFamily(self.name, self.doc, labels=self.labels), self.values)


def _samples(family: Any, values: dict[tuple[str, ...], float]) -> Any:
    for key, n in dict(values).items():
        family.add_metric(list(key), n)
    return family


class _Histogram(_Metric):
    def __init__(self, name: str, doc: str, labels: tuple[str, ...] = (), buckets: tuple[float, ...] = _LATENCY):
        super().__init__(name, doc, labels)
        self.buckets = buckets

    def observe(self, x: float, key: tuple[str, ...] = ()) -> None:
        h = self.values.get(key)
        if h is None:
            h = self.child(key)
        h[bisect.bisect_left(self.buckets, x)] += 1
        h[-1] += x

    def child(self, key: tuple[str, ...]) -> list:
        """The counts of one label set (per bucket, +Inf, then the sum), for a caller that
        observes into them itself (`observe_into`), e.g. one SMPP client per plan."""
        h = self.values.get(key)
        if h is None:
            h = self.values[key] = [0] * (len(self.buckets) + 1) + [0.0]
        return h

    def family(self) -> Any:
        f = HistogramMetricFamily(self.name, self.doc, labels=self.labels)
        for key, h in dict(self.values).items():
            h = list(h)
            cumulative, running = [], 0
            for bound, n in zip((*map(str, self.buckets), "+Inf"), h[:-1], strict=True):
                running += n
                cumulative.append((bound, running))
            f.add_metric(list(key), cumulative, h[-1])
        return f


def observe_into(h: list, buckets: tuple[float, ...], x: float) -> None:
    h[bisect.bisect_left(buckets, x)] += 1
    h[-1] += x


# event loop
HTTP_REQUESTS = _Counter("openxms_http_requests", "HTTP requests answered", ("route", "method", "status"))
HTTP_SECONDS = _Histogram(
    "openxms_http_request_duration_seconds", "Time from a request's start to its response's last byte", ("route",)
)
CALLBACKS = _Counter("openxms_callback_attempts", "Callback POSTs by outcome (done, retry, dead)", ("result",))
# database writer
RECIPIENTS_QUEUED = _Counter("openxms_recipients_queued", "Recipient messages put in a plan's queue", ("plan",))
DISPATCHED = _Counter("openxms_messages_dispatched", "Messages handed to a connector", ("plan",))
FINAL = _Counter("openxms_messages_final", "Messages reaching a final status", ("plan", "status", "code"))
DB_COMMIT_SECONDS = _Histogram(
    "openxms_db_commit_duration_seconds", "Time of one writer transaction (a group of units of work)"
)
DB_GROUP_SIZE = _Histogram(
    "openxms_db_group_size",
    "Units of work committed together (group commit)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
# set when scraped
QUEUE_DEPTH = _Gauge("openxms_queue_depth", "Messages queued and not yet claimed, per plan", ("plan",))
QUEUE_OLDEST = _Gauge("openxms_queue_oldest_age_seconds", "Age of the oldest queued message, per plan", ("plan",))
CALLBACK_BACKLOG = _Gauge("openxms_callback_backlog", "Callbacks waiting to be sent or retried")
SMPP_BINDS_UP = _Gauge("openxms_smpp_binds_up", "SMPP binds up, per plan dispatched here", ("plan",))
SMPP_BINDS = _Gauge("openxms_smpp_binds", "SMPP binds configured, per plan dispatched here", ("plan",))
SMPP_WINDOW = _Gauge(
    "openxms_smpp_window_in_use", "submit_sm awaiting their response, per plan (of binds x window)", ("plan",)
)
SMPP_EVENTS = _Counter(
    "openxms_smpp_events",
    "SMPP client events per plan: submitted, accepted, throttled, errors, resent, reconnects, receipts, mo",
    ("plan", "event"),
)
# the SMPP client's event loop, through child()
SMPP_SUBMIT_SECONDS = _Histogram(
    "openxms_smpp_submit_duration_seconds", "submit_sm to its submit_sm_resp, per plan", ("plan",)
)

ALL: tuple[_Metric, ...] = (
    HTTP_REQUESTS,
    HTTP_SECONDS,
    CALLBACKS,
    RECIPIENTS_QUEUED,
    DISPATCHED,
    FINAL,
    DB_COMMIT_SECONDS,
    DB_GROUP_SIZE,
    QUEUE_DEPTH,
    QUEUE_OLDEST,
    CALLBACK_BACKLOG,
    SMPP_BINDS_UP,
    SMPP_BINDS,
    SMPP_WINDOW,
    SMPP_EVENTS,
    SMPP_SUBMIT_SECONDS,
)


class _Collector:
    def collect(self) -> Iterator[Any]:
        for metric in ALL:
            yield metric.family()


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(_Collector())


def count_changes(changes: Iterable[tuple[str, str, int, bool]]) -> None:
    """(plan, status, code, final) per status change written (the writer thread)."""
    for plan, status, code, final in changes:
        if final:
            FINAL.inc((plan, status, str(code)))
        elif status == "Dispatched":
            DISPATCHED.inc((plan,))


def set_snapshot(queues: list[tuple[str, int, int | None]], backlog: int, now_ms: int, binds: dict[str, Any]) -> None:
    """The scrape-time gauges: (plan, depth, oldest created_at ms) per plan with a queue."""
    QUEUE_DEPTH.values = {(plan,): depth for plan, depth, _ in queues}
    QUEUE_OLDEST.values = {
        (plan,): max(0.0, (now_ms - oldest) / 1000) if oldest is not None else 0.0 for plan, _, oldest in queues
    }
    CALLBACK_BACKLOG.values = {(): backlog}
    smpp = {plan: st for plan, st in binds.items() if "binds" in st}
    SMPP_BINDS_UP.values = {(plan,): st["binds_up"] for plan, st in smpp.items()}
    SMPP_BINDS.values = {(plan,): st["binds"] for plan, st in smpp.items()}
    SMPP_WINDOW.values = {(plan,): st.get("window_in_use", 0) for plan, st in smpp.items()}
    SMPP_EVENTS.values = {(plan, k): n for plan, st in smpp.items() for k, n in st.get("events", {}).items()}


def render() -> bytes:
    return generate_latest(REGISTRY)


class HttpMetrics:
    """ASGI middleware: each response counted by its route's path template (`/xms/v1/
    {service_plan_id}/batches`, never the ids), method and status, and timed; and each request
    given an id for the logs (the client's `X-Request-Id` if it sent one of at most 128
    characters, else one made here), returned in the response's `X-Request-Id`."""

    def __init__(self, app: Any, templates: Callable[[Any], str | None]) -> None:
        self.app, self.templates = app, templates

    def __getattr__(self, name: str) -> Any:  # the wrapped app's routes, state, ... (as the guard)
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0
        rid = None
        for k, v in scope["headers"]:
            if k == b"x-request-id":
                if len(v) <= 128:
                    rid = v.decode("latin-1")
                break
        rid = rid or new_request_id()
        token = REQUEST_ID.set(rid)

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            REQUEST_ID.reset(token)
            route = self.templates(scope.get("endpoint")) or "unmatched"
            HTTP_REQUESTS.inc((route, scope["method"], str(status or 500)))
            HTTP_SECONDS.observe(time.perf_counter() - start, (route,))
