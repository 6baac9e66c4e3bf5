"""The TLS context of the guarded client: TLS 1.2 or later, certificates always verified."""

from __future__ import annotations

import ssl

import certifi

from powerstrip.errors import ConfigError
from powerstrip.net.policy import NetPolicy

__all__ = ["build_ssl_context"]


def build_ssl_context(policy: NetPolicy) -> ssl.SSLContext:
    """Build the client context: verify against `ca_bundle` (else certifi), TLS >= 1.2."""
    cafile = str(policy.ca_bundle) if policy.ca_bundle is not None else certifi.where()
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
        if policy.extra_ca_pem:
            context.load_verify_locations(cadata=policy.extra_ca_pem.decode("ascii"))
    except (OSError, ssl.SSLError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot load the CA bundle: {exc}",
            where=cafile,
            fix="point ca_bundle at a readable PEM file of CA certificates",
        ) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # create_default_context already sets these; restating them makes the policy explicit.
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["http/1.1"])
    return context
