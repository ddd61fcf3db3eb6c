"""MTLS-IN-09: issuer and subject literals use .NET's name form and the right property."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from mtls_audit import api
from mtls_audit.api.certificates import (
    DistinguishedNameError,
    DnForm,
    InventoryCertificate,
    ParsedDn,
    Rdn,
    parse_dn,
)
from mtls_audit.api.policy import Pin, PinField, PinSite

from .. import _guide
from .._policy import PinWalk, dn_key, judge_literal_forms, judge_pin_sites, shown_pin

_DN_FIELDS = (PinField.SUBJECT, PinField.ISSUER)
_WALK = PinWalk(
    what="issuer and subject literals",
    chosen=lambda pin: pin.field in _DN_FIELDS,
    none="No policy of {name} compares an issuer or subject name.",
    unreadable_words=("issuer", "subject"),
    unreadable="that may compare an issuer or subject",
)
_COUNTRY, _COMMON_NAME = "2.5.4.6", "2.5.4.3"
_FORMS = {
    DnForm.OPENSSL_SLASH: "slash form (/CN=…/O=…)",
    DnForm.OPENSSL_ONELINE: "one-line form (C = …, CN = …)",
}


@api.rule(
    id="MTLS-IN-09",
    severity=api.Severity.MEDIUM,
    guide=_guide.TROUBLESHOOT_403,
    needs=api.POLICY_NEEDS,
)
def distinguished_name_format(svc: api.ServiceModel, ctx: api.Context) -> Iterator[api.Result]:
    """Issuer and subject literals use the .NET name form and the right property.

    What it checks:
        Every distinguished-name literal in every policy document and fragment: the
        ``subject`` and ``issuer-subject`` claims of ``validate-client-certificate``
        identities, and the literals compared with ``Subject``, ``SubjectName.Name``,
        ``Issuer`` or ``IssuerName.Name`` in expressions. A literal fails when it is not a
        distinguished name at all, or is written in an OpenSSL form (``/CN=x/O=y/C=NL``,
        ``C = NL, O = y, CN = x``). A literal compared in an expression must moreover be
        exactly what .NET prints (``CN=x, O=y, C=NL``: most specific first, ``", "`` between
        names, .NET's attribute labels) unless the comparison ignores case and differs only in
        case; identity claims may use another order, as Microsoft's own examples do. It also
        fails a literal compared with the wrong property, where the snapshot decides it: an
        issuer literal naming a certificate the snapshot knows as a leaf (issued by another
        name, issuer of nothing known, not in the CA store), or a subject literal naming a CA
        (in the CA store, or the issuer of a known certificate). Named values are resolved;
        unknown ones are indeterminate. One result per element holding names.

    Why it matters:
        ``Issuer`` and ``Subject`` are strings rendered by .NET and compared ordinally: a name
        copied from ``openssl x509 -subject`` output never equals them, so legitimate clients
        get 403, or a "reject unless the issuer matches" check is written against a value no
        certificate carries. A subject checked where the issuer was meant pins the wrong
        certificate.

    Example of a failing configuration:
        ``<identity issuer-subject="/CN=Contoso Staff Devices CA/O=Contoso/C=NL" />``

    What passes:
        ``<identity issuer-subject="CN=Contoso Staff Devices CA, O=Contoso, C=NL" />``

    How to fix:
        portal: APIs > policy editor: write the name as .NET prints it, most specific first: CN=…,
            O=…, C=…
        cli: openssl x509 -noout -subject -nameopt RFC2253 -in client.cer shows the order .NET uses
            (CN first); then update the policy with az rest
        arm: policies: properties.value with issuer-subject="CN=Issuing CA, O=Org, C=NL"
        terraform: azurerm_api_management_api_policy.xml_content with the name in .NET form
        policy: <identity issuer-subject="CN=Contoso Issuing CA, O=Contoso, C=NL" />

    References:
        https://learn.microsoft.com/azure/api-management/validate-client-certificate-policy
        https://learn.microsoft.com/dotnet/api/system.security.cryptography.x509certificates.x500distinguishedname.name
    """
    known = _Known.of(ctx.certificate_inventory)
    yield from judge_pin_sites(
        ctx, svc, _WALK, lambda subject, site, pins: _judge(subject, site, pins, known)
    )


@dataclass(frozen=True)
class _Known:
    """Names the snapshot tells apart: CA subjects and leaf subjects (as :func:`dn_key`)."""

    cas: dict[frozenset[tuple[str, str]], str]
    leaves: dict[frozenset[tuple[str, str]], str]

    @classmethod
    def of(cls, inventory: tuple[InventoryCertificate, ...]) -> _Known:
        cas: dict[frozenset[tuple[str, str]], str] = {}
        leaves: dict[frozenset[tuple[str, str]], str] = {}
        issued = [(dn_key(cert.subject), dn_key(cert.issuer), cert) for cert in inventory]
        issuers = {issuer for subject, issuer, _ in issued if issuer and issuer != subject}
        for subject, issuer, cert in issued:
            if subject is None:
                continue
            if cert.is_ca or subject in issuers:
                cas.setdefault(subject, cert.name)
            elif issuer is not None and issuer != subject:
                leaves.setdefault(subject, cert.name)  # issued by another: not self-signed
        return cls(cas, {k: v for k, v in leaves.items() if k not in cas})


def _judge(subject: str, site: PinSite, pins: list[Pin], known: _Known) -> api.Result:
    wrong = [(pin, found) for pin in pins if pin.value is not None for found in _defects(pin)]
    wrong += [(pin, found) for pin in pins if (found := _wrong_property(pin, known))]
    shown = [f"{shown_pin(pin)} {found}" for pin, found in wrong]
    return judge_literal_forms(subject, site, pins, shown, "written in .NET's name form")


def _defects(pin: Pin) -> list[str]:
    """What is wrong with the form of a known name literal."""
    assert pin.value is not None
    try:
        parsed = parse_dn(pin.value)
    except DistinguishedNameError as exc:
        return [f"is not a distinguished name ({exc})"]
    if parsed.form is not DnForm.DOTNET:
        shown = _most_specific_first(parsed)
        return [f'is in OpenSSL\'s {_FORMS[parsed.form]}; .NET writes "{shown}"']
    if pin.case_sensitive is None:
        return []  # identity claims: order and labels are matched by APIM (per its examples)
    if _country_first(parsed.rdns):
        shown = _most_specific_first(parsed)
        return [f'lists C= before CN=, while .NET prints the most specific name first: "{shown}"']
    text, dotnet = pin.value, parsed.dotnet
    if not pin.case_sensitive:
        text, dotnet = text.upper(), dotnet.upper()
    if text != dotnet:
        return [f'differs from what .NET prints ("{parsed.dotnet}"): it never matches']
    return []


def _country_first(rdns: tuple[Rdn, ...]) -> bool:
    oids = [oid for rdn in rdns for oid, _ in rdn]
    if _COUNTRY not in oids or _COMMON_NAME not in oids:
        return False
    return oids.index(_COUNTRY) < oids.index(_COMMON_NAME)


def _most_specific_first(parsed: ParsedDn) -> str:
    """The name as .NET prints it: the OpenSSL forms are read least specific first, but a name
    written the other way round is turned back (CN before C)."""
    if _country_first(parsed.rdns):
        parsed = replace(parsed, rdns=parsed.rdns[::-1])
    return parsed.dotnet


def _wrong_property(pin: Pin, known: _Known) -> str:
    """A literal compared with Issuer that names a known leaf, or with Subject that names a CA
    of the CA store; empty when the snapshot does not say."""
    key = dn_key(pin.value)
    if key is None:
        return ""
    if pin.field is PinField.ISSUER and key in known.leaves:
        return (
            f"is compared with the issuer but names the leaf certificate "
            f"{known.leaves[key]}: Subject was probably meant"
        )
    if pin.field is PinField.SUBJECT and key in known.cas:
        return (
            f"is compared with the subject but names the CA {known.cas[key]}: Issuer was "
            "probably meant"
        )
    return ""
