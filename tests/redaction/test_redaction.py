"""What redaction removes, what it keeps, and that rules judge redacted input the same way."""

from __future__ import annotations

import copy
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from mtls_audit import snapshot
from mtls_audit.engine.packs import discover
from mtls_audit.engine.rule import Context, Options
from mtls_audit.engine.runner import run
from mtls_audit.errors import PolicyParseError
from mtls_audit.model import build_model
from mtls_audit.policy.parsing.parser import parse_policy
from mtls_audit.redaction import REDACTED, Redactor, redact_policy_text, redact_text
from tests.conftest import CORPORA, needs_shared
from tests.redaction.canaries import PUBLIC_MARKER, SERVICE, Canaries, export_resources, policy_text

POLICY_SUFFIXES = (".xml", ".cshtml", ".tpl")


def shape(text: str) -> object:
    """What a rule sees of a policy's structure: each element's tag, line and attribute names
    (or the parser's refusal)."""
    try:
        document = parse_policy(text)
    except PolicyParseError as exc:
        return ("refused", str(exc))
    return [(n.tag, n.line, tuple(a.name for a in n.attrs)) for n in document.root.iter()]


@pytest.mark.parametrize("quote", ['"', "&quot;"], ids=["rawxml", "xml"])
def test_every_policy_secret_goes_and_the_structure_stays(quote: str) -> None:
    canaries = Canaries()
    text = policy_text(canaries, "policy", quote=quote)
    counts: Counter[str] = Counter()

    clean = redact_policy_text(text, counts)

    assert [place for value, place in canaries.planted.items() if value in clean] == []
    assert shape(clean) == shape(text)
    assert PUBLIC_MARKER in clean  # a header that is not a credential keeps its value
    assert "<value>{{functions-key}}</value>" in clean  # a named value is no secret itself
    assert '<authentication-basic username="svc" password="[redacted]" />' in clean
    assert counts["policy-header-value"] == 11
    assert counts["policy-password-literal"] == 2
    assert redact_policy_text(clean, counts) == clean  # idempotent


def test_a_multi_line_secret_keeps_the_lines_after_it_in_place() -> None:
    text = "<policies><inbound>\n<validate-jwt>\n<issuer-signing-keys><key>\nQUJD\nREVG\n</key>"
    text += '</issuer-signing-keys></validate-jwt>\n<set-header name="x"><value>1</value>'
    text += "</set-header></inbound></policies>"

    clean = redact_policy_text(text, Counter())

    assert "QUJD" not in clean
    assert shape(clean) == shape(text)


@pytest.mark.parametrize(
    "kept",
    [
        '<authentication-certificate body="@(context.Variables.GetValueOrDefault<byte[]>(&quot;'
        'pfx&quot;))" password="{{pfx-password}}" />',
        '<authentication-certificate certificate-id="client" />',
        '<set-header name="Content-Type" exists-action="override"><value>application/json'
        "</value></set-header>",
        '<set-header name="Authorization" exists-action="override"><value>@("Bearer " + '
        '(string)context.Variables["token"])</value></set-header>',
        '<set-header name="Authorization" exists-action="override"><value>Bearer {{token}}'
        "</value></set-header>",
        '<when condition="@(context.Request.Certificate.Thumbprint == &quot;'
        '0123456789ABCDEF0123456789ABCDEF01234567&quot;)" />',
        '<set-backend-service base-url="https://b.example.org/api?api-version=2&amp;'
        'token_type=jwt" />',
        "<return-response><set-body>Basic authentication required</set-body></return-response>",
        '<set-variable name="url" value="@($&quot;https://x/?code={code}&amp;key={key}&quot;)" />',
    ],
)
def test_what_is_not_a_secret_literal_stays(kept: str) -> None:
    counts: Counter[str] = Counter()
    assert redact_policy_text(kept, counts) == kept
    assert not counts


