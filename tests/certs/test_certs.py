"""Certificates as APIM shows them: loading, fingerprints, dates, keys, names, chains."""

from __future__ import annotations

import base64
import hashlib
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from mtls_audit.certs.chains import build_chain
from mtls_audit.certs.facts import (
    CertificateError,
    CertificateFacts,
    KeyType,
    ca_constraints,
    is_self_signed,
    key_info,
    load_certificate,
    serial_hex,
    sha256_fingerprint,
    thumbprint,
)
from mtls_audit.certs.names import DistinguishedNameError, DnForm, dotnet_name, parse_dn
from mtls_audit.certs.times import (
    TimestampError,
    Validity,
    days_left,
    days_phrase,
    expiry_phrase,
    full_days,
    parse_timestamp,
    validity_at,
)
from mtls_audit.errors import InputError
from mtls_audit.redaction import Redactor
from tests.certs.factory import NOW, mint, mint_intermediate, mint_leaf, mint_root


def _name(*attrs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    """A name in DER order (least specific first), one attribute per relative name."""
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attrs])


# --- loading and fingerprints ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def leaf_pem() -> bytes:
    return mint("CN=load-me").pem


def test_loads_der_pem_and_base64_alike(leaf_pem: bytes) -> None:
    cert = x509.load_pem_x509_certificate(leaf_pem)
    der = cert.public_bytes(Encoding.DER)
    b64 = base64.encodebytes(der).decode()  # with line breaks, as .cer files carry it
    for data in (der, leaf_pem, leaf_pem.decode(), b64, b64.encode()):
        assert load_certificate(data) == cert


@pytest.mark.parametrize("data", [b"", "", "not base64 !", b"\x30\x03\x02\x01\x00", "AAAA"])
def test_unreadable_input_is_a_clear_error_naming_the_file(data: bytes | str) -> None:
    with pytest.raises(CertificateError, match=r"^certs/a\.cer: /cer: not a readable X\.509"):
        load_certificate(data, source="certs/a.cer", where="/cer")
    assert issubclass(CertificateError, InputError)


def test_thumbprints_are_upper_case_hex_of_the_der() -> None:
    minted = mint("CN=thumb")
    assert thumbprint(minted.cert) == hashlib.sha1(minted.der).hexdigest().upper()
    assert len(thumbprint(minted.cert)) == 40
    assert sha256_fingerprint(minted.cert) == hashlib.sha256(minted.der).hexdigest().upper()


@pytest.mark.parametrize(
    ("serial", "shown"),
    [(0x7F, "7F"), (0x80, "0080"), (0x1234, "1234"), (0xFF00FF, "00FF00FF"), (1, "01")],
)
def test_serial_is_shown_as_dotnet_shows_the_der_integer(serial: int, shown: str) -> None:
    assert serial_hex(mint("CN=serial", serial=serial).cert) == shown


def test_a_negative_serial_is_read_without_a_warning_on_stderr() -> None:
    """Real certificates carry one (RFC 5280 forbids it; Windows and APIM accept it)."""
    der = mint("CN=negative", serial=0x7E).der
    at = der.index(bytes.fromhex("020201") + b"\x7e")  # version [0], then serial INTEGER 0x7E
    negative = der[: at + 2] + b"\x01\xfe" + der[at + 4 :]
    pem = base64.encodebytes(negative).decode()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cert = load_certificate(negative)
        load_certificate(f"-----BEGIN CERTIFICATE-----\n{pem}-----END CERTIFICATE-----\n")
        assert serial_hex(cert) == "FE"
        encoded = base64.b64encode(negative).decode()
        system = {"certificates": [{"encodedCertificate": encoded}]}
        service = {"type": "Microsoft.ApiManagement/service", "properties": system}
        kept = Redactor().resource(service)
        assert kept["properties"] == system


