"""Reading, validating, writing and redacting snapshots."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mtls_audit import snapshot
from mtls_audit.errors import SnapshotError
from mtls_audit.redaction import Redactor
from tests.rules.builder import child
from tests.rules.builder import snapshot as make


def _write(tmp_path: Path, content: str | bytes, name: str = "snap.json") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_round_trip_and_hash(tmp_path: Path) -> None:
    doc = make()
    digest = snapshot.write(doc, tmp_path / "s.json")
    loaded = snapshot.read(tmp_path / "s.json")
    assert loaded.document == doc
    assert loaded.sha256 == digest


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "empty"),
        ("{not json", "line 1:2"),
        ('{"schema": "mtls-audit/snapshot/v9"}', "unsupported snapshot schema"),
        ("[1, 2]", "a snapshot is a JSON object"),
        ('{"resources": []}', "not a snapshot"),
        (b"\xff\xfe{}", "not UTF-8"),
        ('{"schema": "mtls-audit/snapshot/v1", "n": NaN}', "NaN is not a JSON number"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, content: str | bytes, fragment: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(SnapshotError) as info:
        snapshot.read(path)
    assert str(path) in str(info.value)
    assert fragment in str(info.value)


def test_schema_error_names_the_json_path(tmp_path: Path) -> None:
    doc = make()
    del doc["resources"][0]["type"]
    path = _write(tmp_path, json.dumps(doc))
    with pytest.raises(SnapshotError, match=r"/resources/0: 'type' is a required property"):
        snapshot.read(path)


def test_directory_missing_and_oversize(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SnapshotError, match="is a directory"):
        snapshot.read(tmp_path)
    with pytest.raises(SnapshotError, match="no such file"):
        snapshot.read(tmp_path / "absent.json")
    big = tmp_path / "big.json"
    with big.open("wb") as handle:  # sparse: 100 MiB without writing them
        handle.truncate(100 * 2**20)
    monkeypatch.setattr(snapshot, "MAX_SNAPSHOT_BYTES", 64 * 2**20)
    with pytest.raises(SnapshotError, match="100 MiB, over the 64 MiB limit"):
        snapshot.read(big)


def test_build_redacts_secrets() -> None:
    resources = [
        child("namedValues/k", {"displayName": "k", "secret": True, "value": "s3cr3t-nv"}),
        child("namedValues/p", {"displayName": "p", "secret": False, "value": "plain"}),
        child("certificates/pfx", {"data": "UEZYREFUQQ==", "password": "pfx-pass"}),
        child(
            "backends/b",
            {
                "url": "https://b",
                "credentials": {
                    "header": {"x-key": ["literal-key", "{{named}}"]},
                    "authorization": {"scheme": "Basic", "parameter": "dXNlcjpwYXNz"},
                },
            },
        ),
        child(
            "apis/a/policies/policy",
            {
                "format": "rawxml",
                "value": (
                    '<policies><inbound><authentication-certificate body="@(x)" '
                    'password="hunter2" /><authentication-certificate certificate-id="c" '
                    "password='{{pw}}' /></inbound></policies>"
                ),
            },
        ),
        {
            **make()["resources"][0],
            "properties": {
                "hostnameConfigurations": [
                    {
                        "type": "Proxy",
                        "hostName": "a",
                        "encodedCertificate": "TUlJ",
                        "certificatePassword": "hostpass",
                    }
                ]
            },
        },
    ]
    doc = snapshot.build(
        provenance={"source": "files", "collected_at": "2026-01-01T00:00:00Z"}, resources=resources
    )
    text = json.dumps(doc)
    for secret in (
        "s3cr3t-nv",
        "UEZYREFUQQ==",
        "pfx-pass",
        "literal-key",
        "dXNlcjpwYXNz",
        "hunter2",
        "TUlJ",
        "hostpass",
    ):
        assert secret not in text, secret
    assert "plain" in text
    assert "{{named}}" in text
    assert "{{pw}}" in text
    policy = next(r for r in doc["resources"] if r["type"].endswith("/policies"))
    assert 'password="[redacted]"' in policy["properties"]["value"]
    redactions = doc["provenance"]["redactions"]
    assert redactions["named-value-secret"] == 1
    assert redactions["policy-password-literal"] == 1


def test_public_ca_certificate_is_kept() -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    from tests.certs.factory import mint_root

    der = mint_root().cert.public_bytes(Encoding.DER)
    import base64

    encoded = base64.b64encode(der).decode()
    redactor = Redactor()
    service = {
        **make()["resources"][0],
        "properties": {"certificates": [{"encodedCertificate": encoded, "storeName": "Root"}]},
    }
    out = redactor.resource(service)
    assert out["properties"]["certificates"][0]["encodedCertificate"] == encoded
    assert not redactor.counts


def test_secrets_in_a_foreign_snapshot_are_removed_on_read(tmp_path: Path) -> None:
    doc = make(
        resources=[
            child("namedValues/k", {"displayName": "k", "secret": True, "value": "leaked-value"})
        ]
    )
    path = _write(tmp_path, json.dumps(doc))
    loaded = snapshot.read(path)
    assert "leaked-value" not in json.dumps(loaded.document)
    assert loaded.document["provenance"]["redactions"] == {"on-read:named-value-secret": 1}


def _stdlib(document: object, sort_keys: bool = True) -> bytes:
    text = json.dumps(document, indent=2, sort_keys=sort_keys, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


AWKWARD = {
    "text": 'é\u2028\u2029\x7f\x00\x1f\t\n"\\ 😀 </script>',
    "z-first": {"b": [], "a": {}, "é": [1, -0.0, 0.1, 1.0, 1e15, 123456789.125, True, None]},
    "ints": [0, -(2**63), 2**63 - 1],
    "tuple": ("x", 1),
}


@pytest.mark.parametrize("sort_keys", [True, False])
def test_dumps_writes_the_standard_librarys_bytes(sort_keys: bool) -> None:
    assert snapshot.dumps(AWKWARD, sort_keys=sort_keys) == _stdlib(AWKWARD, sort_keys)
    assert snapshot.dumps(make()) == _stdlib(make())


@pytest.mark.parametrize(
    "document",
    [{"big": 2**64}, {"keys": {1: "one"}}, {"deep": json.loads("[" * 300 + "]" * 300)}],
    ids=["integer beyond 64 bits", "a key that is not a string", "nested past 255"],
)
def test_dumps_falls_back_where_orjson_refuses(document: dict[str, object]) -> None:
    assert snapshot.dumps(document) == _stdlib(document)


def test_numbers_with_an_exponent_keep_their_value() -> None:
    """The one difference from the standard library: orjson writes 1e16, not 1e+16."""
    numbers = [1e16, 2.5e-05, 1e-07, 1.5e300]
    assert (
        snapshot.dumps({"n": numbers})
        == b'{\n  "n": [\n    1e16,\n    0.000025,\n    1e-7,\n    1.5e300\n  ]\n}\n'
    )
    assert json.loads(snapshot.dumps({"n": numbers})) == {"n": numbers}


# Keywords the compiled check (fastjsonschema reads draft 7) and jsonschema (draft 2020-12)
# read alike; a schema edit that uses another one must extend the check's test first.
ALIKE_KEYWORDS = {
    "$defs", "$id", "$ref", "$schema", "additionalProperties", "const", "description", "enum",
    "format", "items", "minLength", "properties", "required", "title", "type",
}  # fmt: skip


def _schemas(node: object) -> list[dict[str, object]]:
    """Every subschema of the snapshot schema (the values of properties and $defs included)."""
    if not isinstance(node, dict):
        return []
    found = [node]
    for key, value in node.items():
        if key in ("properties", "$defs", "additionalProperties") and isinstance(value, dict):
            children = value.values() if key != "additionalProperties" else [value]
            found += [s for child in children for s in _schemas(child)]
        elif key == "items":
            found += _schemas(value)
    return found


def test_the_compiled_check_reads_only_keywords_both_validators_read_alike() -> None:
    schemas = _schemas(snapshot.schema_document())
    assert len(schemas) > 40
    for schema in schemas:
        assert set(schema) <= ALIKE_KEYWORDS, set(schema) - ALIKE_KEYWORDS
        # Draft 7 ignores the keywords beside a $ref; 2020-12 applies them.
        assert "$ref" not in schema or set(schema) == {"$ref"}


def _broken(change: str) -> dict[str, object]:
    document = make(
        resources=[child("apis/orders", {"path": "orders"})],
        gaps=[{"kind": "denied", "message": "no"}],
        probe={
            "targets": [
                {
                    "url": "https://gw.example/x",
                    "attempts": [{"kind": "expired", "handshake": "refused", "status": None}],
                }
            ]
        },
    )
    doc: dict[str, Any] = json.loads(json.dumps(document))
    place, _, value = change.partition("=")
    *parents, last = place.split("/")
    target: Any = doc
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value == "DELETE":
        del target[last]
    else:
        target[int(last) if isinstance(target, list) else last] = json.loads(value)
    return doc


@pytest.mark.parametrize(
    "change",
    [
        'schema="mtls-audit/snapshot/v1x"',
        "provenance/source=DELETE",
        'provenance/source="ftp"',
        'provenance/redactions={"x": true}',
        'provenance/redactions={"x": 1.5}',
        "resources/0/type=DELETE",
        'resources/0/id=""',
        "resources/1/properties=[]",
        "resources/0/sku=7",
        "gaps/0/status=true",
        "gaps/0/message=DELETE",
        'keyvault={"https://kv": {"certificates": {"c": {"cer": 3}}}}',
        'origins={"x": {"line": "1"}}',
        "probe/targets/0/attempts=DELETE",
        'probe/targets/0/attempts/0/handshake="maybe"',
        "probe/targets/0/attempts/0/status=false",
        'probe/targets/0/port="443"',
    ],
)
def test_the_compiled_check_refuses_what_jsonschema_refuses(change: str) -> None:
    from fastjsonschema import JsonSchemaValueException

    document = _broken(change)
    assert list(snapshot._validator().iter_errors(document))
    with pytest.raises(JsonSchemaValueException):
        snapshot.fast_check()(document)
    with pytest.raises(SnapshotError):
        snapshot.validate(document, source="<test>")


def test_the_compiled_check_accepts_what_jsonschema_accepts() -> None:
    document = _broken('provenance/redactions={"x": 2}')
    assert not list(snapshot._validator().iter_errors(document))
    snapshot.fast_check()(document)


@pytest.mark.parametrize("batch", [1, 2, 1000])
@pytest.mark.parametrize(
    "document",
    [
        {},
        AWKWARD,
        {"b": [], "a": [1], "c": [{"x": [1, {"y": "a\nb"}]}, [], {}, 2**70, "z"], "d": {"e": []}},
        {"results": [{"n": n, "text": "é\n" * n} for n in range(7)], "z": None},
        {1: "a key that is not a string"},
    ],
    ids=["empty", "awkward", "nested", "results", "int key"],
)
def test_dump_chunks_join_to_dumps(document: dict[Any, Any], batch: int) -> None:
    assert b"".join(snapshot.dump_chunks(document, batch)) == snapshot.dumps(document)


def test_write_file_takes_pieces(tmp_path: Path) -> None:
    from mtls_audit.output_files import write_file

    write_file(tmp_path / "e.json", snapshot.dump_chunks(AWKWARD, 1))
    assert (tmp_path / "e.json").read_bytes() == snapshot.dumps(AWKWARD)


def test_pieces_failing_half_way_leave_no_file_behind(tmp_path: Path) -> None:
    from mtls_audit.output_files import write_file

    (tmp_path / "e.json").write_bytes(b"the earlier run's")

    def pieces() -> Iterator[bytes]:
        yield b"{"
        raise ValueError("a malformed result")

    with pytest.raises(ValueError, match="malformed"):
        write_file(tmp_path / "e.json", pieces())
    assert [p.name for p in tmp_path.iterdir()] == ["e.json"]
    assert (tmp_path / "e.json").read_bytes() == b"the earlier run's"
