"""A development certificate authority for ``mqtts://``: the site CA, the broker's certificate, client certificates.

Made with the ``cryptography`` package and EC P-256 keys. Devices and the hub trust the site CA
(setting ``mqtt_ca_file``, firmware-sim ``--ca-file``), not the system's CAs. A production site may
use its own PKI instead; nothing else in Atrium depends on where the certificates come from.
"""

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "ca"
SERVER_NAME = "server"
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate and its private key, as files."""

    certificate: Path
    key: Path


@dataclass(frozen=True, slots=True)
class SiteCertificates:
    """What :func:`make_site_certificates` wrote."""

    ca: Issued
    server: Issued
    clients: dict[str, Issued]


def make_site_certificates(
    folder: Path,
    *,
    site: str,
    hosts: Sequence[str] = DEFAULT_HOSTS,
    clients: Sequence[str] = (),
    days: int = 825,
    now: datetime | None = None,
) -> SiteCertificates:
    """Write a CA (kept when the folder already has one), a server certificate for ``hosts`` and client certificates.

    Keeping an existing CA means running again renews the broker's certificate without every
    device having to trust a new CA.
    """
    now = now or datetime.now(UTC)
    folder.mkdir(parents=True, exist_ok=True)
    ca = Issued(folder / f"{CA_NAME}.crt", folder / f"{CA_NAME}.key")
    if ca.certificate.exists() and ca.key.exists():
        ca_cert = x509.load_pem_x509_certificate(ca.certificate.read_bytes())
        loaded = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{ca.key} is not an EC private key")
        ca_key = loaded
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _ca_certificate(ca_key, site=site, now=now, days=days * 2)
        _write(ca, ca_cert, ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _leaf(
        ca_cert, ca_key, server_key, name=f"{site} MQTT broker", hosts=hosts, server=True, now=now, days=days
    )
    server = Issued(folder / f"{SERVER_NAME}.crt", folder / f"{SERVER_NAME}.key")
    _write(server, server_cert, server_key)
    issued: dict[str, Issued] = {}
    for client in clients:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _leaf(ca_cert, ca_key, key, name=client, hosts=(), server=False, now=now, days=days)
        issued[client] = Issued(folder / f"{client}.crt", folder / f"{client}.key")
        _write(issued[client], cert, key)
    return SiteCertificates(ca=ca, server=server, clients=issued)


def _ca_certificate(key: ec.EllipticCurvePrivateKey, *, site: str, now: datetime, days: int) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Atrium {site} development CA")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _leaf(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    *,
    name: str,
    hosts: Sequence[str],
    server: bool,
    now: datetime,
    days: int,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName([_san(host) for host in hosts]), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write(files: Issued, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    files.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    descriptor = os.open(files.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    os.chmod(files.key, 0o600)
