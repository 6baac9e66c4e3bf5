"""A throwaway certificate authority for tests, built on `trustme`.

`TestCA` issues server certificates for any names (host names and IP addresses) and writes its
own certificate to a PEM file that `NetPolicy(ca_bundle=...)` can trust.
"""

from __future__ import annotations

import ssl
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import trustme

__all__ = ["TestCA"]


def _require_trustme() -> None:
    try:
        import trustme  # noqa: F401
    except ImportError:  # pragma: no cover - trustme is a dev dependency
        raise ImportError("powerstrip.testing.TestCA needs trustme: pip install trustme") from None


def _set_versions(
    context: ssl.SSLContext,
    minimum_version: ssl.TLSVersion | None,
    maximum_version: ssl.TLSVersion | None,
) -> None:
    # Setting TLS 1.0/1.1 bounds emits DeprecationWarning; tests that need an obsolete server
    # (to prove the client refuses it) ask for it on purpose.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if minimum_version is not None:
            context.minimum_version = minimum_version
        if maximum_version is not None:
            context.maximum_version = maximum_version


class TestCA:
    """A test certificate authority: issues server certificates and exports its root."""

    __test__ = False  # not a test class, whatever pytest's name heuristics say

    def __init__(self, organization: str = "Powerstrip test CA") -> None:
        _require_trustme()
        import trustme

        self._ca: trustme.CA = trustme.CA(organization_name=organization)

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate in PEM form."""
        return self._ca.cert_pem.bytes()

    def ca_pem_path(self, directory: Path) -> Path:
        """Write the CA certificate to `directory/powerstrip-test-ca.pem` and return the path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "powerstrip-test-ca.pem"
        path.write_bytes(self.ca_pem)
        return path

    def server_context(
        self,
        *names: str,
        minimum_version: ssl.TLSVersion | None = None,
        maximum_version: ssl.TLSVersion | None = None,
        ciphers: str | None = None,
    ) -> ssl.SSLContext:
        """A server-side SSLContext with a certificate for `names` signed by this CA.

        `names` may mix host names and IP addresses (`"127.0.0.1"`, `"::1"`). Pass
        `maximum_version=ssl.TLSVersion.TLSv1_1, ciphers="DEFAULT:@SECLEVEL=0"` for an obsolete
        server; OpenSSL 3 refuses TLS 1.1 at its default security level.
        """
        if not names:
            raise ValueError("server_context needs at least one host name or address")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        _set_versions(context, minimum_version, maximum_version)
        if ciphers is not None:
            context.set_ciphers(ciphers)
        self._ca.issue_cert(*names).configure_cert(context)
        return context

    def client_context(
        self,
        *,
        minimum_version: ssl.TLSVersion | None = None,
        maximum_version: ssl.TLSVersion | None = None,
        ciphers: str | None = None,
    ) -> ssl.SSLContext:
        """A client-side SSLContext that trusts this CA, with optional version bounds."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        _set_versions(context, minimum_version, maximum_version)
        if ciphers is not None:
            context.set_ciphers(ciphers)
        self._ca.configure_trust(context)
        return context
