"""Findings: what `powerstrip check` (and install) report about a plugin.

A `Rule` is one platform rule with a stable code (`PS102`), a short name and a severity. A
`Finding` is one breach of a rule at one location, with the value seen and a one-line fix. Codes
never change meaning once released; docs/findings.md documents every one (a test keeps it so).

Code ranges: PS0xx fetching and discovery, PS1xx the manifest, PS2xx the domain policy,
PS3xx the OpenAPI document, PS4xx the usage policy, PS5xx MCP servers.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "RULES",
    "Finding",
    "Rule",
    "Severity",
    "has_errors",
    "location",
    "quote_value",
    "rules_markdown",
]


class Severity(enum.StrEnum):
    """How much a finding matters: errors block a clean install, warnings do not."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of the platform, with a stable code."""

    code: str
    name: str
    severity: Severity
    title: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One breach of a rule at one location."""

    rule: Rule
    location: str
    message: str
    fix: str
    value: str | None = None

    @property
    def code(self) -> str:
        return self.rule.code

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    def __str__(self) -> str:
        return f"{self.rule.code} {self.rule.severity} at {self.location}: {self.message}"

    def as_dict(self) -> dict[str, str | None]:
        return {
            "code": self.rule.code,
            "name": self.rule.name,
            "severity": str(self.rule.severity),
            "location": self.location,
            "message": self.message,
            "fix": self.fix,
            "value": self.value,
        }


def location(*parts: str | int) -> str:
    """Join path parts into a readable location: `auth.authorization_url`, `paths['/a'].get`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier() or part.replace("-", "_").isidentifier():
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def quote_value(value: object, limit: int = 80) -> str:
    """A short, printable rendering of a seen value for messages."""
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO

