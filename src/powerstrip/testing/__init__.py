"""Helpers for tests, shipped to plugin authors: a test CA and real servers on loopback.

Nothing else in Powerstrip imports this package. It needs the `dev` extras (`trustme`,
`uvicorn`); each helper says the exact install command when one is missing.
"""

from powerstrip.testing.browser import SignInError, sign_in_through_host
from powerstrip.testing.scripted_model import (
    AudioRequest,
    BreakStream,
    CallTool,
    CallTools,
    Delay,
    Fail,
    Reply,
    Respond,
    ScriptedModelServer,
    ScriptStep,
)
from powerstrip.testing.servers import ASGIApp, LoopbackServer, loopback_policy
from powerstrip.testing.tls import TestCA

__all__ = [
    "ASGIApp",
    "AudioRequest",
    "BreakStream",
    "CallTool",
    "CallTools",
    "Delay",
    "Fail",
    "LoopbackServer",
    "Reply",
    "Respond",
    "ScriptStep",
    "ScriptedModelServer",
    "SignInError",
    "TestCA",
    "loopback_policy",
    "sign_in_through_host",
]
