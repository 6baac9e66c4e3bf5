"""The one exception tree of Powerstrip.

Every error says what went wrong, where, and how to fix it. Third-party exceptions (httpx, yaml,
ssl, ...) are converted where they enter, so callers only ever catch these::

    PowerstripError                 what, where, fix
    ├── ConfigError                 a setting is malformed
    ├── InvalidInputError           a value the caller gave is malformed (a key with a newline)
    ├── NetError                    an outbound request did not complete
    │   ├── AddressBlockedError     the address guard refused the destination
    │   ├── TLSPolicyError          TLS version, certificate, scheme or port refused
    │   ├── RedirectRefusedError    a redirect the caller's policy does not allow
    │   ├── ResponseTooLargeError   the body passed the size cap
    │   ├── FetchTimeoutError       the request ran past its time budget
    │   ├── ConnectError            could not connect: nothing was sent
    │   ├── BrokenConnectionError   the connection broke after the request was (maybe) sent
    │   ├── ProtocolError           the request or the answer broke the HTTP protocol
    │   └── HTTPStatusError         the server answered with an error status
    ├── DiscoveryError              a plugin could not be found from the given target
    ├── ManifestError               an ai-plugin.json is unusable (carries findings)
    ├── SpecError                   an OpenAPI document is unusable (carries findings)
    ├── OAuthError                  an OAuth exchange or refresh failed (the user must sign in)
    ├── VaultError                  a secret cannot be sealed or opened (key missing, tampered)
    ├── StoreError                  the database refused a write or is not migrated
    ├── CoordinationError           the shared state of several workers (Redis) cannot be reached
    ├── ModelError                  the model backend failed (unreachable, bad answer, mid-stream)
    ├── IngestError                 a document cannot be read (empty, corrupt, wrong type, too big)
    ├── EmbeddingError              the embedder cannot load or answer (model files, endpoint)
    ├── SearchError                 a document search is malformed (top_k, filter)
    ├── AudioError                  a recording cannot be used (empty, corrupt, wrong kind, long)
    │   └── AudioTooLargeError      the audio file passed the size cap
    ├── TranscriptionUnavailableError  no speech to text: turned off, no model, no backend
    ├── JobError                    a background job cannot be queued, or failed for good
    │   └── RetryLaterError         a job failed for a passing reason: try it again later
    ├── RegistryError               a plugin store rule refuses the action (caps, bans, limits)
    │   └── NotFoundError           the plugin, conversation or grant does not exist for the caller
    └── AccessError                 the caller may not do this (not an admin, not the owner)
        └── SignInRequiredError     the caller is not signed in (no or a wrong API token)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from powerstrip.findings import Finding

__all__ = [
    "AccessError",
    "AddressBlockedError",
    "AudioError",
    "AudioTooLargeError",
    "BrokenConnectionError",
    "ConfigError",
    "ConnectError",
    "CoordinationError",
    "DiscoveryError",
    "EmbeddingError",
    "FetchTimeoutError",
    "HTTPStatusError",
    "IngestError",
    "InvalidInputError",
    "JobError",
    "ManifestError",
    "ModelError",
    "NetError",
    "NotFoundError",
    "OAuthError",
    "PowerstripError",
    "ProtocolError",
    "RedirectRefusedError",
    "RegistryError",
    "ResponseTooLargeError",
    "RetryLaterError",
    "SearchError",
    "SignInRequiredError",
    "SpecError",
    "StoreError",
    "TLSPolicyError",
    "TranscriptionUnavailableError",
    "VaultError",
]


class PowerstripError(Exception):
    """Root of every error Powerstrip raises on purpose."""

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.message = message
        self.where = where
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = [self.message]
        if self.where:
            parts.append(f"(at {self.where})")
        text = " ".join(parts)
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


class ConfigError(PowerstripError):
    """A setting is malformed."""


class InvalidInputError(PowerstripError):
    """A value the caller gave is malformed: `where` names the field, `fix` the expected form."""


class NetError(PowerstripError):
    """An outbound request did not complete.

    `attempts` is how many times the request was sent (or tried) before giving up, so a call
    record can say it; the client sets it on the error it raises.
    """

    attempts: int = 1


class AddressBlockedError(NetError):
    """The address guard refused to connect to the destination."""


class TLSPolicyError(NetError):
    """The TLS policy refused the connection."""


class RedirectRefusedError(NetError):
    """The server redirected somewhere the caller's redirect policy does not allow."""


