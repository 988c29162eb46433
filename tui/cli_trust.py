"""Provides the certificate commands of the CLI: ``ferryman cert`` and ``ferryman trust …``."""

from __future__ import annotations

import argparse
import binascii
import json
import ssl
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography import x509

from tui.errors import EXIT_CERTIFICATE, EXIT_FAILURE, EXIT_OK, ConfigError, UsageError
from tui.identity import fingerprint, kind_noun, normalize_fingerprint, show_fingerprint
from tui.sites import parse_url
from tui.textsafe import printable
from tui.trust.certificate import CertificateReport, short_name
from tui.trust.kinds import Report
from tui.trust.store import TrustedCertificate, TrustStore

if TYPE_CHECKING:
    from tui.connection import ConnectionService

INVALID = "Invalid"


def add_parsers(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    cert = commands.add_parser("cert", help="fetch, verify and show a server's certificate")
    cert.add_argument("url", metavar="URL")
    cert.add_argument("--json", action="store_true", help="print one JSON object")
    common(cert)

    trust = commands.add_parser("trust", help="list, add or forget trusted certificates")
    actions = trust.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=type(trust)
    )
    listing = actions.add_parser("list", help="the certificates you trust, per site")
    listing.add_argument("--json", action="store_true")
    forget = actions.add_parser("forget", help="stop trusting a site's certificates")
    forget.add_argument("site", metavar="SITE", help="host:port, or a URL")
    forget.add_argument("--fingerprint", metavar="FP", help="only this certificate")
    add = actions.add_parser("add", help="trust a site's certificate, checked by fingerprint")
    add.add_argument("url", metavar="URL")
    add.add_argument(
        "--fingerprint",
        metavar="FP",
        required=True,
        help="the SHA-256 fingerprint the server must present",
    )
    common(add)
    imported = actions.add_parser("import-filezilla", help="import FileZilla's trustedcerts.xml")
    imported.add_argument("path", metavar="PATH")


# --- ferryman cert -------------------------------------------------------------------------


def run_cert(service: ConnectionService, url: str, *, as_json: bool) -> int:
    report = service.fetch_report(url)
    if as_json:
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print("\n".join(render_any(report, url=url)))
    return EXIT_OK if report.trusted else EXIT_CERTIFICATE


def render_any(report: Report, *, url: str = "URL") -> list[str]:
    """The human form of a report of any identity kind."""
    if isinstance(report, CertificateReport):
        return render_report(report, url=url)
    noun = kind_noun(report.kind)
    lines = [f"{noun.capitalize()} of {report.site}: {_verdict(report.verdict, noun)}", ""]
    details = report.to_json().get("details")
    for label, value in (details if isinstance(details, dict) else {}).items():
        lines.append(f"  {printable(str(label)):<14} {printable(str(value))}")
    lines += [f"  ! {printable(problem)}" for problem in report.all_problems]
    lines.append(f"SHA-256      {report.fingerprint}")
    if report.previous:
        lines.append(f"Trusted before: {show_fingerprint(report.previous, report.kind)}")
    if not report.trusted and report.revocation != "revoked":
        lines += ["", f"To trust it: ferryman trust add {url} --fingerprint {report.fingerprint}"]
    return lines


def _verdict(verdict: str, noun: str) -> str:
    return {
        "trusted-ca": "trusted (your known_hosts vouches for it)"
        if noun == "host key"
        else "trusted (vouched for by an authority you trust)",
        "trusted-store": f"trusted (you accepted this {noun} before)",
        "untrusted": "NOT TRUSTED",
        "changed": "CHANGED since you trusted it: possible attack",
    }[verdict]


