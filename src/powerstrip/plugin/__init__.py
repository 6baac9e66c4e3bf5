"""The ai-plugin.json: its model, its rules, the domain policy and discovery from a URL."""

from powerstrip.plugin.discovery import WELL_KNOWN_PATH, manifest_url_for, spec_url_for
from powerstrip.plugin.domain_policy import (
    ApiBaseChoice,
    choose_api_base_url,
    email_domain,
    host_of,
    is_same_or_subdomain,
    manifest_redirect_allowed,
    registrable_domain,
    root_domain,
    same_registrable_domain,
)
from powerstrip.plugin.manifest import ManifestReport, parse_manifest
from powerstrip.plugin.model import (
    ApiRef,
    AuthorizationType,
    AuthType,
    Manifest,
    NoAuth,
    OAuthAuth,
    PluginAuth,
    ServiceHttpAuth,
    UserHttpAuth,
)
from powerstrip.plugin.sniff import describe_body
from powerstrip.plugin.usage_policy import SteeringMatch, find_steering

__all__ = [
    "WELL_KNOWN_PATH",
    "ApiBaseChoice",
    "ApiRef",
    "AuthType",
    "AuthorizationType",
    "Manifest",
    "ManifestReport",
    "NoAuth",
    "OAuthAuth",
    "PluginAuth",
    "ServiceHttpAuth",
    "SteeringMatch",
    "UserHttpAuth",
    "choose_api_base_url",
    "describe_body",
    "email_domain",
    "find_steering",
    "host_of",
    "is_same_or_subdomain",
    "manifest_redirect_allowed",
    "manifest_url_for",
    "parse_manifest",
    "registrable_domain",
    "root_domain",
    "same_registrable_domain",
    "spec_url_for",
]
