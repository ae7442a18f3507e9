"""The fault drill, end to end on the session's stack: each fault's alert travels Prometheus ->
Alertmanager -> the receiver while it lasts, and a resolution follows the cure. The rules and the
routing are the production files, run 60 times faster (an hour's window is a minute)."""

from __future__ import annotations

import pytest
from study.local.ocr.drill import FAULTS, drill


@pytest.mark.parametrize("fault", list(FAULTS))
def test_the_fault_pages_the_on_call_and_the_cure_resolves_it(stack, client, fault):
    result = drill(stack, fault, warm_s=10, report=lambda _: None)
    pages = [n for n in result.notifications if n["receiver"] == "pager"]
    assert pages[0]["status"] == "firing" and pages[0]["alerts"] == [FAULTS[fault]]
    assert any(n["status"] == "resolved" and FAULTS[fault] in n["alerts"] for n in pages)
    # Only the fault's own SLO paged: 503s are not slow answers, a slow answer is not an error.
    # (Tickets may come too: the session's earlier faults spent budget over the longer windows.)
    assert {a for n in pages for a in n["alerts"]} == {FAULTS[fault]}
    statuses = {status for _, status, _ in result.answers}
    assert (503 in statuses) == (fault == "errors")
    assert client.get("/health/ready").status_code == 200  # the stack is healed for the next test
