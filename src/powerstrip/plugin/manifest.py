"""Read an ai-plugin.json leniently: one pass collects every problem, with where and how to fix.

`parse_manifest` never raises for bad input. It returns the typed `Manifest` when the document is
usable (even if it breaks length or charset rules, which stay as error findings: the host installs
such plugins only in lenient mode) and `None` when something structural is missing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from powerstrip.findings import RULES, Finding, Severity, location, quote_value
from powerstrip.plugin import limits
from powerstrip.plugin.model import AuthType, Manifest
from powerstrip.plugin.sniff import describe_body

__all__ = ["ManifestReport", "parse_manifest"]

_NAME_FOR_MODEL = re.compile(r"^[A-Za-z0-9_]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOP_LEVEL = (
    "schema_version",
    "name_for_human",
    "name_for_model",
    "description_for_human",
    "description_for_model",
    "auth",
    "api",
    "logo_url",
    "contact_email",
    "legal_info_url",
)
_DEPRECATED_API_KEYS = ("is_user_authenticated", "has_user_authentication")
_AUTH_FIELDS: dict[str, tuple[str, ...]] = {
    AuthType.NONE: (),
    AuthType.SERVICE_HTTP: ("authorization_type", "verification_tokens"),
    AuthType.USER_HTTP: ("authorization_type",),
    AuthType.OAUTH: (
        "client_url",
        "scope",
        "authorization_url",
        "authorization_content_type",
        "verification_tokens",
    ),
}
# `instructions` was documented by the original platform for every scheme; it is harmless.
_AUTH_ALWAYS_ALLOWED = ("type", "instructions")
_CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")
# An error at one of these places leaves nothing to install: without a namespace, an API or an
# auth scheme the host cannot call the plugin. Errors elsewhere (lengths, a legal page that is
# not a URL) leave the manifest usable, for the host's lenient mode to decide.
_ESSENTIAL = ("manifest", "name_for_model", "api", "auth")


@dataclass(frozen=True, slots=True)
class ManifestReport:
    """The outcome of reading one manifest."""

    manifest: Manifest | None
    findings: tuple[Finding, ...]
    raw: dict[str, Any] | None

    @property
    def usable(self) -> bool:
        return self.manifest is not None


class _Collector:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, code: str, where: str, message: str, fix: str, value: object = None) -> None:
        shown = None if value is None else quote_value(value, 200)
        self.findings.append(Finding(RULES[code], where, message, fix, shown))

    @property
    def structural_failure(self) -> bool:
        return any(
            f.severity is Severity.ERROR
            and f.rule.code not in ("PS103", "PS104")
            and f.location.split(".")[0].split("[")[0] in _ESSENTIAL
            for f in self.findings
        )


def parse_manifest(data: bytes | str | object) -> ManifestReport:
    """Read a manifest from bytes, text or an already-decoded JSON value; report every problem."""
    out = _Collector()
    raw = _decode(data, out)
    if raw is None:
        return ManifestReport(None, tuple(out.findings), None)
    _check_top_level(raw, out)
    _check_api(raw.get("api"), out)
    _check_auth(raw.get("auth"), out)
    manifest = None if out.structural_failure else _build(raw, out)
    return ManifestReport(manifest, tuple(out.findings), raw)


def _decode(data: bytes | str | object, out: _Collector) -> dict[str, Any] | None:
    if isinstance(data, bytes | str):
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        text = text.lstrip("\ufeff")
        try:
            data = json.loads(text)
        except ValueError as exc:
            kind = describe_body(text)
            if kind != "text":
                out.add(
                    "PS115",
                    "manifest",
                    f"expected an ai-plugin.json but got {kind}: "
                    f"{quote_value(text.strip(), 120)!r}",
                    "serve the manifest as JSON at /.well-known/ai-plugin.json",
                )
            else:
                out.add(
                    "PS100",
                    "manifest",
                    f"the manifest is not valid JSON ({exc}); it starts "
                    f"{quote_value(text.strip(), 120)!r}",
                    "fix the JSON syntax (a JSON linter shows the exact spot)",
                )
            return None
    if not isinstance(data, dict):
        out.add(
            "PS100",
            "manifest",
            f"the manifest must be a JSON object, got {type(data).__name__}: "
            f"{quote_value(data, 120)!r}",
            "serve one JSON object with the fields of ai-plugin.json",
        )
        return None
    if "name_for_model" not in data and "api" not in data and "auth" not in data:
        # A JSON error body ({"error": ...}) rather than a manifest with fields missing.
        out.add(
            "PS115",
            "manifest",
            "expected an ai-plugin.json but got a JSON object without any manifest field: "
            f"{quote_value(json.dumps(data), 120)!r}",
            "check that the URL serves the manifest, not an error page",
        )
        return None
    return data


def _string_field(
    raw: dict[str, Any], key: str, where: str, out: _Collector, *, required: bool = True
) -> str | None:
    if key not in raw:
        if required:
            out.add("PS107", where, f"{where} is missing", f"add {where} to the manifest")
        return None
    value = raw[key]
    if not isinstance(value, str):
        out.add(
            "PS108",
            where,
            f"{where} must be a string, got {type(value).__name__}",
            f"write {where} as a JSON string",
            value,
        )
        return None
    if required and not value.strip():
        out.add("PS109", where, f"{where} is empty", f"fill in {where}")
        return None
    return value


def _check_length(value: str | None, where: str, code: str, limit: int, out: _Collector) -> None:
    if value is not None and len(value) > limit:
        out.add(
            code,
            where,
            f"{where} is {len(value)} characters; the limit is {limit}",
            f"shorten {where} to at most {limit} characters",
            value,
        )


def _check_top_level(raw: dict[str, Any], out: _Collector) -> None:
    version = raw.get("schema_version")
    if "schema_version" not in raw:
        out.add(
            "PS101", "schema_version", "schema_version is missing", 'add "schema_version": "v1"'
        )
    elif version != limits.SCHEMA_VERSION:
        out.add(
            "PS101",
            "schema_version",
            f'schema_version is {quote_value(version)!r}; the only version is "v1"',
            'set "schema_version": "v1"',
            version,
        )
    human = _string_field(raw, "name_for_human", "name_for_human", out)
    _check_length(human, "name_for_human", "PS102", limits.NAME_FOR_HUMAN_MAX, out)
    model = _string_field(raw, "name_for_model", "name_for_model", out)
    _check_length(model, "name_for_model", "PS103", limits.NAME_FOR_MODEL_MAX, out)
    if model is not None and model.strip() and not _NAME_FOR_MODEL.match(model):
        bad = sorted({c for c in model if not (c.isascii() and (c.isalnum() or c == "_"))})
        out.add(
            "PS104",
            "name_for_model",
            f"name_for_model {model!r} has characters other than letters, digits and _: "
            f"{' '.join(repr(c) for c in bad)}",
            "use only A-Z, a-z, 0-9 and _ (e.g. " + re.sub(r"[^A-Za-z0-9_]", "_", model) + ")",
            model,
        )
    dfh = _string_field(raw, "description_for_human", "description_for_human", out)
    _check_length(dfh, "description_for_human", "PS105", limits.DESCRIPTION_FOR_HUMAN_MAX, out)
    dfm = _string_field(raw, "description_for_model", "description_for_model", out)
    _check_length(dfm, "description_for_model", "PS106", limits.DESCRIPTION_FOR_MODEL_MAX, out)
    for key in ("logo_url", "legal_info_url"):
        value = _string_field(raw, key, key, out)
        if value is not None and value.strip():
            _check_url(value, key, out, allow_data=key == "logo_url")
    email = _string_field(raw, "contact_email", "contact_email", out)
    if email is not None and email.strip() and not _EMAIL.match(email.strip()):
        out.add(
            "PS113",
            "contact_email",
            f"contact_email {email!r} is not an email address",
            "give an address people can write to, such as support@your-domain.com",
            email,
        )
    for key in raw:
        if key not in _TOP_LEVEL:
            out.add(
                "PS110",
                key,
                f"{key!r} is not a manifest field; it is kept but ignored",
                f"remove {key!r} or move it into your API",
                raw[key],
            )


def _check_url(value: str, where: str, out: _Collector, *, allow_data: bool = False) -> None:
    if allow_data and value.startswith("data:image/"):
        return
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        out.add(
            "PS112",
            where,
            f"{where} {quote_value(value)!r} is not an absolute http(s) URL",
            f"write {where} as a full URL, such as https://your-domain.com/...",
            value,
        )


def _check_api(api: object, out: _Collector) -> None:
    if api is None:
        out.add("PS107", "api", "api is missing", 'add "api": {"type": "openapi", "url": "..."}')
        return
    if not isinstance(api, dict):
        out.add(
            "PS108",
            "api",
            f"api must be an object, got {type(api).__name__}",
            'write "api": {"type": "openapi", "url": "..."}',
            api,
        )
        return
    kind = api.get("type")
    if kind != "openapi":
        out.add(
            "PS114",
            "api.type",
            f'api.type is {quote_value(kind)!r}; the only type is "openapi"',
            'set "api.type": "openapi"',
            kind,
        )
    url = _string_field(api, "url", "api.url", out)
    if url is not None and url.strip():
        # A relative api.url resolves against the manifest's URL, as the original platform did.
        parts = urlsplit(url.strip())
        if parts.scheme and parts.scheme not in ("http", "https"):
            _check_url(url, "api.url", out)
    for key in api:
        if key in ("type", "url"):
            continue
        if key in _DEPRECATED_API_KEYS:
            out.add(
                "PS111",
                location("api", key),
                f"api.{key} is deprecated; it is accepted and ignored",
                f"remove api.{key}: the auth object says how users authenticate",
                api[key],
            )
        else:
            out.add(
                "PS110",
                location("api", key),
                f"api.{key} is not a manifest field; it is kept but ignored",
                f"remove api.{key}",
                api[key],
            )


def _check_auth(auth: object, out: _Collector) -> None:
    if auth is None:
        out.add(
            "PS107", "auth", "auth is missing", 'add "auth": {"type": "none"} or another scheme'
        )
        return
    if not isinstance(auth, dict):
        out.add(
            "PS108",
            "auth",
            f"auth must be an object, got {type(auth).__name__}",
            'write "auth": {"type": "none"} or another scheme',
            auth,
        )
        return
    kind = auth.get("type")
    # Only a string can name a scheme; a list or object here must not reach the dict lookup.
    if not isinstance(kind, str) or kind not in _AUTH_FIELDS:
        out.add(
            "PS120",
            "auth.type",
            f"auth.type is {quote_value(kind)!r}; it must be one of "
            "none, service_http, user_http, oauth",
            "pick the scheme your API uses (see the platform rules, §4)",
            kind,
        )
        return
    if kind in (AuthType.SERVICE_HTTP, AuthType.USER_HTTP):
        value = auth.get("authorization_type")
        if not isinstance(value, str) or value.lower() not in ("bearer", "basic"):
            out.add(
                "PS121",
                "auth.authorization_type",
                f"auth.authorization_type is {quote_value(value)!r}; it must be bearer or basic",
                'set "authorization_type": "bearer" (or "basic")',
                value,
            )
    if kind == AuthType.OAUTH:
        _check_oauth(auth, out)
    if kind in (AuthType.SERVICE_HTTP, AuthType.OAUTH):
        _check_verification_tokens(auth.get("verification_tokens"), out)
    for key in auth:
        if key not in _AUTH_ALWAYS_ALLOWED and key not in _AUTH_FIELDS[kind]:
            out.add(
                "PS125",
                location("auth", key),
                f"auth.{key} is not used by the {kind} scheme; it is ignored",
                f"remove auth.{key}",
                auth[key],
            )


def _check_oauth(auth: dict[str, Any], out: _Collector) -> None:
    for key in ("client_url", "authorization_url"):
        where = f"auth.{key}"
        value = auth.get(key)
        if not isinstance(value, str) or not value.strip():
            out.add(
                "PS122",
                where,
                f"{where} is missing or empty; the oauth scheme needs it",
                f"set {where} to your provider's "
                + ("authorization page" if key == "client_url" else "token endpoint"),
                value,
            )
            continue
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            out.add(
                "PS122",
                where,
                f"{where} {quote_value(value)!r} is not an absolute http(s) URL",
                f"write {where} as a full https URL",
                value,
            )
    scope = auth.get("scope", "")
    if not isinstance(scope, str):
        out.add(
            "PS122",
            "auth.scope",
            f"auth.scope must be a string, got {type(scope).__name__}",
            'write the scopes as one space-separated string, e.g. "read write"',
            scope,
        )
    content_type = auth.get("authorization_content_type")
    if content_type is None:
        out.add(
            "PS123",
            "auth.authorization_content_type",
            "auth.authorization_content_type is missing",
            'set it to "application/json" or "application/x-www-form-urlencoded"',
        )
    elif not isinstance(content_type, str) or content_type.strip().lower() not in _CONTENT_TYPES:
        out.add(
            "PS123",
            "auth.authorization_content_type",
            f"auth.authorization_content_type is {quote_value(content_type)!r}; "
            "it must be application/json or application/x-www-form-urlencoded",
            "use one of the two content types your token endpoint accepts",
            content_type,
        )


def _check_verification_tokens(tokens: object, out: _Collector) -> None:
    where = "auth.verification_tokens"
    if tokens is None:
        out.add(
            "PS124",
            where,
            f"{where} is missing; the host checks it before the plugin goes live",
            "register the plugin with the host, then add the token it gives you under its key",
        )
    elif not isinstance(tokens, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tokens.items()
    ):
        out.add(
            "PS124",
            where,
            f"{where} must map host names to token strings",
            'write it as {"powerstrip": "TOKEN"}',
            tokens,
        )


def _build(raw: dict[str, Any], out: _Collector) -> Manifest | None:
    auth = dict(raw["auth"])
    kind = auth["type"]
    allowed = set(_AUTH_FIELDS[kind]) | {"type"}
    clean_auth = {k: v for k, v in auth.items() if k in allowed}
    if "authorization_type" in clean_auth:
        clean_auth["authorization_type"] = clean_auth["authorization_type"].lower()
    if "authorization_content_type" in clean_auth:
        clean_auth["authorization_content_type"] = (
            clean_auth["authorization_content_type"].strip().lower()
        )
    tokens = clean_auth.get("verification_tokens")
    if tokens is not None and not (
        isinstance(tokens, dict) and all(isinstance(v, str) for v in tokens.values())
    ):
        del clean_auth["verification_tokens"]
    api = raw["api"]
    try:
        return Manifest(
            schema_version=str(raw.get("schema_version", "v1")),
            name_for_human=_text(raw, "name_for_human"),
            name_for_model=raw["name_for_model"],
            description_for_human=_text(raw, "description_for_human"),
            description_for_model=_text(raw, "description_for_model"),
            auth=clean_auth,
            api={"type": "openapi", "url": api["url"].strip()},
            logo_url=_text(raw, "logo_url").strip(),
            contact_email=_text(raw, "contact_email").strip(),
            legal_info_url=_text(raw, "legal_info_url").strip(),
            extra={k: v for k, v in raw.items() if k not in _TOP_LEVEL},
        )
    except ValidationError as exc:  # pragma: no cover - the checks above should catch all
        first = exc.errors()[0]
        out.add(
            "PS108",
            ".".join(str(p) for p in first["loc"]) or "manifest",
            f"the manifest could not be read: {first['msg']}",
            "fix the field named here",
        )
        return None


def _text(raw: dict[str, Any], key: str) -> str:
    # Non-essential fields fall back to "" when broken; their findings already say so.
    value = raw.get(key)
    return value if isinstance(value, str) else ""
