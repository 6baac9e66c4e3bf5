"""Run every rule on one plugin, whether it lives at a URL or in local files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from powerstrip.check.reference import drop_covered, reference_findings
from powerstrip.check.report import CheckReport, SpecSource, ToolSummary
from powerstrip.check.rules import (
    LOCAL_HOSTS,
    domain_findings,
    steering_findings,
    url_findings,
    url_policy_findings,
)
from powerstrip.errors import (
    AddressBlockedError,
    DiscoveryError,
    FetchTimeoutError,
    NetError,
    RedirectRefusedError,
    ResponseTooLargeError,
    SpecError,
    TLSPolicyError,
)
from powerstrip.findings import RULES, Finding, quote_value
from powerstrip.net import FetchedResponse, GuardedClient
from powerstrip.openapi import convert, iter_descriptions, load_spec, render_namespace_prompt
from powerstrip.plugin import (
    Manifest,
    ManifestReport,
    choose_api_base_url,
    host_of,
    manifest_redirect_allowed,
    manifest_url_for,
    parse_manifest,
    root_domain,
    spec_url_for,
)

__all__ = [
    "LocalPlugin",
    "SpecSource",
    "check_local",
    "check_manifest_file",
    "check_url",
    "evaluate",
    "find_local_spec",
    "read_local_plugin",
]

_SPEC_SUFFIXES = (".yaml", ".yml", ".json")


def _net_finding(exc: NetError, where: str) -> Finding:
    code = {
        AddressBlockedError: "PS004",
        TLSPolicyError: "PS003",
        RedirectRefusedError: "PS005",
        ResponseTooLargeError: "PS006",
        FetchTimeoutError: "PS007",
    }.get(type(exc), "PS001")
    message = f"{exc.message} (at {exc.where})" if exc.where else exc.message
    return Finding(
        RULES[code], where, message, exc.fix or "check that the URL is reachable", exc.where
    )


def _status_finding(code: str, where: str, response: FetchedResponse, what: str) -> Finding:
    start = quote_value(response.text.strip(), 160)
    return Finding(
        RULES[code],
        where,
        f"{what} {response.url} answered HTTP {response.status_code}: {start!r}",
        f"make {response.url} answer 200 with the {what.split()[-1]}",
        start,
    )


def evaluate(
    report: CheckReport,
    manifest: Manifest,
    spec: SpecSource | None,
    *,
    root: str | None,
    root_presumed: bool,
    dev_mode: bool,
) -> None:
    """Apply the cross-document rules and convert the spec; everything lands in `report`."""
    report.root_domain = root
    spec_url = spec.url if spec and "://" in spec.url else None
    report.add(url_policy_findings(manifest, spec_url, dev_mode=dev_mode))
    if root is None:
        report.add([_root_unknown("the plugin's host is not known")])
    elif dev_mode and root in LOCAL_HOSTS:
        report.add([_root_unknown(f"{root} is a local development host")])
    else:
        report.add(domain_findings(manifest, root, presumed=root_presumed, spec_url=spec_url))
    report.add(
        steering_findings([("description_for_model", manifest.description_for_model)], code="PS401")
    )
    if spec is None:
        return
    try:
        loaded = load_spec(spec.body, source=spec.url, content_type=spec.content_type)
        toolset = convert(loaded, namespace=manifest.name_for_model)
    except SpecError as exc:
        report.add(exc.findings if spec.quotable else [_foreign_spec(spec.url)])
        return
    report.add(toolset.findings)
    report.add(drop_covered(reference_findings(loaded), report.findings))
    report.tools = [ToolSummary.from_tool(tool) for tool in toolset.tools]
    report.prompt = render_namespace_prompt(toolset, manifest.description_for_model)
    report.add(steering_findings(list(iter_descriptions(loaded.document)), code="PS402"))
    if root is not None and spec_url is not None:
        choice = choose_api_base_url(toolset.servers, spec_url, root)
        report.api_base_url = choice.url
        # The rule every call is held to, said now rather than at the first call.
        report.add(url_findings([("spec.servers", choice.url)], dev_mode=dev_mode))
        if dev_mode and report.manifest_url and "://" in report.manifest_url:
            report.add(_local_origin_findings(report.manifest_url, choice.url))
        if toolset.servers and not choice.from_servers:
            report.add(
                [
                    Finding(
                        RULES["PS204"],
                        "spec.servers",
                        f"no server in the spec is on {root!r} or its subdomains; "
                        f"the host will call {choice.url}",
                        f"list a server on {root} first in `servers`",
                        ", ".join(toolset.servers),
                    )
                ]
            )
        report.add(
            [
                Finding(
                    RULES["PS207"],
                    "spec.servers",
                    f"the host will call the API at {choice.url}",
                    "nothing to fix",
                    choice.url,
                )
            ]
        )


def _local_origin_findings(manifest_url: str, base: str) -> list[Finding]:
    # Development mode opens a plugin's own localhost origin only (net.check_url): an API base
    # on another local port would be refused at every call.
    if host_of(base) not in LOCAL_HOSTS or _same_origin(base, manifest_url, local=True):
        return []
    return [
        Finding(
            RULES["PS203"],
            "spec.servers",
            f"the API base {base} is not the plugin's own localhost origin ({manifest_url}); "
            "development mode opens only that one",
            "serve the API from the host and port of the manifest",
            base,
        )
    ]


def _foreign_spec(url: str) -> Finding:
    return Finding(
        RULES["PS300"],
        "api.url",
        f"{url} did not return an OpenAPI document; its answer is not shown because it did not "
        "come from the plugin's own origin (the manifest's host and port)",
        "point api.url at the plugin's OpenAPI document",
        url,
    )


def _same_origin(a: str, b: str, *, local: bool = False) -> bool:
    """Same scheme, host and port; with `local`, any two loopback spellings on one port."""

    def origin(url: str) -> tuple[str, str, int | None]:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        default = 443 if parts.scheme == "https" else 80
        host = (parts.hostname or "").lower()
        if local and host in LOCAL_HOSTS:
            return ("", "", port or default)
        return (parts.scheme, host, port or default)

    return origin(a) == origin(b)


def _root_unknown(why: str) -> Finding:
    return Finding(
        RULES["PS208"],
        "manifest",
        f"contact_email and legal_info_url were not checked against the plugin's domain: {why}",
        "check the plugin at its URL to apply the domain rules",
    )


async def check_url(target: str, client: GuardedClient, *, dev_mode: bool) -> CheckReport:
    """Fetch a plugin's manifest and spec through the guarded client and check both."""
    report = CheckReport(target=target)
    try:
        manifest_url = manifest_url_for(target)
    except DiscoveryError as exc:
        report.add([Finding(RULES["PS008"], "target", exc.message, exc.fix or "", target)])
        return report
    report.manifest_url = manifest_url
    try:
        response = await client.fetch(manifest_url, redirect_policy=_redirect_policy)
    except NetError as exc:
        report.add([_net_finding(exc, "manifest")])
        return report
    if response.status_code >= 300:
        report.add([_status_finding("PS002", "manifest", response, "the manifest URL")])
        return report
    if response.redirects:
        report.add([_redirected(response)])
    parsed = parse_manifest(response.content)
    report.add(parsed.findings)
    report.manifest = parsed.manifest
    if parsed.manifest is None:
        return report
    spec = await _fetch_spec(report, client, response.url, parsed.manifest)
    root = root_domain(host_of(response.url))
    evaluate(report, parsed.manifest, spec, root=root, root_presumed=False, dev_mode=dev_mode)
    return report