# --- time -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T00:00:00+00:00", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2037-01-01T07:00:00.0000000Z", datetime(2037, 1, 1, 7, tzinfo=UTC)),
        ("2037-01-01T07:00:00.1234567Z", datetime(2037, 1, 1, 7, 0, 0, 123456, tzinfo=UTC)),
        ("2026-01-01T02:00:00+02:00", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T00:00:00", datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_parses_arm_timestamps_to_aware_utc(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_bad_timestamp_is_a_clear_error() -> None:
    with pytest.raises(TimestampError, match="not an ISO 8601 date/time: 'next tuesday'"):
        parse_timestamp("next tuesday")


@pytest.mark.parametrize(
    ("expiry", "left"),
    [
        (NOW + timedelta(days=10, hours=12), 10),
        (NOW + timedelta(hours=23), 0),
        (NOW, 0),
        (NOW - timedelta(seconds=1), -1),
        (NOW - timedelta(days=3), -3),
    ],
)
def test_days_left_rounds_down_and_goes_negative_when_expired(expiry: datetime, left: int) -> None:
    assert days_left(expiry, NOW) == left
    assert days_left(expiry.isoformat().replace("+00:00", "Z"), NOW) == left


@pytest.mark.parametrize(
    ("expiry", "phrase"),
    [
        # Full days of 24 hours, rounded down either way: 18.6 days is 18 full days.
        (NOW - timedelta(days=18.6), "expired 18 days ago"),
        (NOW - timedelta(days=19), "expired 19 days ago"),
        (NOW - timedelta(days=19) + timedelta(seconds=1), "expired 18 days ago"),
        (NOW - timedelta(days=1), "expired 1 day ago"),
        (NOW - timedelta(seconds=1), "expired less than a day ago"),
        (NOW, "expires in less than a day"),  # the last valid instant
        (NOW + timedelta(hours=23), "expires in less than a day"),
        (NOW + timedelta(days=1), "expires in 1 day"),
        (NOW + timedelta(days=18.6), "expires in 18 days"),
    ],
)
def test_expiry_phrase_counts_full_days_and_says_day_or_days(expiry: datetime, phrase: str) -> None:
    assert expiry_phrase(expiry, NOW) == phrase


@pytest.mark.parametrize(
    ("expiry", "full", "floor"),
    [
        (NOW - timedelta(days=18, hours=14), -18, -19),
        (NOW + timedelta(days=18, hours=14), 18, 18),
        (NOW - timedelta(hours=1), 0, -1),
        (NOW + timedelta(hours=1), 0, 0),
        (NOW - timedelta(days=1), -1, -1),
    ],
)
def test_full_days_round_down_either_way_where_days_left_floors(
    expiry: datetime, full: int, floor: int
) -> None:
    assert (full_days(expiry, NOW), days_left(expiry, NOW)) == (full, floor)
    assert str(abs(full) or "less than a") in expiry_phrase(expiry, NOW)


def test_days_phrase_plurals() -> None:
    assert [days_phrase(n) for n in (0, 1, 2, 19)] == ["0 days", "1 day", "2 days", "19 days"]


def test_days_left_of_a_certificate_and_of_its_facts() -> None:
    expired = mint("CN=old", days=-3).cert
    fresh = mint("CN=new", days=45).cert
    assert days_left(expired, NOW) == -3
    assert days_left(fresh, NOW) == 45
    assert days_left(CertificateFacts.from_certificate(fresh), NOW) == 45
    assert days_left("2026-06-11T12:00:00.0000000Z", NOW) == 10


def test_validity_at() -> None:
    assert validity_at(mint("CN=ok").cert, NOW) is Validity.VALID
    assert validity_at(mint("CN=expired", days=-1).cert, NOW) is Validity.EXPIRED
    not_yet = mint("CN=future", days=400, valid_days=30).cert
    assert validity_at(not_yet, NOW) is Validity.NOT_YET_VALID
    assert validity_at(CertificateFacts.from_certificate(not_yet), NOW) is Validity.NOT_YET_VALID
    assert days_left(not_yet, NOW) == 400


# --- keys, constraints, self-signature ------------------------------------------------------------


def test_key_types_and_sizes() -> None:
    rsa1024 = key_info(mint("CN=a", key="rsa1024").cert)
    assert (rsa1024.key_type, rsa1024.size, rsa1024.curve) == (KeyType.RSA, 1024, None)
    assert key_info(mint("CN=b", key="rsa2048").cert).size == 2048
    p256 = key_info(mint("CN=c", key="p256").cert)
    assert (p256.key_type, p256.size, p256.curve) == (KeyType.EC, 256, "P-256")
    assert key_info(mint("CN=d", key="p384").cert).curve == "P-384"
    ed = key_info(mint("CN=e", key="ed25519").cert)
    assert (ed.key_type, ed.size) == (KeyType.ED25519, 256)


def test_ca_constraints() -> None:
    root = mint_root()
    intermediate = mint_intermediate(root)
    assert ca_constraints(root.cert).is_ca
    assert ca_constraints(root.cert).path_length is None
    assert (
        ca_constraints(intermediate.cert).is_ca,
        ca_constraints(intermediate.cert).path_length,
    ) == (
        True,
        0,
    )
    leaf = ca_constraints(mint_leaf(intermediate).cert)
    assert (leaf.is_ca, leaf.present) == (False, True)
    bare = ca_constraints(mint("CN=bare", ca=None).cert)
    assert (bare.is_ca, bare.present) == (False, False)


def test_self_signed_needs_both_the_name_and_its_own_signature() -> None:
    root = mint_root(key="ed25519")
    assert is_self_signed(root.cert)
    assert not is_self_signed(mint_leaf(root).cert)
    # Issuer equals subject, but another key signed it: not self-signed.
    impostor = mint("CN=Test Root,O=Example,C=US", issuer=root, issuer_name="CN=Same")
    forged = mint("CN=Same", issuer=impostor, issuer_name="CN=Same")
    assert forged.cert.issuer == forged.cert.subject
    assert not is_self_signed(forged.cert)


# --- distinguished names -------------------------------------------------------------------------


def test_dotnet_name_reverses_der_order_and_uses_dotnet_labels() -> None:
    name = _name(
        (NameOID.DOMAIN_COMPONENT, "com"),
        (NameOID.COUNTRY_NAME, "US"),
        (NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
        (NameOID.LOCALITY_NAME, "Redmond"),
        (NameOID.STREET_ADDRESS, "1 Main St"),
        (NameOID.ORGANIZATION_NAME, "Contoso"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "IT"),
        (NameOID.SERIAL_NUMBER, "42"),
        (NameOID.GIVEN_NAME, "Ada"),
        (NameOID.SURNAME, "Lovelace"),
        (NameOID.TITLE, "Engineer"),
        (NameOID.EMAIL_ADDRESS, "ada@example.com"),
        (x509.ObjectIdentifier("1.2.3.4.5"), "custom"),
        (NameOID.COMMON_NAME, "api.contoso.com"),
    )
    assert dotnet_name(name) == (
        "CN=api.contoso.com, OID.1.2.3.4.5=custom, E=ada@example.com, T=Engineer, SN=Lovelace, "
        "G=Ada, SERIALNUMBER=42, OU=IT, O=Contoso, STREET=1 Main St, L=Redmond, S=Washington, "
        "C=US, DC=com"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("Contoso, Ltd.", 'O="Contoso, Ltd."'),
        ('Say "hi"', 'O="Say ""hi"""'),
        (" padded", 'O=" padded"'),
        ("trailing ", 'O="trailing "'),
        ("a+b", 'O="a+b"'),
        ("a=b", 'O="a=b"'),
        ("#1", 'O="#1"'),
        ("x;y", 'O="x;y"'),
        ("<tag>", 'O="<tag>"'),
        ("", 'O=""'),
        ("Plain Name", "O=Plain Name"),
        ("it's-fine.ok/(yes)", "O=it's-fine.ok/(yes)"),
    ],
)
def test_values_are_quoted_as_dotnet_quotes_them(value: str, shown: str) -> None:
    assert dotnet_name(_name((NameOID.ORGANIZATION_NAME, value))) == shown


def test_multi_valued_relative_name_is_joined_with_plus() -> None:
    name = x509.Name(
        [
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "US")]),
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "svc"),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Ops"),
                ]
            ),
        ]
    )
    assert dotnet_name(name) == "CN=svc + OU=Ops, C=US"


