"""The example plugins, built with `powerstrip.sdk`, and the registry the CLI serves them from.

from powerstrip.examples import EXAMPLES, ExampleConfig
app = EXAMPLES["todo-oauth"].build(ExampleConfig(data_dir=Path("data")))
"""

from powerstrip.examples.config import DEV_REDIRECT_URI, ExampleConfig, OAuthContentType
from powerstrip.examples.dev_secrets import DevSecrets, resolve_secrets
from powerstrip.examples.registry import EXAMPLES, ExampleSpec, issue_user_key

__all__ = [
    "DEV_REDIRECT_URI",
    "EXAMPLES",
    "DevSecrets",
    "ExampleConfig",
    "ExampleSpec",
    "OAuthContentType",
    "issue_user_key",
    "resolve_secrets",
]