def _redirect_policy(from_url: object, to_url: object) -> bool:
    return manifest_redirect_allowed(str(from_url), str(to_url))


def _redirected(response: FetchedResponse) -> Finding:
    hops = " → ".join([*response.redirects, response.url])
    return Finding(
        RULES["PS009"],
        "manifest",
        f"the manifest was served after a redirect allowed by the domain policy: {hops}",
        "publish the final URL to skip the redirect",
        hops,
    )


async def _fetch_spec(
    report: CheckReport, client: GuardedClient, manifest_url: str, manifest: Manifest
) -> SpecSource | None:
    spec_url = spec_url_for(manifest_url, manifest.api.url)
    report.spec_url = spec_url
    try:
        # Spec fetches follow no redirects (spec §3): the policy refuses every hop.
        response = await client.fetch(spec_url, redirect_policy=None, origin=manifest_url)
    except NetError as exc:
        report.add([_net_finding(exc, "api.url")])
        return None
    quotable = _same_origin(response.url, manifest_url)
    if response.status_code >= 300:
        if quotable:
            report.add([_status_finding("PS300", "api.url", response, "the spec URL")])
        else:
            report.add([_foreign_spec(response.url)])
        return None
    return SpecSource(response.content, response.url, response.content_type, quotable)


@dataclass(frozen=True, slots=True)
class LocalPlugin:
    """A manifest read from disk, with its spec when one lies beside it."""

    path: Path
    parsed: ManifestReport
    spec: SpecSource | None