def render_report(report: CertificateReport, *, url: str = "URL") -> list[str]:
    """The human form: each section with ``Invalid`` against its first field when it fails."""
    verdict = {
        "trusted-ca": "trusted (verified by a certificate authority)",
        "trusted-store": "trusted (you accepted this certificate before)",
        "untrusted": "NOT TRUSTED",
        "changed": "CHANGED since you trusted it: possible attack",
    }[report.verdict]
    lines = [f"Certificate of {report.site}: {verdict}", ""]
    for section in report.sections:
        lines.append(section.title)
        width = max(len(label) for label, _ in section.fields)
        for index, (label, value) in enumerate(section.fields):
            mark = INVALID if index == 0 and not section.valid else ""
            lines.append(f"  {mark:<8} {label:<{width}}  {printable(value)}")
        lines += [f"  {'':<8} ! {printable(problem)}" for problem in section.problems]
        lines.append("")
    for problem in report.problems:
        lines.append(f"Invalid certificate: {printable(problem)}")
    if report.problems:
        lines.append("")
    lines.append(
        f"Revocation   {report.revocation}"
        + (f" ({printable(report.revocation_detail)})" if report.revocation_detail else "")
    )
    lines.append(f"SHA-256      {report.sha256}")
    lines.append(f"SHA-1        {report.sha1}")
    lines.append(f"Serial       {report.serial}")
    lines.append(f"Key          {report.public_key}, signed with {report.signature_algorithm}")
    lines.append(f"Session      {report.tls_version}, {report.cipher}")
    for number, link in enumerate(report.chain, 1):
        label = "Chain" if number == 1 else ""
        lines.append(
            f"{label:<12} {number}. {printable(link.subject)} (issued by {printable(link.issuer)})"
        )
    if report.previous:
        lines.append(f"Trusted before: SHA-256 {report.previous}")
    if not report.trusted and report.revocation != "revoked":
        lines.append("")
        lines.append(f"To trust it: ferryman trust add {url} --fingerprint {report.sha256}")
    return lines


# --- ferryman trust ------------------------------------------------------------------------


def run_trust(args: argparse.Namespace, make_service: Callable[[], ConnectionService]) -> int:
    store = TrustStore()
    if args.action == "list":
        return _list(store, as_json=args.json)
    if args.action == "forget":
        return _forget(store, args.site, args.fingerprint)
    if args.action == "add":
        return _add(make_service(), args.url, args.fingerprint)
    return _import_filezilla(store, args.path)


def _site_key(text: str) -> str:
    if "://" in text:
        return parse_url(text).key
    if ":" not in text.strip("[]") or text.endswith("]"):
        raise UsageError(f"Give the site as host:port (e.g. ftp.example.org:21), not {text!r}")
    return text


