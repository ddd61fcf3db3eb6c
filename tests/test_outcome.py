"""The evidence's digest is the same whether the PDF had its bytes encoded first or not."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mtls_audit.engine.runner import Gate
from mtls_audit.snapshot import dumps
from mtls_audit.workflow import Outcome

SAMPLE = Path(__file__).resolve().parents[1] / "sample_reports" / "evidence.json"


def test_the_digest_is_of_the_bytes_written_in_either_order() -> None:
    evidence = json.loads(SAMPLE.read_bytes())
    gate = Gate(fail_on=None, failing=0, incomplete=False, exit_code=0)
    expected = hashlib.sha256(dumps(evidence)).hexdigest()
    pieces_first = Outcome(evidence, gate)
    assert pieces_first.evidence_sha256 == expected
    bytes_first = Outcome(evidence, gate)
    assert hashlib.sha256(bytes_first.evidence_bytes).hexdigest() == expected
    assert bytes_first.evidence_sha256 == expected