def test_certificate_with_a_comma_in_o_renders_quoted() -> None:
    subject = _name(
        (NameOID.COUNTRY_NAME, "US"),
        (NameOID.ORGANIZATION_NAME, "Contoso, Ltd."),
        (NameOID.COMMON_NAME, "client01"),
    )
    facts = CertificateFacts.from_certificate(mint(subject).cert)
    assert facts.subject == 'CN=client01, O="Contoso, Ltd.", C=US'
    assert facts.issuer == facts.subject
    assert parse_dn(facts.subject).is_exact_dotnet


def test_parse_dotnet_form() -> None:
    parsed = parse_dn('CN=client01, O="Contoso, Ltd.", S=WA, C=US')
    assert parsed.form is DnForm.DOTNET
    assert parsed.rdns[1] == (("2.5.4.10", "Contoso, Ltd."),)
    assert parsed.is_exact_dotnet


def test_parse_dotnet_form_that_dotnet_would_print_differently() -> None:
    parsed = parse_dn("cn=client01,o=Contoso; c=US")
    assert parsed.form is DnForm.DOTNET
    assert parsed.dotnet == "CN=client01, O=Contoso, C=US"
    assert not parsed.is_exact_dotnet


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("/C=US/ST=WA/O=Contoso, Ltd./CN=client01/emailAddress=a@b.example", DnForm.OPENSSL_SLASH),
        ("C = US, ST = WA, O = Contoso\\, Ltd., CN = client01, emailAddress = a@b.example", None),
    ],
)
def test_parse_openssl_forms_into_dotnet_order(text: str, form: DnForm | None) -> None:
    parsed = parse_dn(text)
    assert parsed.form is (form or DnForm.OPENSSL_ONELINE)
    assert parsed.dotnet == 'E=a@b.example, CN=client01, O="Contoso, Ltd.", S=WA, C=US'
    assert not parsed.is_exact_dotnet


