"""Build a plugin from typed Python functions: manifest, OpenAPI, auth, CORS, rate limits.

Only what plugin authors need is exported here.
"""

from powerstrip.sdk.auth import NoAuth, OAuth, PluginAuth, ServiceAuth, UserAuth
from powerstrip.sdk.context import CallContext
from powerstrip.sdk.errors import PluginError
from powerstrip.sdk.plugin import Operation, Plugin
from powerstrip.sdk.ratelimit import RateLimit

__all__ = [
    "CallContext",
    "NoAuth",
    "OAuth",
    "Operation",
    "Plugin",
    "PluginAuth",
    "PluginError",
    "RateLimit",
    "ServiceAuth",
    "UserAuth",
]
