"""The sign-in throttle's window arithmetic, with explicit clocks."""

from __future__ import annotations

from powerstrip.examples.oauth_provider.throttle import SignInThrottle


def test_the_throttle_opens_again_when_old_failures_leave_the_window() -> None:
    throttle = SignInThrottle(failures=3, window=60)
    for t in (0.0, 1.0, 2.0):
        assert throttle.wait("a", now=t) == 0
        throttle.failed("a", now=t)
    assert throttle.wait("a", now=10.0) == 50.0
    assert throttle.wait("b", now=10.0) == 0  # per address
    assert throttle.wait("a", now=60.5) == 0  # the first failure has left the window