def test_parse_openssl_slash_with_escaped_slash() -> None:
    assert parse_dn("/O=A\\/B/CN=x").dotnet == "CN=x, O=A/B"


def test_parse_oid_keywords_and_multi_values() -> None:
    parsed = parse_dn("CN=svc + OU=Ops, OID.1.2.3.4=x, 2.5.4.6=US")
    assert parsed.rdns == (
        (("2.5.4.3", "svc"), ("2.5.4.11", "Ops")),
        (("1.2.3.4", "x"),),
        (("2.5.4.6", "US"),),
    )
    assert parsed.dotnet == "CN=svc + OU=Ops, OID.1.2.3.4=x, C=US"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no attribute"),
        ("   ", "no attribute"),
        ("just text", "is not attribute=value"),
        ('CN="unterminated', "unbalanced quotes"),
        ("FOO=bar", "unknown attribute 'FOO'"),
        ("OID.=x", "unknown attribute"),
        ("CN=a+", "is not attribute=value"),
        ("=x", "is not attribute=value"),
    ],
)
def test_unreadable_dn_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(DistinguishedNameError, match=message):
        parse_dn(text)


_CHARS = st.sampled_from("aZ09 .-,+=\"<>#;'\\/\t\n")


@given(cn=st.text(_CHARS, min_size=1, max_size=12), org=st.text(_CHARS, max_size=12))
def test_dotnet_rendering_reads_back(cn: str, org: str) -> None:
    name = _name((NameOID.ORGANIZATION_NAME, org), (NameOID.COMMON_NAME, cn))
    parsed = parse_dn(dotnet_name(name))
    assert parsed.form is DnForm.DOTNET
    assert parsed.rdns == ((("2.5.4.3", cn),), (("2.5.4.10", org),))
    assert parsed.is_exact_dotnet


