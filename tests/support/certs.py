"""Certificates for tests, made with ``cryptography``: a root CA, intermediates and leaves.

``make_ca()`` makes a self-signed root; ``make_ca(issuer=root)`` an intermediate;
``make_leaf(issuer)`` a client certificate (CA:false, digital signature, clientAuth) with the
subject fields and SANs that certificate filters look at. Every ``Issued`` carries its private
key, so mTLS tests can present the leaf. Keys are ECDSA P-256 unless a test asks for RSA.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
SigningHash = hashes.SHA224 | hashes.SHA256 | hashes.SHA384 | hashes.SHA512


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: PrivateKey

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def subject(self) -> str:
        return self.cert.subject.rfc4514_string()


def new_key(kind: str = "ec", *, rsa_bits: int = 2048) -> PrivateKey:
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unknown key kind {kind!r}")


def _name(common_name: str, organization: str = "", organizational_unit: str = "") -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if organizational_unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, organizational_unit))
    return x509.Name(attributes)


def _builder(
    subject: x509.Name,
    issuer: Issued | None,
    key: PrivateKey,
    not_before: datetime | None,
    not_after: datetime | None,
) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(hours=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _sign(builder: x509.CertificateBuilder, signer: PrivateKey, algorithm: SigningHash | None) -> x509.Certificate:
    if isinstance(signer, ed25519.Ed25519PrivateKey):
        return builder.sign(signer, None)
    return builder.sign(signer, algorithm or hashes.SHA256())


def make_ca(
    common_name: str = "Sundial Test Root CA",
    *,
    issuer: Issued | None = None,
    organization: str = "Sundial Tests",
    key_kind: str = "ec",
    rsa_bits: int = 2048,
    algorithm: SigningHash | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    basic_constraints: bool | None = True,
    dns_names: Sequence[str] = (),
) -> Issued:
    """A CA: self-signed root without ``issuer``, an intermediate with one.

    ``basic_constraints=False`` makes CA:false, ``None`` leaves the extension out (both are
    what a leaf uploaded by mistake looks like). ``dns_names`` pads the certificate with SANs.
    """
    key = new_key(key_kind, rsa_bits=rsa_bits)
    builder = _builder(_name(common_name, organization), issuer, key, not_before, not_after)
    if basic_constraints is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=basic_constraints, path_length=None), critical=True)
    if basic_constraints:
        builder = builder.add_extension(
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
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    return Issued(_sign(builder, issuer.key if issuer is not None else key, algorithm), key)


def make_leaf(
    issuer: Issued,
    common_name: str = "worker.example.com",
    *,
    organization: str = "",
    organizational_unit: str = "",
    dns_names: Sequence[str] = (),
    key_kind: str = "ec",
    not_after: datetime | None = None,
) -> Issued:
    """A client certificate issued by ``issuer``: CA:false, digital signature, clientAuth."""
    key = new_key(key_kind)
    builder = (
        _builder(_name(common_name, organization, organizational_unit), issuer, key, None, not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    return Issued(_sign(builder, issuer.key, None), key)


def bundle(*issued: Issued) -> str:
    """A PEM bundle of the given certificates, in order."""
    return "".join(item.pem for item in issued)
