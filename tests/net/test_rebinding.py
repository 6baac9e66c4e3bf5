"""DNS rebinding: a name whose answer changes between the guard's check and the connect.

DNS is the edge Powerstrip does not own, so it is the part faked here: `socket.getaddrinfo`
answers a public address the first time it is asked about `rebind.example.com` and loopback
every time after, as an attacker's name server with a zero TTL would. The kernel's side of the
connect is recorded (and refused: this machine has no route out), so the tests see exactly
which addresses the client dialled.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

from powerstrip.errors import AddressBlockedError, ConnectError
from powerstrip.net import GuardedClient, NetPolicy, RetryPolicy
from powerstrip.testing import LoopbackServer

pytestmark = [pytest.mark.anyio, pytest.mark.network]

PolicyFor = Callable[..., NetPolicy]
NAME = "rebind.example.com"
PUBLIC = "93.184.216.34"


class FlippingDNS:
    """Answers for test names, in turn; the last answer repeats. Other names go to the system."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []
        self._system = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        turns = self.answers.get(name)
        if turns is None:
            return self._system(host, port, *args, **kwargs)
        self.asked.append(name)
        addresses = turns.pop(0) if len(turns) > 1 else turns[0]
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (a, int(port or 0)),
            )
            for a in addresses
        ]


@pytest.fixture
def dialled(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every address a socket tried to connect to; non-loopback ones are refused."""
    seen: list[tuple[str, int]] = []
    original = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple):
            seen.append((str(address[0]), int(address[1])))
            if not ipaddress.ip_address(str(address[0]).split("%", 1)[0]).is_loopback:
                raise ConnectionRefusedError(111, "no route out of the test machine")
        original(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


@pytest.fixture
def no_outbound_network(dialled: list[tuple[str, int]]) -> None:
    """Replaces the package's tripwire: here a non-loopback dial is refused and recorded."""
    return


def _dns(monkeypatch: pytest.MonkeyPatch, *turns: list[str]) -> FlippingDNS:
    dns = FlippingDNS({NAME: list(turns)})
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    return dns


async def test_the_client_connects_to_the_address_it_checked(
    monkeypatch: pytest.MonkeyPatch, dialled: list[tuple[str, int]]
) -> None:
    dns = _dns(monkeypatch, [PUBLIC], ["127.0.0.1"])
    async with GuardedClient(NetPolicy()) as client:
        with pytest.raises(ConnectError):
            await client.fetch(f"https://{NAME}/.well-known/ai-plugin.json")
    # One question, and the dial went to its answer: a second lookup at connect time would
    # have been answered 127.0.0.1.
    assert dns.asked == [NAME]
    assert dialled == [(PUBLIC, 443)]


async def test_a_retry_resolves_again_and_is_checked_again(
    monkeypatch: pytest.MonkeyPatch, dialled: list[tuple[str, int]]
) -> None:
    dns = _dns(monkeypatch, [PUBLIC], ["127.0.0.1"])
    retry = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.02)
    async with GuardedClient(NetPolicy()) as client:
        with pytest.raises(AddressBlockedError, match=r"resolves to 127\.0\.0\.1") as caught:
            await client.request("GET", f"https://{NAME}/api", retry=retry)
    assert caught.value.attempts == 2
    assert dns.asked == [NAME, NAME]
    assert dialled == [(PUBLIC, 443)]


@pytest.mark.parametrize(
    "answer", [[PUBLIC, "127.0.0.1"], ["127.0.0.1", PUBLIC], [PUBLIC, "::ffff:169.254.169.254"]]
)
async def test_an_answer_with_any_forbidden_address_is_refused_before_any_dial(
    monkeypatch: pytest.MonkeyPatch, dialled: list[tuple[str, int]], answer: list[str]
) -> None:
    _dns(monkeypatch, answer)
    async with GuardedClient(NetPolicy()) as client:
        with pytest.raises(AddressBlockedError):
            await client.request("POST", f"https://{NAME}/api", json={"x": 1})
    assert dialled == []


async def test_a_redirect_to_a_name_that_rebinds_to_loopback_is_refused(
    monkeypatch: pytest.MonkeyPatch,
    dialled: list[tuple[str, int]],
    https_server: LoopbackServer,
    policy_for: PolicyFor,
) -> None:
    # The plugin (allowlisted, on loopback) sends the client on to a name its own DNS answers
    # with 127.0.0.1: the new hop is a new connection, resolved and checked on its own.
    _dns(monkeypatch, ["127.0.0.1"])
    target = urllib.parse.quote(f"https://{NAME}/admin", safe="")
    async with GuardedClient(policy_for(https_server, "plugin.example.com")) as client:
        with pytest.raises(AddressBlockedError, match=r"rebind\.example\.com resolves to 127"):
            await client.fetch(
                f"https://plugin.example.com/redirect?to={target}",
                redirect_policy=lambda _from, _to: True,
            )
    assert dialled == [("127.0.0.1", https_server.port)]
