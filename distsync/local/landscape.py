"""The local stack's ERP landscape: four connections, each kind on its simulator (same port, ``/_sim/<kind>/``):

- ``s4`` (S/4HANA, locations ``S4-*``; plants ``S4-1010`` -> ``1010``, ``S4-2020`` -> ``2020``),
- ``netsuite`` (locations ``NS-*``), ``bc`` (Business Central, ``BC-*``),
- ``rest`` (every other location: distsync's REST ERP simulator).

The landscape is context ``erpConnections`` as a deployment would give it (``-c erpConnections=...`` replaces
it); the runtime then points each connection at its kind's simulator and creates its credentials secret with
what that simulator accepts, as an operator would create it before deploying."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from distsync.sim.businesscentral import BusinessCentralSimulator
from distsync.sim.netsuite import NetSuiteSimulator
from distsync.sim.s4 import S4Simulator

S4_INBOUND = {"inboundUser": "event-mesh", "inboundPassword": "distsync-local-mesh"}  # local only
BC_CLIENT_STATE = "distsync-local-client-state"  # local only
LOCAL_LANDSCAPE: list[dict[str, Any]] = [
    {"name": "s4", "kind": "s4hana", "baseUrl": "https://s4.local.invalid", "secretName": "distsync-local/erp/s4",
     "locations": ["S4-*"], "options": {"plantMap": {"S4-1010": "1010", "S4-2020": "2020"}}},
    {"name": "netsuite", "kind": "netsuite", "baseUrl": "https://netsuite.local.invalid",
     "secretName": "distsync-local/erp/netsuite", "locations": ["NS-*"]},
    {"name": "bc", "kind": "businesscentral", "baseUrl": "https://bc.local.invalid",
     "secretName": "distsync-local/erp/bc", "locations": ["BC-*"],
     "options": {"companyId": "a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1"}},
    {"name": "rest", "kind": "rest", "locations": ["*"]},
]


def default_context() -> dict[str, str]:
    return {"erpConnections": json.dumps(LOCAL_LANDSCAPE)}


@dataclass
class Simulators:
    """The ERP kinds' simulators the landscape's connections point at."""

    rest_url: str
    s4: S4Simulator
    netsuite: NetSuiteSimulator
    bc: BusinessCentralSimulator

    @classmethod
    def start(cls, rest_url: str) -> Simulators:
        return cls(rest_url, S4Simulator().start(), NetSuiteSimulator().start(),
                   BusinessCentralSimulator(company_id=LOCAL_LANDSCAPE[2]["options"]["companyId"]).start())

    def extras(self) -> dict[str, Any]:
        return {"/_sim/s4/": self.s4, "/_sim/netsuite/": self.netsuite, "/_sim/bc/": self.bc}

    def base_url(self, kind: str) -> str:
        return {"rest": self.rest_url, "s4hana": self.s4.base_url, "netsuite": self.netsuite.base_url,
                "businesscentral": self.bc.base_url}[kind]

    def secret(self, kind: str) -> dict[str, str] | None:
        if kind == "s4hana":
            return {"user": "DISTSYNC", "password": "s4-password", **S4_INBOUND}
        if kind == "netsuite":
            return self.netsuite.credentials()
        if kind == "businesscentral":
            return {**self.bc.credentials(), "clientState": BC_CLIENT_STATE}
        return None

    def pointed(self, connections_json: str) -> str:
        """``ERP_CONNECTIONS`` with every connection at its kind's simulator."""
        return json.dumps([{**c, "baseUrl": self.base_url(c["kind"])} for c in json.loads(connections_json)])

    def info(self) -> dict[str, str]:
        return {"s4Simulator": self.s4.base_url, "netsuiteSimulator": self.netsuite.base_url,
                "bcSimulator": self.bc.base_url}

    def stop(self) -> None:
        for sim in (self.s4, self.netsuite, self.bc):
            sim.stop()
