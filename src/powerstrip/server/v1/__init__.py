"""The OpenAI-compatible API, mounted at `/v1`: the `openai` client works against it unchanged.

One sub-application of the server, with OpenAI's error shape, its own schema
(`/v1/openapi.json`) and its own door (`V1Guard`: Powerstrip API tokens and their scopes); every
route calls `host.openai` only. docs/openai-api.md lists what each endpoint supports.
"""

from powerstrip.server.v1.app import create_v1_app
from powerstrip.server.v1.uploads import PARTS_PATH as UPLOAD_PARTS_PATH

__all__ = ["UPLOAD_PARTS_PATH", "create_v1_app"]
