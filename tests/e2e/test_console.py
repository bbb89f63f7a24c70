"""The ops console at /console, in a real headless Chromium driven by Playwright: an operator sees a
dead-lettered ERP update, redrives its queue from the page and watches the transaction get delivered.

Needs Debian's ``chromium`` and the ``playwright`` package (requirements-dev.txt); Playwright's own browser
download is never used. Missing either, the browser test is skipped on a developer machine and fails in CI.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from distsync.sim.clients import send

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("DISTSYNC_CHROMIUM", "/usr/bin/chromium")  # Debian's package
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SLOW = 60_000  # ms: retries, redrive and delivery on a busy 2-core machine


@pytest.fixture(scope="session")
def browser_missing() -> str | None:
    """Why no browser can be driven here (None when one can). Skips on a developer machine; in CI the test
    fails instead, so a green run always means the page was really exercised. Listed before ``stack`` so a
    skip does not start the local stack first."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (`pip install playwright`, or `make install`: requirements-dev.txt)")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"Chromium at {CHROMIUM} (`apt-get install chromium`, or set DISTSYNC_CHROMIUM)")
    if not missing:
        return None
    reason = "the console browser test needs " + " and ".join(missing) + "; never `playwright install`"
    if os.environ.get("CI", "").lower() not in ("true", "1"):
        pytest.skip(reason)
    return reason


def test_operator_redrives_a_dead_lettered_update_from_the_console(browser_missing, stack, tmp_path):
    if browser_missing:
        pytest.fail(browser_missing)
    from playwright.sync_api import expect, sync_playwright

    sku, cid = stack.dead_letter_update(expect="dead_lettered")
    assert stack.trace(cid)["status"] == "dead_lettered"

    shot = tmp_path / "console.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
            page.goto(stack.url + "/console")

            # The ErpUpdate dead-letter queue holds the message...
            dlq = page.locator("#dlq-body tr[data-queue*='ErpUpdatePipelineDeadLetter']")
            expect(dlq).to_have_count(1)
            expect(dlq.locator(".qname")).to_have_text("ErpUpdate")  # named by its pipeline
            depth = dlq.locator("td.depth")
            expect(depth).not_to_have_text("0")
            assert int(depth.inner_text()) >= 1
            # ...and the transaction, found with the search box, is dead-lettered with the reason.
            page.fill("#tx-search", cid)
            tx = page.locator(f"#tx-body tr.tx[data-cid='{cid}']")
            expect(tx).to_have_attribute("data-status", "dead_lettered")
            expect(tx.locator(".tx-status")).to_have_text("dead lettered")
            expect(tx.locator(".bkey")).to_have_text(f"{sku}@DC-1")
            tx.click()
            hops = page.locator(f"tr[data-timeline-for='{cid}'] li")
            # the row opens on the next refresh, which reads every panel: slow on a loaded machine
            expect(hops.filter(has=page.locator(".o-dead_lettered"))).to_contain_text("HTTP 503", timeout=SLOW)

            # The button redrives the whole queue: every update in it, this test's and any an earlier test on
            # this stack left dead-lettered, must end delivered from here on.
            waiting = json.loads(stack.cli("dlq", "peek", "ErpUpdatePipelineDeadLetter", "--limit", "100",
                                           "--json").stdout)
            assert cid in {m["correlation_id"] for m in waiting}
            for message in waiting:
                stack.accepted[message["correlation_id"]] = "delivered"
            dlq.locator("button.redrive").click()
            expect(page.locator("#toast")).to_contain_text(re.compile(r"Redrove \d+ messages? of ErpUpdate back to its queue"))

            # The page refreshes by itself: the queue empties and the transaction gets delivered.
            expect(depth).to_have_text("0", timeout=SLOW)
            expect(dlq.locator("button.redrive")).to_be_disabled()
            expect(tx).to_have_attribute("data-status", "delivered", timeout=SLOW)
            outcomes = hops.locator(".outcome")
            expect(outcomes.filter(has_text="redriven")).to_have_count(1)
            expect(outcomes.filter(has_text="delivered").first).to_be_visible()
            expect(page.locator("#kpi-recovery .n")).to_contain_text("n = ", timeout=SLOW)
            expect(page.locator("#kpi-status svg rect").first).to_be_visible()
            for panel in ("#transactions", "#dlqs", "#approvals", "#quarantine"):
                expect(page.locator(f"{panel} .panel-error")).to_be_hidden()
            expect(page.locator("#banner")).to_be_hidden()

            page.fill("#tx-search", "")
            expect(page.locator("#tx-count")).to_have_text(re.compile(r"^\d+ total$"), timeout=SLOW)
            page.screenshot(path=str(shot), full_page=True)
            assert problems == []
        finally:
            browser.close()

    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    stack.wait_idle()
    assert len(stack.erp_updates(cid)) == 1
    doc = stack.trace(cid)
    outcomes = [h["outcome"] for h in doc["hops"]]
    assert doc["status"] == "delivered"
    assert outcomes.index("dead_lettered") < outcomes.index("redriven") < outcomes.index("delivered")