def read_local_plugin(path: Path) -> LocalPlugin:
    """Read a manifest file and look for its spec beside it (see `find_local_spec`)."""
    parsed = parse_manifest(path.read_bytes())
    spec = None
    if parsed.manifest is not None:
        api_url = parsed.manifest.api.url
        local = find_local_spec(path, api_url)
        if local is not None:
            absolute = bool(urlsplit(api_url).scheme)
            spec = SpecSource(local.read_bytes(), api_url if absolute else str(local))
    return LocalPlugin(path, parsed, spec)


def check_local(
    local: LocalPlugin, *, dev_mode: bool, fetched: CheckReport | None = None
) -> CheckReport:
    """Check a manifest read from disk.

    Offline, the spec is the one found beside the manifest; `fetched` carries the outcome of
    fetching it instead (its findings, and the spec when the fetch worked).
    """
    report = CheckReport(target=str(local.path))
    report.add(local.parsed.findings)
    manifest = report.manifest = local.parsed.manifest
    if manifest is None:
        return report
    spec = local.spec
    if spec is not None:
        report.spec_url = spec.url
    elif fetched is not None:
        report.spec_url = fetched.spec_url
        report.add(fetched.findings)
        spec = fetched.fetched_spec
    else:
        report.add([_spec_missing(local.path, manifest.api.url)])
    api_url = manifest.api.url
    root = root_domain(host_of(api_url)) if urlsplit(api_url).scheme else None
    evaluate(report, manifest, spec, root=root, root_presumed=True, dev_mode=dev_mode)
    return report


async def check_manifest_file(
    path: Path, client: GuardedClient | None, *, dev_mode: bool
) -> CheckReport:
    """Check a manifest on disk; its spec is looked for beside it, else fetched when allowed."""
    local = read_local_plugin(path)
    manifest = local.parsed.manifest
    fetched: CheckReport | None = None
    if (
        manifest is not None
        and local.spec is None
        and client is not None
        and urlsplit(manifest.api.url).scheme
    ):
        fetched = CheckReport(target=str(path))
        fetched.fetched_spec = await _fetch_spec(fetched, client, manifest.api.url, manifest)
    return check_local(local, dev_mode=dev_mode, fetched=fetched)


def find_local_spec(manifest_path: Path, api_url: str) -> Path | None:
    """The spec file for a manifest on disk, by the api.url's file name or the manifest's stem.

    Looks beside the manifest, beside a `.well-known/` folder, and in a sibling `specs/` or
    `specs_rejected/` folder (the corpus layout: one spec per manifest, same stem).
    """
    folder = manifest_path.parent
    roots = [folder.parent] if folder.name == ".well-known" else [folder]
    name = Path(urlsplit(api_url).path).name
    candidates: list[Path] = []
    for base in roots:
        if name:
            candidates.append(base / name)
    for sibling in ("specs", "specs_rejected"):
        for suffix in _SPEC_SUFFIXES:
            candidates.append(folder.parent / sibling / f"{manifest_path.stem}{suffix}")
    for candidate in candidates:
        if candidate.is_file() and candidate.resolve() != manifest_path.resolve():
            return candidate
    return None


def _spec_missing(path: Path, api_url: str) -> Finding:
    how = (
        "run without --offline to fetch it, or put the spec beside the manifest"
        if urlsplit(api_url).scheme
        else "put the spec beside the manifest, named as in api.url"
    )
    return Finding(
        RULES["PS010"],
        "api.url",
        f"the spec {api_url!r} was not found beside {path.name}, so the OpenAPI rules were not "
        "applied",
        how,
        api_url,
    )