# --- chains --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki() -> dict[str, x509.Certificate]:
    root = mint_root(key="rsa2048")
    intermediate = mint_intermediate(root, key="p256")
    leaf = mint_leaf(intermediate, key="ed25519")
    # Same names as the real CAs, different keys: they must not complete the chain.
    fake_root = mint_root()
    fake_intermediate = mint_intermediate(fake_root)
    return {
        "root": root.cert,
        "intermediate": intermediate.cert,
        "leaf": leaf.cert,
        "fake_root": fake_root.cert,
        "fake_intermediate": fake_intermediate.cert,
    }


def test_complete_chain(pki: dict[str, x509.Certificate]) -> None:
    result = build_chain(pki["leaf"], [pki["root"], pki["intermediate"], pki["leaf"]])
    assert result.chain_complete
    assert result.path == (pki["leaf"], pki["intermediate"], pki["root"])
    assert result.missing_issuer is None
    assert "Complete chain of 3" in result.reason


def test_missing_intermediate_is_named(pki: dict[str, x509.Certificate]) -> None:
    result = build_chain(pki["leaf"], [pki["root"]])
    assert not result.chain_complete
    assert result.path == (pki["leaf"],)
    assert result.missing_issuer == "CN=Test Issuing CA, O=Example, C=US"
    assert "no certificate named" in result.reason


def test_missing_root_is_named(pki: dict[str, x509.Certificate]) -> None:
    result = build_chain(pki["leaf"], [pki["intermediate"]])
    assert not result.chain_complete
    assert result.path == (pki["leaf"], pki["intermediate"])
    assert result.missing_issuer == "CN=Test Root, O=Example, C=US"


def test_ca_with_the_right_name_but_wrong_key_does_not_complete(
    pki: dict[str, x509.Certificate],
) -> None:
    result = build_chain(pki["leaf"], [pki["fake_intermediate"], pki["fake_root"]])
    assert not result.chain_complete
    assert result.path == (pki["leaf"],)
    assert "is present but did not sign it" in result.reason


def test_chain_search_skips_impostors_for_the_real_issuer(pki: dict[str, x509.Certificate]) -> None:
    candidates = [pki["fake_intermediate"], pki["fake_root"], pki["intermediate"], pki["root"]]
    result = build_chain(pki["leaf"], candidates)
    assert result.chain_complete
    assert result.path[-1] == pki["root"]


def test_self_signed_leaf_is_its_own_chain() -> None:
    leaf = mint("CN=self").cert
    result = build_chain(leaf, [])
    assert result.chain_complete
    assert result.path == (leaf,)
    assert result.reason == "The certificate is self-signed."


# --- summary -------------------------------------------------------------------------------------


def test_certificate_facts(pki: dict[str, x509.Certificate]) -> None:
    facts = CertificateFacts.from_certificate(pki["intermediate"])
    assert facts.thumbprint == thumbprint(pki["intermediate"])
    assert facts.sha256 == sha256_fingerprint(pki["intermediate"])
    assert facts.subject == "CN=Test Issuing CA, O=Example, C=US"
    assert facts.issuer == "CN=Test Root, O=Example, C=US"
    assert facts.not_after == NOW + timedelta(days=2000)
    assert facts.not_before == NOW + timedelta(days=2000 - 730)
    assert facts.not_before.tzinfo is UTC
    assert (facts.self_signed, facts.is_ca, facts.path_length) == (False, True, 0)
    assert (facts.key_type, facts.key_size, facts.key_curve) == (KeyType.EC, 256, "P-256")
    assert facts.serial == serial_hex(pki["intermediate"])
    root = CertificateFacts.from_certificate(pki["root"])
    assert (root.self_signed, root.key_type, root.key_size) == (True, KeyType.RSA, 2048)
