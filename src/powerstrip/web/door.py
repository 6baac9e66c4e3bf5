"""The one place the web app reaches past the host's services: `check` on a plugin URL.

The Develop page shows `powerstrip check`'s findings before anything is stored; no host service
offers that yet, so it is called here, with the host's own guarded client and development mode.
"""

from __future__ import annotations

from powerstrip.check import CheckReport, check_url
from powerstrip.host import Host, UserInfo

__all__ = ["check_plugin"]


async def check_plugin(host: Host, user: UserInfo, url: str) -> CheckReport:
    """`powerstrip check`'s report on a plugin URL, before anything is stored."""
    del user  # any signed-in user may check a plugin; nothing is stored
    return await check_url(url, host.client, dev_mode=host.settings.dev_mode)
