"""Builds test certificates with `cryptography`: a root CA and leaves it signs.

Issue 3's certificate matrix grows from here; for the connection core it is enough to have a
CA a test can trust with --ca-file and a leaf for 127.0.0.1 / localhost.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def write(self, directory: str, stem: str) -> tuple[str, str]:
        """Write ``stem.pem`` (certificate) and ``stem-key.pem``; returns both paths."""
        cert_path = os.path.join(directory, f"{stem}.pem")
        key_path = os.path.join(directory, f"{stem}-key.pem")
        with open(cert_path, "wb") as handle:
            handle.write(self.pem)
        with open(key_path, "wb") as handle:
            handle.write(
                self.key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.TraditionalOpenSSL,
                    serialization.NoEncryption(),
                )
            )
        return cert_path, key_path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ferryman tests"),
        ]
    )


def _key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


_CA_USAGE = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
    encipher_only=False, decipher_only=False,
)  # fmt: skip


def make_ca(common_name: str = "Ferryman Test Root CA", *, issuer: Issued | None = None) -> Issued:
    """A root CA, or with ``issuer`` an intermediate CA it signs."""
    key = _key()
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.cert.subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()),
            critical=False,
        )
    return Issued(builder.sign(signer_key, hashes.SHA256()), key)


def make_leaf(
    ca: Issued,
    *,
    common_name: str = "127.0.0.1",
    dns: tuple[str, ...] = ("localhost",),
    ips: tuple[str, ...] = ("127.0.0.1", "::1"),
    days: tuple[int, int] = (-1, 90),
    bits: int = 2048,
    digest: hashes.HashAlgorithm | None = None,
    ocsp_url: str | None = None,
    crl_url: str | None = None,
    self_signed: bool = False,
) -> Issued:
    """A server certificate signed by ``ca`` (or by itself), valid from ``days[0]`` to
    ``days[1]`` days from now."""
    key = _key(bits)
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    subject = _name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if self_signed else ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + datetime.timedelta(days=days[0]))
        .not_valid_after(NOW + datetime.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if not self_signed:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    if ocsp_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
                    )
                ]
            ),
            critical=False,
        )
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(crl_url)], None, None, None
                    )
                ]
            ),
            critical=False,
        )
    signer = key if self_signed else ca.key
    return Issued(builder.sign(signer, digest or hashes.SHA256()), key)


def write_chain(directory: str, stem: str, leaf: Issued, *intermediates: Issued) -> tuple[str, str]:
    """The server's files: the leaf then the intermediates it sends, and the leaf's key."""
    cert_path, key_path = leaf.write(directory, stem)
    with open(cert_path, "ab") as handle:
        for intermediate in intermediates:
            handle.write(intermediate.pem)
    return cert_path, key_path


def ocsp_response(
    leaf: x509.Certificate, issuer: Issued, *, revoked: bool, hours: int = 24
) -> bytes:
    """A signed OCSP response about ``leaf`` from its issuer."""
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=leaf,
            issuer=issuer.cert,
            algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
            this_update=NOW - datetime.timedelta(hours=1),
            next_update=NOW + datetime.timedelta(hours=hours),
            revocation_time=NOW - datetime.timedelta(hours=2) if revoked else None,
            revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, issuer.cert)
    )
    return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def crl(issuer: Issued, revoked_serials: list[int]) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(NOW - datetime.timedelta(hours=1))
        .next_update(NOW + datetime.timedelta(days=1))
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(NOW - datetime.timedelta(hours=2))
            .build()
        )
    return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def make_sha1_leaf(ca: Issued, directory: str) -> Issued:
    """A leaf signed with SHA-1. cryptography no longer signs with SHA-1, so the openssl
    command line does it, as an old CA would have."""
    ca_cert, ca_key = ca.write(directory, "sha1-signer")
    key_path = os.path.join(directory, "sha1-leaf-key.pem")
    csr_path = os.path.join(directory, "sha1-leaf.csr")
    ext_path = os.path.join(directory, "sha1-leaf.cnf")
    cert_path = os.path.join(directory, "sha1-leaf.pem")
    with open(ext_path, "w", encoding="ascii") as handle:
        handle.write(
            "basicConstraints=critical,CA:FALSE\n"
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            "extendedKeyUsage=serverAuth\n"
        )
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key_path,
        "-subj", "/CN=127.0.0.1/O=Ferryman tests", "-out", csr_path)  # fmt: skip
    run("x509", "-req", "-in", csr_path, "-CA", ca_cert, "-CAkey", ca_key, "-set_serial",
        str(x509.random_serial_number()), "-sha1", "-days", "30", "-extfile", ext_path,
        "-out", cert_path)  # fmt: skip
    with open(cert_path, "rb") as cert_file, open(key_path, "rb") as key_file:
        cert = x509.load_pem_x509_certificate(cert_file.read())
        key = serialization.load_pem_private_key(key_file.read(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return Issued(cert, key)
