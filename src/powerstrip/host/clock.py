"""The clock the data services read: the system's, or one a test moves on.

Retention and export expiry compare stored timestamps with "now"; passing the clock in lets a
test jump 31 days ahead without sleeping, against a real database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from powerstrip.store import utcnow

__all__ = ["Clock", "system_clock"]

Clock = Callable[[], datetime]

system_clock: Clock = utcnow
