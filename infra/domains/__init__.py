"""One module per business domain, each a slice of the stack on the platform (docs/architecture.md).

A slice module has ``build(platform) -> object``: it declares the domain's functions (environment and
grants), pipelines, tables, workflows, API routes, dashboard and outputs through the :class:`Platform`, and
returns what tests and other tools may want to look at. The stack finds the slices here: a new domain is a new
module, and nothing else in the house changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

# The order the stack builds them in, which is the order of their dashboards; a slice not named here comes
# after these, by module name.
ORDER = (
    "masterdata",
    "planning",
    "erp_adapter",
    "connectors",
    "warehouse",
    "inventory",
    "orders",
    "fulfillment",
    "supplier",
    "webhooks",
    "forecast_cycles",
    "files",
    "finance",
)


# Slice -> the team that owns its functions, pipelines and alarms (teams and contacts: infra/config.py
# DEFAULT_OWNERS, context ``owners``). A slice must name its owner.
OWNERS = {
    "masterdata": "masterdata",
    "planning": "planning-integration",
    "erp_adapter": "planning-integration",
    "connectors": "integration-platform",
    "warehouse": "inventory",
    "inventory": "inventory",
    "orders": "orders",
    "fulfillment": "fulfillment",
    "supplier": "supplier-collaboration",
    "webhooks": "integration-platform",
    "forecast_cycles": "planning-integration",
    "files": "integration-platform",
    "finance": "finance",
    "sftp": "planning-integration",
    "planning_extracts": "planning-integration",
}


def slices() -> list[ModuleType]:
    names = [info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]
    names.sort(key=lambda name: (ORDER.index(name) if name in ORDER else len(ORDER), name))
    modules = [importlib.import_module(f"{__name__}.{name}") for name in names]
    for module in modules:
        if not callable(getattr(module, "build", None)):
            raise TypeError(f"{module.__name__} is in infra/domains but has no build(platform)")
        if module.__name__.rsplit(".", 1)[-1] not in OWNERS:
            raise TypeError(f"{module.__name__} has no owning team in infra/domains OWNERS")
    return modules