def test_secret_shaped_values_go_from_any_text() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlMQ"
    text = (
        f"GET /x?api-version=1&$skiptoken=abc&sig=s1g&code=c0de failed; Authorization: "
        f"Bearer tok3n.abc; {jwt}; Endpoint=sb://h/;SharedAccessKey=k3y=;AccountKey=a+b/c=="
    )
    clean = redact_text(text, Counter())
    for secret in ("s1g", "c0de", "tok3n", jwt, "k3y", "a+b/c"):
        assert secret not in clean
    assert "$skiptoken=abc" in clean
    assert "api-version=1" in clean


def _named_value(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    rtype = "Microsoft.ApiManagement/service/namedValues"
    return {"id": f"{SERVICE}/namedValues/{name}", "type": rtype, "name": name,
            "properties": properties}  # fmt: skip


@pytest.mark.parametrize(
    ("flag", "hidden"),
    [
        (True, True),
        ("True", True),
        ("[parameters('isSecret')]", True),
        (False, False),
        ("false", False),
        (None, False),  # absent: ARM's default is not secret
    ],
)
def test_a_named_value_is_secret_unless_its_flag_says_otherwise(flag: object, hidden: bool) -> None:
    properties: dict[str, Any] = {"displayName": "n", "value": "the-value"}
    if flag is not None:
        properties["secret"] = flag

    clean = Redactor().resource(_named_value("n", properties))

    assert clean["properties"]["value"] == (REDACTED if hidden else "the-value")
    assert clean["properties"].get("secret") == flag


def test_an_unresolved_parameter_reference_is_no_secret_and_stays() -> None:
    reference = "[parameters('functionKey')]"
    clean = Redactor().resource(_named_value("n", {"secret": True, "value": reference}))
    assert clean["properties"]["value"] == reference  # the gap about it may name it too


def test_redaction_leaves_its_input_alone_and_copies_only_what_it_changes() -> None:
    resources = export_resources(Canaries())
    resources.append(_named_value("plain", {"displayName": "plain", "tags": ["a", "b"]}))
    before = copy.deepcopy(resources)

    clean = Redactor().resources(resources)

    assert resources == before  # nothing written into the input
    assert clean != before  # the canaries went
    service = clean[0]["properties"]["hostnameConfigurations"]
    assert service is not resources[0]["properties"]["hostnameConfigurations"]
    assert clean[-1] == resources[-1]
    assert clean[-1] is not resources[-1]
    assert clean[-1]["properties"] is resources[-1]["properties"]  # nothing to hide: shared


def test_a_text_repeated_across_resources_is_redacted_and_counted_at_every_copy() -> None:
    """Each distinct text is scanned once; its counts are those of scanning every copy."""
    text = policy_text(Canaries(), "repeated policy")
    url = "https://backend.example/api?code=abcdefgh12345678&sig=ZmFrZXNpZ25hdHVyZQ%3D%3D"

    def policy(index: int) -> dict[str, Any]:
        return {
            "id": f"{SERVICE}/apis/api-{index}/policies/policy",
            "type": "Microsoft.ApiManagement/service/apis/policies",
            "name": "policy",
            "properties": {"format": "rawxml", "value": text, "description": url},
        }

    once, thrice = Redactor(), Redactor()
    single = once.resources([policy(0)])
    repeated = thrice.resources([policy(i) for i in range(3)])

    assert once.counts  # the canaries were found
    assert thrice.counts == Counter({k: 3 * v for k, v in once.counts.items()})
    assert list(thrice.counts) == list(once.counts)  # and first counted in the same order
    for clean in repeated:
        assert clean["properties"] == single[0]["properties"]
        assert thrice.places[clean["id"].lower()] == once.places[single[0]["id"].lower()]
    assert text not in str(repeated)
    assert "abcdefgh12345678" not in str(repeated)


def test_a_gap_about_a_hidden_value_does_not_quote_it() -> None:
    resource = _named_value("n", {"secret": True, "value": "[concat('s3cr3t', f())]"})
    origins = {resource["id"].lower(): {"file": "t.json", "pointer": "/resources/0"}}
    quoting = {
        "kind": "unsupported",
        "subject": resource["id"],
        "what": "template-function",
        "message": "[concat('s3cr3t', f())]: unknown function f; kept as written",
        "file": "t.json",
        "pointer": "/resources/0/properties/value",
    }
    elsewhere = quoting | {"pointer": "/resources/0/properties/displayName"}

    document = snapshot.build(
        provenance={"source": "files", "collected_at": "2026-11-20T09:00:00Z"},
        resources=[resource],
        gaps=[quoting, elsewhere],
        origins=origins,
    )

    hidden, other = document["gaps"]
    assert "s3cr3t" not in hidden["message"]
    assert hidden["message"].startswith("the value at /properties/value is a secret")
    assert other["message"] == quoting["message"]  # a gap about another place is as it was


def _verdicts(document: dict[str, Any]) -> set[tuple[str, str, str, str, str]]:
    packs, failures = discover()
    assert not failures
    rules = [rule for pack in packs for rule in pack.rules]
    model = build_model(document, as_of=datetime(2026, 11, 20, tzinfo=UTC))
    assessment = run(Context(model, Options()), rules)
    assert not assessment.errors
    return {
        (f.rule.id, f.result.subject, f.status.value, f.severity.value, f.fingerprint)
        for f in assessment.findings
    }


def test_rules_judge_redacted_input_as_they_judge_the_original() -> None:
    resources = export_resources(Canaries())
    provenance = {"source": "files", "collected_at": "2026-11-20T09:00:00Z"}
    raw: dict[str, Any] = {
        "schema": snapshot.SCHEMA_ID,
        "provenance": provenance,
        "resources": resources,
        "keyvault": {},
        "gaps": [],
    }
    redacted = snapshot.build(provenance=provenance, resources=resources)
    assert redacted["resources"] != resources

    before, after = _verdicts(raw), _verdicts(redacted)

    assert before == after
    failing = {(rule, status, severity) for rule, _, status, severity, _ in after}
    assert ("MTLS-OUT-05", "fail", "critical") in failing  # literal PFX passwords still seen
    assert ("MTLS-KV-08", "fail", "medium") in failing  # secret named values still secret
    backend = next(r for r in redacted["resources"] if r["type"].endswith("/backends"))
    credentials = backend["properties"]["credentials"]
    assert credentials["authorization"] == {"scheme": "Basic", "parameter": REDACTED}
    assert credentials["header"]["x-functions-key"] == [REDACTED, "{{functions-key}}"]


def _corpus_policies() -> list[tuple[str, str]]:
    if not CORPORA.is_dir():
        return []
    return [
        (path.relative_to(CORPORA).as_posix(), path.read_text("utf-8", "replace"))
        for path in sorted(CORPORA.rglob("*"))
        if path.is_file() and path.suffix in POLICY_SUFFIXES
    ]


@needs_shared(CORPORA)
def test_real_policies_keep_their_structure_after_redaction() -> None:
    policies = _corpus_policies()
    assert len(policies) > 100
    changed = []
    for name, text in policies:
        clean = redact_policy_text(text, Counter())
        assert shape(clean) == shape(text), name
        if clean != text:
            changed.append(name)
    # msdocs' authentication-certificate samples hold a literal body and password
    assert any("authentication-certificate-policy" in name for name in changed)


HOSTILE = {
    "unclosed expressions": '<authentication-basic password="@(' * 25_000,
    "values sharing one closing tag": '<set-header name="api-key"><value>v' * 6_000
    + "</value></set-header>",
    "keys sharing one closing tag": "<key>k" * 30_000 + "</key>",
    "alternating quotes": '<set-variable value="' + "<key d='x' " * 20_000,
    "escaped quotes in a C# string": '<set-header name="@("' + "\\" * 200_000 + '")" />',
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_policy_text_costs_time_in_proportion_to_its_size(text: str) -> None:
    # ~200 KB each: work that grew with the square of the size took minutes here.
    started = time.perf_counter()
    redact_policy_text(text, Counter())
    assert time.perf_counter() - started < 5
