"""The local stack's surfaces are for this machine's own tools, not for any web page the developer opens
(issue 12, finding 11): the gateway answers only to its loopback names (a DNS-rebound page would otherwise be
same-origin with the console), moto allows no cross-origin calls, and the simulators' control endpoints take
JSON only (a cross-site text/plain POST needs no preflight)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from distsync.sim.clients import send

pytestmark = pytest.mark.e2e


def test_the_gateway_answers_only_to_its_loopback_names(stack):
    port = urlsplit(stack.url).port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert send(stack.url + "/_local/info", headers={"Host": host}).status == 200
    for host in (f"rebound.example:{port}", f"127.0.0.1:{port + 1}", "localhost"):
        refused = send(stack.url + "/console", headers={"Host": host})
        assert refused.status == 421 and "answers to 127.0.0.1" in refused.body["detail"], host


def test_moto_allows_no_cross_origin_calls(stack):
    endpoint = stack.info["awsEndpoint"]
    preflight = send(endpoint + "/", "OPTIONS", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    plain = send(endpoint + "/?Action=ListQueues", headers={"Origin": "https://evil.example"})
    for answer in (preflight, plain):
        assert not {k.lower() for k in answer.headers} & {"access-control-allow-origin"}


def test_simulator_control_endpoints_take_json_only(stack):
    body = json.dumps({"status": 503, "count": 1000}).encode()
    refused = send(stack.url + "/_sim/erp/faults", "POST", body, {"Content-Type": "text/plain"})
    assert refused.status == 415 and "application/json" in refused.body["error"]
    assert send(stack.url + "/_sim/erp/faults", "POST", json.dumps({"status": 503, "count": 0}).encode(),
                {"Content-Type": "application/json"}).status == 200
