"""The narrow platform every domain slice builds on: the bus, the shared tables, the layer, the alarm topic,
the webhook secret, the REST API and the landing bucket, plus the factories a slice declares its parts with
(``function``, ``pipeline``, ``table``, ``route``) and the registries the stack turns into dashboards and
outputs. A slice (``infra/domains/<domain>.py``) receives a :class:`Platform`, never the stack.
"""

from infra.platform.observability import Domain
from infra.platform.platform import Platform

__all__ = ["Domain", "Platform"]