RULES: dict[str, Rule] = {
    r.code: r
    for r in [
        # PS0xx: fetching and discovery
        Rule("PS001", "fetch-failed", _E, "the URL could not be fetched"),
        Rule("PS002", "http-error-status", _E, "the server answered with an error status"),
        Rule("PS003", "tls-refused", _E, "the TLS policy refused the connection"),
        Rule("PS004", "address-blocked", _E, "the address guard refused the destination"),
        Rule("PS005", "redirect-refused", _E, "a redirect the domain policy does not allow"),
        Rule("PS006", "response-too-large", _E, "the response passed the size cap"),
        Rule("PS007", "timeout", _E, "the request ran past its time budget"),
        Rule("PS008", "bad-target", _E, "the target is not a URL, domain, file or directory"),
        Rule("PS009", "redirect-followed", _I, "the manifest was served after an allowed redirect"),
        Rule("PS010", "spec-not-checked", _W, "the spec was not found beside the manifest"),
        # PS1xx: the manifest
        Rule("PS100", "manifest-not-json", _E, "the manifest is not a JSON object"),
        Rule("PS101", "schema-version", _E, 'schema_version must be "v1"'),
        Rule("PS102", "name-for-human-too-long", _E, "name_for_human is too long"),
        Rule("PS103", "name-for-model-too-long", _E, "name_for_model is too long"),
        Rule(
            "PS104",
            "name-for-model-charset",
            _E,
            "name_for_model has characters other than letters, digits and _",
        ),
        Rule("PS105", "description-for-human-too-long", _E, "description_for_human is too long"),
        Rule("PS106", "description-for-model-too-long", _E, "description_for_model is too long"),
        Rule("PS107", "missing-field", _E, "a required field is missing"),
        Rule("PS108", "wrong-type", _E, "a field has the wrong type"),
        Rule("PS109", "empty-field", _E, "a required field is empty"),
        Rule("PS110", "unknown-key", _W, "a key the platform does not define"),
        Rule("PS111", "deprecated-key", _I, "a deprecated key, accepted and ignored"),
        Rule("PS112", "bad-url", _E, "a URL field is not an absolute http(s) URL"),
        Rule("PS113", "bad-email", _E, "contact_email is not an email address"),
        Rule("PS114", "api-type", _E, 'api.type must be "openapi"'),
        Rule("PS115", "not-a-manifest", _E, "the body is not an ai-plugin.json"),
        Rule(
            "PS120", "auth-type", _E, "auth.type is not one of none, service_http, user_http, oauth"
        ),
        Rule("PS121", "authorization-type", _E, "auth.authorization_type must be bearer or basic"),
        Rule("PS122", "oauth-field", _E, "an OAuth field is missing or malformed"),
        Rule(
            "PS123",
            "authorization-content-type",
            _E,
            "auth.authorization_content_type is not a supported content type",
        ),
        Rule("PS124", "verification-tokens", _W, "verification_tokens is missing or malformed"),
        Rule("PS125", "auth-extra-field", _W, "an auth field that this scheme does not use"),
        # PS2xx: the domain policy
        Rule("PS201", "contact-email-domain", _E, "contact_email is not on the plugin's domain"),
        Rule("PS202", "legal-info-domain", _E, "legal_info_url is not on the plugin's domain"),
        Rule("PS203", "not-https", _E, "a URL does not use HTTPS on port 443"),
        Rule(
            "PS204", "server-not-on-domain", _W, "no server in the spec is on the plugin's domain"
        ),
        Rule("PS205", "api-url-domain", _W, "api.url is not on the plugin's domain"),
        Rule("PS206", "oauth-url-domain", _W, "an OAuth URL is not on the plugin's domain"),
        Rule("PS207", "api-base-url", _I, "the API base URL the host will call"),
        Rule(
            "PS208", "root-domain-unknown", _I, "domain rules were not checked: the root is unknown"
        ),
        Rule(
            "PS211",
            "dev-page-not-https",
            _W,
            "a page the host never fetches does not use HTTPS (development mode)",
        ),
        # PS3xx: the OpenAPI document
        Rule("PS300", "spec-not-a-spec", _E, "the spec URL did not return an OpenAPI document"),
        Rule("PS301", "spec-syntax", _E, "the spec is neither valid JSON nor valid YAML"),
        Rule(
            "PS302",
            "spec-format-mismatch",
            _I,
            "the spec's format does not match its extension or content type",
        ),
        Rule("PS303", "openapi-version-type", _W, "the openapi version is not a string"),
        Rule("PS304", "openapi-version-unknown", _W, "the openapi version does not exist"),
        Rule("PS305", "openapi-key-typo", _W, "the openapi key is misspelt"),
        Rule("PS306", "openapi-version-unsupported", _E, "the document is not OpenAPI 3.0 or 3.1"),
        Rule("PS307", "no-operations", _E, "the spec has no operations"),
        Rule("PS308", "ref-unresolved", _E, "a $ref points nowhere"),
        Rule("PS309", "ref-cycle", _I, "a recursive $ref was cut for the model"),
        Rule("PS310", "ref-external", _W, "a $ref points outside the document"),
        Rule("PS311", "operation-id-missing", _W, "an operation has no operationId"),
        Rule("PS312", "operation-id-duplicate", _E, "two operations share an operationId"),
        Rule(
            "PS313",
            "operation-description-too-long",
            _W,
            "an operation's summary or description is too long",
        ),
        Rule(
            "PS314", "parameter-description-too-long", _W, "a parameter's description is too long"
        ),
        Rule("PS315", "parameter-malformed", _E, "a parameter is malformed"),
        Rule("PS316", "path-parameter-mismatch", _W, "path template and path parameters disagree"),
        Rule("PS317", "request-body-not-json", _W, "a request body has no JSON media type"),
        Rule(
            "PS318", "function-name-shortened", _I, "a function name was shortened to 64 characters"
        ),
        Rule("PS319", "no-servers", _I, "the spec has no servers"),
        Rule("PS320", "spec-structure", _W, "the spec does not follow the OpenAPI schema"),
        Rule(
            "PS321",
            "operation-undocumented",
            _W,
            "an operation has neither summary nor description",
        ),
        Rule("PS322", "parameter-name-clash", _W, "two parameters of an operation share a name"),
        Rule("PS323", "schema-malformed", _W, "a schema is malformed"),
        Rule("PS324", "server-url-malformed", _W, "a server URL is malformed"),
        Rule(
            "PS325",
            "parameter-not-for-model",
            _W,
            "a parameter the host does not hand to the model (cookie, Authorization, ...)",
        ),
        Rule(
            "PS326", "schema-too-large", _W, "a tool's parameters schema was too large and was cut"
        ),
        Rule("PS327", "path-unsafe", _E, "a path could leave the API base URL"),
        # PS330–PS339: what the OpenAPI reference validator (openapi-spec-validator) refuses
        Rule("PS330", "openapi-rule", _W, "the spec breaks a rule of the OpenAPI specification"),
        Rule("PS331", "openapi-field-missing", _W, "an OpenAPI object lacks a field it requires"),
        Rule(
            "PS332", "openapi-field-unknown", _W, "an OpenAPI object has a key it does not define"
        ),
        Rule("PS333", "openapi-field-type", _W, "an OpenAPI field has the wrong JSON type"),
        Rule(
            "PS334", "openapi-value-invalid", _W, "an OpenAPI field has a value it does not allow"
        ),
        Rule("PS335", "schema-type-name", _W, "a schema's type is not a JSON Schema type name"),
        Rule(
            "PS336",
            "request-schema-type-name",
            _E,
            "a parameter or request body schema's type is not a JSON Schema type name",
        ),
        Rule("PS337", "ref-target-missing", _W, "a $ref outside the requests points nowhere"),
        Rule(
            "PS338",
            "request-ref-target-missing",
            _E,
            "a $ref in a parameter or request body points nowhere",
        ),
        Rule(
            "PS339",
            "reference-validator-stopped",
            _W,
            "the OpenAPI reference validator could not check the whole spec",
        ),
        # PS4xx: the usage policy
        Rule("PS401", "steering-manifest", _W, "description_for_model tries to steer the model"),
        Rule("PS402", "steering-spec", _W, "an OpenAPI description tries to steer the model"),
        # PS5xx: MCP servers
        Rule("PS500", "mcp-unreachable", _E, "the MCP server could not be reached or used"),
        Rule("PS501", "mcp-no-tools", _E, "the MCP server lists no tools"),
        Rule("PS502", "mcp-tool-name", _E, "a tool name breaks MCP's naming rules"),
        Rule("PS503", "mcp-tool-name-duplicate", _E, "two tools share a name"),
        Rule("PS504", "mcp-input-schema", _E, "a tool's input schema is not an object schema"),
        Rule("PS505", "mcp-no-annotations", _W, "a tool has no annotations: assumed destructive"),
        Rule("PS506", "mcp-annotations-contradict", _W, "a tool's annotations contradict"),
        Rule("PS507", "mcp-no-description", _W, "a tool has no description"),
        Rule("PS508", "steering-mcp", _W, "an MCP tool or instruction tries to steer the model"),
        Rule("PS509", "mcp-tool-treatment", _I, "how the host will treat a tool"),
    ]
}


def rules_markdown() -> str:
    """The catalogue as a Markdown table, as docs/findings.md shows it."""
    lines = ["| code | severity | name | rule |", "| --- | --- | --- | --- |"]
    lines += [f"| {r.code} | {r.severity} | {r.name} | {r.title} |" for r in RULES.values()]
    return "\n".join(lines) + "\n"