def test_ops_api_answers_problems_for_bad_requests(stack):
    ops = stack.url + "/_local/ops/"
    as_json = {"Content-Type": "application/json"}

    def problem(result, status: int) -> dict:
        assert result.status == status, result.body
        assert result.headers["Content-Type"] == "application/problem+json"
        assert {"type", "title", "status", "detail"} <= set(result.body) and result.body["status"] == status
        return result.body

    assert "limit" in problem(send(ops + "transactions?limit=zero"), 400)["detail"]
    assert problem(send(ops + "transactions?status=lost"), 400)["errors"][0]["field"] == "status"
    assert problem(send(ops + "kpis?since=yesterday"), 400)["errors"][0]["field"] == "since"
    problem(send(ops + "transactions/no-such-correlation-id"), 404)
    problem(send(ops + "nothing-here"), 404)
    assert problem(send(ops + "dlqs", "DELETE"), 405)["type"] == "about:blank"
    problem(send(ops + "dlqs/ErpUpdatePipelineDeadLetter/redrive", "POST", b"{}", {"Content-Type": "text/plain"}), 415)
    problem(send(ops + "dlqs/ErpUpdatePipelineDeadLetter/redrive", "POST", b"{}", {**as_json, "Origin": "http://evil.example"}), 400)
    problem(send(ops + "dlqs/ErpUpdatePipelineDeadLetter/redrive", "POST", b"[1]", as_json), 400)
    problem(send(ops + "dlqs/ErpUpdatePipelineDeadLetter/redrive", "POST", json.dumps({"dryRun": "yes"}).encode(), as_json), 400)
    assert "choose one of" in problem(send(ops + "dlqs/no-such-queue/redrive", "POST", b"{}", as_json), 404)["detail"]
    problem(send(ops + "quarantine/q-nothing/release", "POST", b"{}", as_json), 404)
    problem(send(ops + "approvals/apr-nothing/approve", "POST", b"{}", as_json), 404)

    dry = send(ops + "dlqs/ErpUpdatePipelineDeadLetter/redrive", "POST", json.dumps({"dryRun": True}).encode(), as_json)
    assert dry.status == 200 and dry.body["dryRun"] is True and dry.body["moved"] == 0
    listed = send(ops + "dlqs").body
    assert listed and all({"name", "source", "depth"} <= set(q) for q in listed)
    kpis = send(ops + "kpis?since=1h").body
    assert {"forecastToErpLatency", "approvalTurnaround", "failureRecoveryTime", "byStatus",
            "deadLetterQueueDepth"} <= set(kpis)
    page = send(stack.url + "/console")
    assert page.status == 200 and "distsync ops console" in page.body
    assert send(stack.url + "/console/../pyproject.toml").status == 404
