"""The older Sinch Python SDK (`sinch` 1.1.4, still in use) against a real server: it sends list
filters as repeated parameters (`status=A&status=B`), which must work like the comma form.
It lives in its own virtual environment (it cannot share one with sinch 2.x)."""

from __future__ import annotations

import json
import subprocess

from .conftest import PLAN, TOKEN

SCRIPT = r"""
import json, sys
from sinch import SinchClient
host = sys.argv[1]
c = SinchClient(service_plan_id=sys.argv[2], sms_api_token=sys.argv[3])
c.configuration.disable_https = True
# 1.x origins are host:port without a scheme; both must be set or half the calls go to Sinch
c.configuration.sms_origin = host
c.configuration.sms_origin_with_service_plan_id = host
b = c.sms.batches.send(body="hi", delivery_report="none", to=["+12017777777", "+12010000001"], from_="+12025550100")
import time
for _ in range(200):
    r = c.sms.delivery_reports.get_for_batch(batch_id=b.id, status=["Delivered", "Failed"], code=[0, 153])
    if sum(s["count"] for s in r.statuses) == 2:
        break
    time.sleep(0.05)
print(json.dumps({"batch": b.id, "statuses": sorted(s["status"] for s in r.statuses)}))
"""


def test_repeated_list_filters_from_sinch_1x(server, sinch_v1):
    host = server.url.removeprefix("http://")
    r = subprocess.run([str(sinch_v1), "-c", SCRIPT, host, PLAN, TOKEN], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["statuses"] == ["Delivered", "Failed"]
