"""MTLS-KV-07: the Key Vault certificates APIM uses have a sound issuance policy."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_audit import api
from mtls_audit.api.certificates import certificate_facts, keyvault_certificate
from mtls_audit.api.subjects import VaultCertificateUse

from .. import _guide
from .._common import vault_unknown

_CURVES = ("P-256", "P-384", "P-521")
_POLICY_KEYS = ("exportable", "key_type", "key_size", "issuer_name", "lifetime_actions")


@api.rule(
    id="MTLS-KV-07",
    severity=api.Severity.MEDIUM,
    guide=_guide.KEY_VAULT,
    subject=api.subjects.VaultCertificate,
)
def key_vault_certificate_policy(
    use: VaultCertificateUse, ctx: api.Context
) -> Iterator[api.Result]:
    """Key Vault certificates used by APIM have a sound issuance policy.

    What it checks:
        Every Key Vault certificate that a hostname or a certificate entity references has an
        exportable key, an RSA key of at least 2048 bits or an EC key on P-256 or larger, an
        AutoRenew lifetime action, and an issuer other than ``Self`` (a self-signed
        certificate). Self-issued certificates are accepted when every service using them is
        on the Developer tier (not meant for production). Key type and self-signature are read
        from the certificate (``cer``) where the policy does not tell. Indeterminate when the
        snapshot holds no data-plane facts for the certificate, or when a reference does not
        name a vault URL (e.g. an unresolved template expression).

    Why it matters:
        APIM needs the private key (exportable PFX); short keys are breakable; without
        AutoRenew the certificate expires in service; a self-signed certificate is trusted by
        no client or backend that has not pinned it.

    Example of a failing configuration:
        ``"policy": {"exportable": true, "key_type": "RSA", "key_size": 1024,
        "issuer_name": "Self", "lifetime_actions": [{"action": "EmailContacts"}]}``

    What passes:
        ``"policy": {"exportable": true, "key_type": "RSA", "key_size": 2048,
        "issuer_name": "DigiCert", "lifetime_actions": [{"action": "AutoRenew"}]}``

    How to fix:
        portal: Key vault > Certificates > certificate > Issuance Policy: exportable key, RSA 2048+
            or EC P-256+, Lifetime action: automatically renew, a CA-backed issuer.
        cli: az keyvault certificate set-policy / create with a policy: keyProperties {exportable:
            true, keyType: RSA, keySize: 2048}, lifetimeActions [{action: {actionType: AutoRenew},
            trigger: {daysBeforeExpiry: 30}}], issuerParameters {name: ISSUER}
        terraform: azurerm_key_vault_certificate: certificate_policy { key_properties { exportable =
            true key_type = "RSA" key_size = 2048 } lifetime_action { action { action_type =
            "AutoRenew" } … } issuer_parameters { name = "ISSUER" } }

    References:
        https://learn.microsoft.com/azure/key-vault/certificates/about-certificates
        https://learn.microsoft.com/azure/api-management/configure-custom-domain
    """
    if use.vault_url is None or use.name is None or use.secret_url is None:
        (ref,) = use.references
        yield vault_unknown(ref, "so the Key Vault certificate behind it cannot be judged")
    else:
        yield _judge(ctx, use.vault_url, use.name, use.secret_url, use)


def _judge(
    ctx: api.Context, url: str, name: str, secret_url: str, use: VaultCertificateUse
) -> api.Result:
    kvc = keyvault_certificate(ctx.model, secret_url)
    cites = [ref.cite() for ref in use.references]
    if kvc is None:
        return api.indeterminate(
            f"{url}/certificates/{name}",
            f"Key Vault certificate {name} in {url} is not in the snapshot's Key Vault data, so "
            "its policy cannot be judged.",
            *cites,
            name=name,
        )
    policy = kvc.policy
    facts = certificate_facts(kvc.raw.get("cer"))
    problems: list[str] = []
    unknowns: list[str] = []
    evidence = [*cites]
    if policy is None:
        unknowns.append("no issuance policy was collected")
    else:
        evidence += [policy.cite(k) for k in _POLICY_KEYS]
        _judge_policy(policy, problems, unknowns)
    key_type = (policy.text("key_type") if policy else None) or (facts.key_type if facts else None)
    size = policy.get("key_size") if policy else None
    if not isinstance(size, int):
        size = facts.key_size if facts else None
    curve = facts.key_curve if facts else None
    _judge_key(key_type, size, curve, problems, unknowns)
    issuer = policy.text("issuer_name") if policy else None
    self_issued = api.same(issuer, "Self") or bool(facts and facts.self_signed)
    if self_issued and not all(_is_developer(s) for s in use.services):
        problems.append(
            "it is self-issued (issuer_name Self)"
            if api.same(issuer, "Self")
            else "its certificate is self-signed"
        )
    elif issuer is None and facts is None:
        unknowns.append("its issuer is not known")
    label = f"Key Vault certificate {kvc.name} in {kvc.vault_url}"
    if problems:
        return api.failed(kvc.subject_id, f"{label}: {'; '.join(problems)}.", *evidence, name=name)
    if unknowns:
        message = f"{label}: the policy cannot be judged: {'; '.join(unknowns)}."
        return api.indeterminate(kvc.subject_id, message, *evidence, name=name)
    note = " (self-issued, used on the Developer tier only)" if self_issued else ""
    message = f"{label} is exportable, {key_type} {curve or size}, and renews automatically{note}."
    return api.passed(kvc.subject_id, message, *evidence, name=name)


def _judge_policy(policy: api.View, problems: list[str], unknowns: list[str]) -> None:
    exportable = policy.flag("exportable")
    if exportable is None:
        unknowns.append("whether the key is exportable is not known")
    elif not exportable:
        problems.append("the key is not exportable, so APIM cannot load it")
    actions = policy.get("lifetime_actions")
    if not isinstance(actions, list):
        unknowns.append("its lifetime actions are not known")
    elif not any(isinstance(a, dict) and api.same(a.get("action"), "AutoRenew") for a in actions):
        problems.append("it has no AutoRenew lifetime action")


def _judge_key(
    key_type: str | None,
    size: int | None,
    curve: str | None,
    problems: list[str],
    unknowns: list[str],
) -> None:
    family = (key_type or "").upper().removesuffix("-HSM")
    if not key_type:
        unknowns.append("its key type is not known")
    elif family == "RSA":
        if size is None:
            unknowns.append("its RSA key size is not known")
        elif size < 2048:
            problems.append(f"its RSA key has {size} bits (at least 2048 needed)")
    elif family == "EC":
        if curve is not None and curve not in _CURVES:
            problems.append(f"its EC key is on {curve} (P-256, P-384 or P-521 needed)")
        elif curve is None and size is None:
            unknowns.append("its EC curve is not known")
        elif curve is None and size is not None and size < 256:
            problems.append(f"its EC key has {size} bits (P-256 or larger needed)")
    else:
        problems.append(f"its key type {key_type} is neither RSA nor EC")


def _is_developer(svc: api.ServiceModel) -> bool:
    return (svc.service.sku_name or "").lower().split("_", 1)[0] == "developer"