class ResponseTooLargeError(NetError):
    """The response body passed the configured size cap."""


class FetchTimeoutError(NetError):
    """The request ran past its time budget."""


class ConnectError(NetError):
    """No connection could be made (DNS, refused, unreachable): nothing was sent."""


class BrokenConnectionError(NetError):
    """The connection broke once the request was (or may have been) sent: it may have happened."""


class ProtocolError(NetError):
    """The request could not be written as HTTP, or the answer was not well-formed HTTP."""


class HTTPStatusError(NetError):
    """The server answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body_start: str = "",
        where: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.body_start = body_start
        super().__init__(message, where=where, fix=fix)


class DiscoveryError(PowerstripError):
    """A plugin could not be found from the given target."""


class _FindingsError(PowerstripError):
    def __init__(
        self,
        message: str,
        findings: list[Finding],
        *,
        where: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.findings = findings
        if fix is None and findings:
            fix = findings[0].fix
        super().__init__(message, where=where, fix=fix)


class ManifestError(_FindingsError):
    """An ai-plugin.json is unusable; `findings` lists every reason."""


class SpecError(_FindingsError):
    """An OpenAPI document is unusable; `findings` lists every reason."""


class VaultError(PowerstripError):
    """A secret cannot be sealed or opened: a key is missing, or the ciphertext was tampered."""


class StoreError(PowerstripError):
    """The database refused a write, or its schema is not at the expected migration."""


class CoordinationError(PowerstripError):
    """The state workers share (turn locks, rate limits, events on Redis) cannot be had now."""


class ModelError(PowerstripError):
    """The model backend failed: unreachable, an error answer, or a broken stream."""


class IngestError(PowerstripError):
    """A document cannot be read: empty, corrupt, of a type we do not read, or too big."""


class EmbeddingError(PowerstripError):
    """The embedder cannot load its model or its endpoint gave no usable vectors."""


class SearchError(PowerstripError):
    """A document search is malformed: a `top_k` out of range, a filter that cannot apply."""


class AudioError(PowerstripError):
    """Audio cannot be transcribed: empty, corrupt, of a kind we do not read, or too long."""


class AudioTooLargeError(AudioError):
    """The audio file is larger than the transcription size cap."""


class TranscriptionUnavailableError(PowerstripError):
    """No speech-to-text is there: turned off, or neither the backend nor the local model."""


class JobError(PowerstripError):
    """A background job cannot be queued (no such job, the queue is unreachable) or failed."""


class RetryLaterError(JobError):
    """A job failed for a passing reason (a service briefly away): its worker tries it again."""


class RegistryError(PowerstripError):
    """A plugin store rule refuses the action: the install cap, a ban, the conversation limit."""


class StaleDecisionError(RegistryError):
    """The decisions answer approvals no longer waiting: another window or process answered
    them first, or the turn was withdrawn. Nothing changed, and the turn they belonged to may
    still be running elsewhere, so nothing of it is closed on this refusal's account."""


class NotFoundError(RegistryError):
    """The plugin, conversation or grant does not exist, or is not the caller's to see."""


class AccessError(PowerstripError):
    """The caller may not do this: not signed in, or not an admin."""


class SignInRequiredError(AccessError):
    """The caller is not signed in: no API token, or one that is not valid."""


class OAuthError(PowerstripError):
    """An OAuth step failed: bad state, refused code exchange, failed refresh."""
