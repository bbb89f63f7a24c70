"""Customer-facing channels (order tracking, portal, marketplace feeds) behind one notification API."""

from __future__ import annotations

from .base import PartnerClient, PartnerUnavailable


class ChannelsUnavailable(PartnerUnavailable):
    pass


class ChannelsClient(PartnerClient):
    """Customer-facing channels (order tracking, portal, marketplace feeds) behind one notification API."""

    name = "customer channels"
    unavailable = ChannelsUnavailable