def _list(store: TrustStore, *, as_json: bool) -> int:
    sites = sorted(store.sites().items())
    rows = [(site, entry) for site, record in sites for entry in record.pins]
    damaged = [(site, record.damaged) for site, record in sites if record.damaged is not None]
    if as_json:
        listed: list[dict[str, object]] = [
            {
                "site": site,
                "kind": entry.kind,
                "sha256": show_fingerprint(entry.sha256, entry.kind),
                "subject": entry.label,
                "accepted_at": entry.accepted_at,
                "not_after": entry.not_after,
                "expired": entry.expired,
                "accepted_problems": entry.problems,
                "source": entry.source,
            }
            for site, entry in rows
        ]
        listed += [{"site": site, "damaged": reason} for site, reason in damaged]
        json.dump(listed, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    if not rows and not damaged:
        print("No trusted certificates yet.")
    for site, entry in rows:
        if entry.expired:
            state = "EXPIRED"
        elif entry.not_after:
            state = f"until {printable(entry.not_after[:10])}"
        else:
            state = kind_noun(entry.kind)
        print(f"{printable(site)}  {printable(entry.label)}  {state}")
        shown = show_fingerprint(entry.sha256, entry.kind)
        print(f"    {'' if shown.startswith('SHA256:') else 'SHA-256 '}{printable(shown)}")
        for problem in entry.problems:
            print(f"    accepted although: {printable(problem)}")
    for site, reason in damaged:
        print(
            f"{printable(site)}  DAMAGED record in {store.path} ({printable(reason or '')}): "
            f"nothing in it is trusted; 'ferryman trust forget {printable(site)}' removes it"
        )
    return EXIT_OK


def _forget(store: TrustStore, site_text: str, fingerprint_text: str | None) -> int:
    site = _site_key(site_text)
    wanted = None
    if fingerprint_text:
        try:
            wanted = normalize_fingerprint(fingerprint_text)
        except ValueError as error:
            raise UsageError(f"--fingerprint: {error}") from error
    removed = store.forget(site, wanted)
    if not removed:
        print(
            f"ferryman: no trusted certificate for {site}"
            + (f" with SHA-256 {wanted}" if wanted else ""),
            file=sys.stderr,
        )
        return EXIT_FAILURE
    print(f"Forgot {removed} certificate(s) for {site}.")
    return EXIT_OK


def _add(service: ConnectionService, url: str, fingerprint_text: str) -> int:
    try:
        wanted = normalize_fingerprint(fingerprint_text)
    except ValueError as error:
        raise UsageError(f"--fingerprint: {error}") from error
    report = service.fetch_report(url)
    title = f"{kind_noun(report.kind).capitalize()} not trusted"
    if report.sha256 != wanted:
        print(
            f"ferryman: {title}: {report.site} presents SHA-256 "
            f"{report.fingerprint.removeprefix('SHA256:')}, not "
            f"{show_fingerprint(wanted, report.kind).removeprefix('SHA256:')}; nothing was added",
            file=sys.stderr,
        )
        return EXIT_CERTIFICATE
    if report.revocation == "revoked":
        print(
            f"ferryman: {title}: it has been revoked ({printable(report.revocation_detail)})",
            file=sys.stderr,
        )
        return EXIT_CERTIFICATE
    rules = service.policy.rules(report.kind)
    refusal = rules.cannot_save(report)
    if refusal is not None:
        why = report.validity.problems if isinstance(report, CertificateReport) else []
        print(
            f"ferryman: {title}: {refusal} "
            f"({printable('; '.join(why or report.all_problems))}); nothing was added "
            f"(--trust {report.fingerprint} accepts it for one run)",
            file=sys.stderr,
        )
        return EXIT_CERTIFICATE
    service.store.add(report.site, rules.pin(report, "user"))
    previous = show_fingerprint(report.previous, report.kind) if report.previous else None
    replaced = f", in place of {previous} (kept as history)" if previous else ""
    print(f"Trusting {report.fingerprint} for {report.site}{replaced}.")
    return EXIT_OK


def _import_filezilla(store: TrustStore, path: str) -> int:
    """FileZilla keeps ``<TrustedCerts><Certificate>`` with the DER in hex, the host, the
    port and the validity as Unix times; it drops expired entries, and so do we."""
    import xml.etree.ElementTree as ElementTree  # only this rare command reads XML

    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as error:
        raise ConfigError(f"Cannot read {path}: {error}") from error
    imported = skipped = 0
    for node in root.iter("Certificate"):
        host = (node.findtext("Host") or "").strip()
        port = (node.findtext("Port") or "").strip()
        try:
            der = binascii.unhexlify((node.findtext("Data") or "").strip())
            cert = x509.load_der_x509_certificate(der)
        except (binascii.Error, ValueError):
            print(
                f"ferryman: skipped an entry for {printable(host)}:{port}: not a certificate",
                file=sys.stderr,
            )
            skipped += 1
            continue
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            print("ferryman: skipped an entry without a valid host and port", file=sys.stderr)
            skipped += 1
            continue
        site = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        now = datetime.now(UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            expired = now > cert.not_valid_after_utc
            state = "expired on" if expired else "is not valid before"
            when = cert.not_valid_after_utc if expired else cert.not_valid_before_utc
            print(f"ferryman: skipped {printable(site)}: the certificate {state} {when:%Y-%m-%d}",
                  file=sys.stderr)  # fmt: skip
            skipped += 1
            continue
        store.add(
            site,
            TrustedCertificate(
                sha256=fingerprint(der),
                pem=ssl.DER_cert_to_PEM_cert(der),
                subject=short_name(cert.subject),
                # FileZilla trusts a certificate whatever its name or issuer; its dates still count.
                failing=["owner", "issuer", "general"],
                problems=["imported from FileZilla"],
                accepted_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                not_after=cert.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
                source="filezilla",
            ),
        )
        imported += 1
    print(f"Imported {imported} certificate(s) from {path}; skipped {skipped}.")
    return EXIT_OK
