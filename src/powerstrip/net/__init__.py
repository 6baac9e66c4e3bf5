"""The one guarded outbound HTTP client (spec §3 and §6).

TLS 1.2 or later with verified certificates, https on port 443 only (development mode also opens
the plugin's own http://localhost or http://127.0.0.1 origin), an address guard on the address
actually connected to (operator exceptions per plugin, never the host's own addresses),
redirects only where the caller allows them, one time budget per exchange, retries with backoff,
and a response size cap. It knows nothing about plugins.
"""

from powerstrip.net.address_guard import IPAddress, is_forbidden, parse_host_literal
from powerstrip.net.client import GuardedClient, RedirectPolicy
from powerstrip.net.own_addresses import OUTBOUND_HEADER, OwnAddresses
from powerstrip.net.policy import AllowEntry, AllowList, NetPolicy
from powerstrip.net.resolver import ResolveRule
from powerstrip.net.response import FetchedResponse
from powerstrip.net.retry import RetryPolicy

__all__ = [
    "OUTBOUND_HEADER",
    "AllowEntry",
    "AllowList",
    "FetchedResponse",
    "GuardedClient",
    "IPAddress",
    "NetPolicy",
    "OwnAddresses",
    "RedirectPolicy",
    "ResolveRule",
    "RetryPolicy",
    "is_forbidden",
    "parse_host_literal",
]
