"""One module per business domain, each a slice of the stack on the platform (docs/architecture.md).

A slice module has ``build(platform) -> object``: it declares the domain's functions (environment and
grants), pipelines, tables, workflows, API routes, dashboard and outputs through the :class:`Platform`, and
returns what tests and other tools may want to look at, and ``OWNER``: the team that owns what it declares
(its alarms name it). The stack finds the slices here: a new domain is a new module, and nothing else in the
house changes.
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


def slices() -> list[ModuleType]:
    names = [info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]
    names.sort(key=lambda name: (ORDER.index(name) if name in ORDER else len(ORDER), name))
    modules = [importlib.import_module(f"{__name__}.{name}") for name in names]
    for module in modules:
        if not callable(getattr(module, "build", None)):
            raise TypeError(f"{module.__name__} is in infra/domains but has no build(platform)")
        if not isinstance(getattr(module, "OWNER", None), str):
            raise TypeError(f"{module.__name__} names no owning team (OWNER = \"<team>\", a team of DEFAULT_OWNERS)")
    return modules
