"""The web server: the REST API (`/api`), the OAuth pages (`/aip`), over one `Host` per process.

app = create_app(Settings())      # serve with uvicorn; `powerstrip serve` does
"""

from powerstrip.server.app import create_app

__all__ = ["create_app"]
