"""Evidence documents for the report tests: a realistic small assessment and a hostile one."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

SUB = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-clinical"
APIM = f"{SUB}/providers/Microsoft.ApiManagement/service"
PROD = f"{APIM}/apim-contoso-prod"
DR = f"{APIM}/apim-contoso-dr"
VAULT = f"{SUB}/providers/Microsoft.KeyVault/vaults/kv-contoso-certs"

KNOWN_MESSAGE = (
    "Operation get-patient of API patients reaches the backend without client-certificate "
    "validation: the API policy drops <base/> and validates nothing itself."
)

HIPAA_D = "164.312(d)"
CONTROLS_GATEWAY = {
    "hipaa": [HIPAA_D, "164.312(a)(1)"],
    "soc2": ["CC6.1", "CC6.6"],
    "nist-800-53": ["IA-3", "CM-6"],
}
CONTROLS_POLICY = {
    "hipaa": [HIPAA_D, "164.312(a)(1)"],
    "soc2": ["CC6.1", "CC6.6"],
    "nist-800-53": ["IA-5(2)", "IA-3"],
}
CONTROLS_TLS = {
    "hipaa": ["164.312(e)(1)", "164.312(e)(2)(i)"],
    "soc2": ["CC6.7", "CC6.6"],
    "nist-800-53": ["SC-8", "SC-8(1)", "SC-13"],
}
CONTROLS_KV = {
    "hipaa": ["164.312(a)(1)", "164.312(e)(2)(ii)"],
    "soc2": ["CC6.1"],
    "nist-800-53": ["SC-12", "IA-5(2)"],
}
CONTROLS_EVID = {
    "hipaa": ["164.308(a)(8)", "164.316(b)(1)(ii)"],
    "soc2": ["CC7.1", "CC4.1"],
    "nist-800-53": ["CA-7", "CM-6"],
}


def _rule(
    rule_id: str, slug: str, title: str, severity: str, controls: dict[str, list[str]]
) -> dict[str, Any]:
    return {
        "id": rule_id,
        "slug": slug,
        "title": title,
        "severity": severity,
        "pack": "builtin",
        "version": "1",
        "lifecycle": "stable",
        "controls": controls,
        "summary": f"{title}.",
        "rationale": (
            f"Without this control ({slug}), a client that holds no trusted certificate can "
            "reach protected health information behind the gateway."
        ),
        "remediation": {
            "portal": "Open the API Management instance, then Custom domains, and turn on "
            "Negotiate client certificate for each gateway hostname.",
            "cli": "az apim update --name <service> --resource-group <group> "
            "--set hostnameConfigurations[0].negotiateClientCertificate=true",
        },
    }


RULE_PACK = [
    _rule("MTLS-EVID-01", "evidence-complete", "All evidence was collected", "high", CONTROLS_EVID),
    _rule(
        "MTLS-GW-01",
        "client-certificates-requested",
        "The gateway requests client certificates",
        "critical",
        CONTROLS_GATEWAY,
    ),
    _rule(
        "MTLS-IN-01",
        "validation-coverage",
        "Every operation validates the client certificate",
        "critical",
        CONTROLS_POLICY,
    ),
    _rule("MTLS-IN-04", "checks-revocation", "Revocation is checked", "medium", CONTROLS_POLICY),
    _rule(
        "MTLS-KV-09",
        "certificate-expiry",
        "Certificates are not expired or near expiry",
        "high",
        CONTROLS_KV,
    ),
    _rule(
        "MTLS-TLS-01",
        "client-side-tls-1-2",
        "Legacy TLS is off on the client side",
        "high",
        CONTROLS_TLS,
    ),
]


def _result(
    rule: dict[str, Any],
    status: str,
    resource_id: str,
    message: str,
    *,
    severity: str | None = None,
    evidence: list[dict[str, Any]] | None = None,
    location: dict[str, Any] | None = None,
    key: str = "",
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "rule_id": rule["id"],
        "slug": rule["slug"],
        "status": status,
        "severity": severity or rule["severity"],
        "resource_id": resource_id,
        "subject": resource_id.rsplit("/", 1)[-1],
        "message": message,
        "evidence": evidence or [],
        "controls": rule["controls"],
        "fingerprint": hashlib.sha256(f"{rule['id']}|{resource_id}|{key}".encode()).hexdigest(),
    }
    if location:
        result["location"] = location
    return result


def _results() -> list[dict[str, Any]]:
    evid, gw, in01, in04, kv09, tls01 = RULE_PACK
    patients = f"{PROD}/apis/patients"
    billing = f"{PROD}/apis/billing"
    pointer = "/properties/hostnameConfigurations/1/negotiateClientCertificate"
    results = [
        _result(
            evid,
            "fail",
            PROD,
            "Role assignments of the Key Vault kv-contoso-certs could not be read (403).",
            evidence=[{"resource_id": VAULT, "pointer": "/roleAssignments", "observed": 403}],
        ),
        _result(evid, "pass", DR, "Every data source for apim-contoso-dr was collected."),
        _result(
            gw,
            "fail",
            PROD,
            "Hostname api.contoso-health.example does not negotiate client certificates.",
            evidence=[{"resource_id": PROD, "pointer": pointer, "observed": False}],
            location={"file": "infra/apim.json", "line": 40},
        ),
        _result(gw, "pass", DR, "Every custom gateway hostname negotiates."),
        _result(
            in01,
            "fail",
            f"{patients}/operations/get-patient",
            KNOWN_MESSAGE,
            evidence=[
                {
                    "resource_id": f"{patients}/policies/policy",
                    "scope": "api:patients",
                    "line": 3,
                    "excerpt": '<inbound><set-backend-service base-url="https://ehr" />',
                }
            ],
            location={"file": "policies/patients.xml", "line": 3},
        ),
        _result(
            in01,
            "indeterminate",
            f"{billing}/operations/post-invoice",
            "The effective policy of post-invoice could not be decided: the fragment "
            "cert-check was not collected.",
            severity="critical",
        ),
        _result(in01, "pass", f"{patients}/operations/list-patients", "Validated at API scope."),
        _result(
            in04,
            "waived",
            f"{patients}/policies/policy",
            "The policy calls VerifyNoRevocation(): revocation is not checked.",
            evidence=[
                {
                    "resource_id": f"{patients}/policies/policy",
                    "scope": "api:patients",
                    "line": 9,
                    "excerpt": "context.Request.Certificate.VerifyNoRevocation()",
                }
            ],
        ),
        _result(
            kv09,
            "fail",
            f"{PROD}/certificates/partner-root",
            "Certificate partner-root expired 12 days ago (2026-11-15).",
            severity="critical",
            key="partner-root",
        ),
        _result(
            kv09,
            "fail",
            f"{PROD}/certificates/gateway-tls",
            "Certificate gateway-tls expires in 21 days (2026-12-18).",
            key="gateway-tls",
        ),
        _result(kv09, "pass", f"{DR}/certificates/dr-root", "Valid for 400 more days."),
        _result(
            tls01,
            "not_applicable",
            DR,
            "Consumption tier: protocol settings are managed by the platform.",
        ),
        _result(tls01, "pass", PROD, "TLS 1.0, 1.1 and SSL 3.0 are off on the client side."),
    ]
    waived = next(r for r in results if r["status"] == "waived")
    waived["waiver"] = {
        "justification": "Partner CA publishes no CRL; compensating control: 24 h certificates.",
        "approved_by": "CISO",
    }
    return sorted(results, key=lambda r: (r["rule_id"], r["resource_id"], r["fingerprint"]))


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    statuses = ("pass", "fail", "indeterminate", "not_applicable", "waived")
    severities = ("critical", "high", "medium", "low", "info")
    by_status = dict.fromkeys(statuses, 0)
    by_severity = dict.fromkeys(severities, 0)
    indeterminate = dict.fromkeys(severities, 0)
    by_rule: dict[str, dict[str, int]] = {}
    for result in results:
        by_status[result["status"]] += 1
        rule = by_rule.setdefault(result["rule_id"], {})
        rule[result["status"]] = rule.get(result["status"], 0) + 1
        if result["status"] == "fail":
            by_severity[result["severity"]] += 1
        elif result["status"] == "indeterminate":
            indeterminate[result["severity"]] += 1
    failing = by_severity["critical"] + indeterminate["critical"]
    return {
        "by_status": by_status,
        "by_severity": by_severity,
        "indeterminate_by_severity": indeterminate,
        "by_rule": by_rule,
        "gate": {"fail_on": "critical", "failing": failing, "incomplete": True, "exit_code": 1},
    }


def _coverage() -> list[dict[str, Any]]:
    rows = []
    plan = [
        ("patients", "get-patient", "clinical", "bypass", "API policy drops <base/>"),
        ("patients", "list-patients", "clinical", "validated", "validate-client-certificate"),
        ("patients", "update-patient", "clinical", "validated", "validate-client-certificate"),
        ("billing", "post-invoice", None, "indeterminate", "fragment cert-check not collected"),
        ("billing", "get-invoice", None, "not-validated", "no validation at any scope"),
        ("echo", "ping", "starter", "validated", "global policy validates"),
    ]
    for api, operation, product, verdict, reason in plan:
        api_id = f"{PROD}/apis/{api}"
        rows.append(
            {
                "service_id": PROD,
                "api_id": api_id,
                "api": api,
                "operation_id": f"{api_id}/operations/{operation}",
                "operation": operation,
                "product": product,
                "verdict": verdict,
                "reason": reason,
            }
        )
    return rows


def _certificate(
    kind: str, name: str, days_left: int, expiry: str, source: str, subject: str
) -> dict[str, Any]:
    return {
        "kind": kind,
        "resource_id": f"{PROD}/certificates/{name}",
        "name": name,
        "thumbprint": (name.encode().hex().upper() + "0" * 40)[:40],
        "subject": subject,
        "issuer": "CN=Contoso Health Root CA, O=Contoso Health, C=US",
        "expiry": expiry,
        "days_left": days_left,
        "source": source,
        "key_vault_ref": f"https://kv-contoso-certs.vault.azure.net/secrets/{name}",
        "refresh_status": "Success",
        "used_by": [PROD],
    }


def realistic_evidence() -> dict[str, Any]:
    """A small assessment of two services with every status, gaps, coverage and certificates."""
    results = _results()
    return {
        "schema": "mtls-audit/evidence/v1",
        "tool": {"name": "mtls-audit", "version": "0.1.0"},
        "run": {
            "id": "run-7f3c",
            "started_at": "2026-11-27T10:00:06Z",
            "finished_at": "2026-11-27T10:00:09Z",
            "as_of": "2026-11-27T10:00:00Z",
            "source": {
                "kind": "files",
                "collected_at": "2026-11-27T10:00:00Z",
                "inputs": ["infra/apim.json", "policies/patients.xml"],
            },
            "scope": {"services": [PROD, DR]},
            "population": {
                "services": 2,
                "apis": 3,
                "operations": 6,
                "policies": 4,
                "backends": 2,
                "certificates": 4,
                "named_values": 3,
                "key_vaults": 1,
                "gaps": 1,
            },
            "options": {"fail_on": "critical", "select": [], "ignore": [], "warning_days": 30},
        },
        "snapshot": {"sha256": "ab" * 32, "schema": "mtls-audit/snapshot/v1"},
        "rule_pack": copy.deepcopy(RULE_PACK),
        "results": results,
        "gaps": [
            {
                "kind": "forbidden",
                "subject": VAULT,
                "what": "role-assignments",
                "message": "The caller may not read role assignments at this scope.",
                "status": 403,
                "code": "AuthorizationFailed",
            }
        ],
        "coverage": _coverage(),
        "inventory": {
            "certificates": [
                _certificate(
                    "ca", "partner-root", -12, "2026-11-15T00:00:00Z", "uploaded", "CN=Partner"
                ),
                _certificate(
                    "hostname",
                    "gateway-tls",
                    21,
                    "2026-12-18T00:00:00Z",
                    "keyvault",
                    "CN=api.contoso-health.example",
                ),
                _certificate(
                    "entity", "ehr-client", 300, "2027-09-23T00:00:00Z", "keyvault", "CN=ehr"
                ),
            ]
        },
        "errors": [
            {
                "kind": "rule-error",
                "rule_id": "MTLS-IN-04",
                "pack": "builtin",
                "message": "The rule failed on the policy of API echo; its other results stand.",
            }
        ],
        "summary": _summary(results),
    }


HOSTILE_IMG = '<img src="file:///etc/passwd">'
HOSTILE_LINK = '<link rel=attachment href="file:///etc/passwd">'
HOSTILE_BIDI = "invoice\u202efdp.exe"
HOSTILE_MD = "**bold** [x](http://evil.example) | `tick` <b>&amp;"


def hostile_evidence() -> dict[str, Any]:
    """The realistic document with attacker-chosen names for an API, a subject and a message."""
    evidence = realistic_evidence()
    api_id = f"{PROD}/apis/{HOSTILE_IMG}"
    for result in evidence["results"]:
        if result["status"] == "fail" and result["rule_id"] == "MTLS-IN-01":
            result["resource_id"] = f"{api_id}/operations/op"
            result["subject"] = HOSTILE_LINK
            result["message"] = f"Operation {HOSTILE_LINK} of API {HOSTILE_IMG} is not validated."
            result["evidence"][0]["excerpt"] = HOSTILE_LINK + "\x00\x1b[31m"
        if result["status"] == "indeterminate":
            result["subject"] = HOSTILE_BIDI
        if result["rule_id"] == "MTLS-KV-09" and result["status"] == "fail":
            result["subject"] = HOSTILE_MD
    evidence["coverage"][0]["api"] = HOSTILE_IMG
    evidence["coverage"][0]["operation"] = HOSTILE_LINK
    evidence["inventory"]["certificates"][0]["subject"] = f"CN={HOSTILE_IMG}"
    evidence["gaps"][0]["message"] = HOSTILE_LINK
    return evidence


def empty_evidence() -> dict[str, Any]:
    """An assessment that found nothing to judge: no coverage, no certificates, no gaps."""
    evidence = realistic_evidence()
    evidence["results"] = [r for r in evidence["results"] if r["status"] == "pass"]
    evidence["coverage"] = []
    evidence["inventory"] = {"certificates": []}
    evidence["gaps"] = []
    evidence["errors"] = []
    evidence["summary"] = _summary(evidence["results"])
    evidence["summary"]["gate"] = {
        "fail_on": "critical",
        "failing": 0,
        "incomplete": False,
        "exit_code": 0,
    }
    return evidence


def to_bytes(evidence: dict[str, Any]) -> bytes:
    """The evidence as the engine writes it: sorted keys, two-space indent, final newline."""
    return (json.dumps(evidence, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def sparse_evidence() -> dict[str, Any]:
    """The realistic document with every optional field left out, as a minimal engine writes."""
    evidence = realistic_evidence()
    evidence["run"]["source"] = {"kind": "azure"}
    evidence["run"]["options"] = {}
    for rule in evidence["rule_pack"]:
        for key in ("summary", "rationale", "remediation", "lifecycle"):
            del rule[key]
    for result in evidence["results"]:
        result.pop("subject")
        result.pop("location", None)
    evidence["gaps"] = [{"kind": "timeout", "subject": VAULT, "message": "timed out"}]
    evidence["errors"] = [{"kind": "pack-error", "message": "pack third-party failed to load"}]
    evidence["inventory"] = {"certificates": [{"name": "bare", "days_left": None, "expiry": None}]}
    evidence["coverage"] = [{"api": "a", "operation": "o", "verdict": "validated"}]
    return evidence
