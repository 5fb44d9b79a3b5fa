"""GET /metrics: the Prometheus text format, with the counters moving as messages flow.
Counters are per process (all tests share them), so the test reads differences."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families


def scrape(api) -> dict[tuple[str, tuple], float]:
    r = api.client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(m, name, **labels) -> float:
    return m.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_follow_a_batch_through_the_engine(api):
    before = scrape(api)
    b = api.send(to=["+12017777777", "+12010000001"])  # Delivered, and Failed 153 (a magic number)
    api.wait_for(lambda: api.statuses(b["id"]) == {"Delivered": 1, "Failed": 1})
    after = scrape(api)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    route = "/xms/v1/{service_plan_id}/batches"
    assert delta("openxms_http_requests_total", route=route, method="POST", status="201") == 1
    assert delta("openxms_http_request_duration_seconds_count", route=route) >= 1
    assert delta("openxms_recipients_queued_total", plan="SP1") == 2
    assert delta("openxms_messages_dispatched_total", plan="SP1") == 2
    assert delta("openxms_messages_final_total", plan="SP1", status="Delivered", code="0") == 1
    assert delta("openxms_messages_final_total", plan="SP1", status="Failed", code="153") == 1
    assert delta("openxms_db_group_size_count") >= 1
    assert value(after, "openxms_queue_depth", plan="SP1") == 0  # drained: no gauge left for it
    assert value(after, "openxms_callback_backlog") >= 0


def test_the_scrape_sets_the_queue_and_callback_gauges(api):
    text = api.client.get("/metrics").text
    assert re.search(r"^openxms_callback_backlog \d", text, re.M)
    for name in ("openxms_queue_depth", "openxms_queue_oldest_age_seconds", "openxms_smpp_binds_up"):
        assert f"# TYPE {name} gauge" in text
    assert 'openxms_http_requests_total{method="GET",route="/metrics",status="200"}' in api.client.get("/metrics").text
