"""The offline router: a built-in `Model` that uses plugins without any LLM or API key.

OfflineRouter()     the backend: select an operation (or abstain), fill its arguments from
                    the message, ask for a missing one, render the result as text
"""

from powerstrip.runtime.offline.router import OfflineRouter

__all__ = ["OfflineRouter"]
