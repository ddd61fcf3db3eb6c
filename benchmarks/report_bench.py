"""Report rendering: the bundled sample's PDF, and a large estate's PDF time, pages and memory.

A synthetic evidence document for 20,000 operations (4 services × 50 APIs × 100 operations, about
42,000 results over 40 rules, full coverage rows) is rendered to PDF, HTML, SARIF, JUnit and
Markdown. Budget for the PDF: under 30 s, 60 pages and 1 GB. With ``--sample``, the bundled
sample instead: ``scan --sample`` with and without the PDF (the command forks its PDF worker on
Linux) and the PDF alone in one process (reading evidence.json and rendering), each in fresh
processes, best and median of the runs; budget under 5 s. A fixed pure-Python loop timed first
and last tells how fast the host ran meanwhile: on a shared host the same work can take half as
long again from one minute to the next. Run from the repository root:

    python3 benchmarks/report_bench.py [--operations 20000] [--out DIR]
    python3 benchmarks/report_bench.py --sample [--repeat 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.child import figures

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/bench"
SEVERITIES = ("critical", "high", "medium", "low", "info")
CONTROL_SETS = [
    {"hipaa": ["164.312(d)", "164.312(a)(1)"], "soc2": ["CC6.1", "CC6.6"], "nist-800-53": ["IA-3"]},
    {"hipaa": ["164.312(e)(1)"], "soc2": ["CC6.7"], "nist-800-53": ["SC-8", "SC-8(1)", "SC-13"]},
    {"hipaa": ["164.312(a)(1)"], "soc2": ["CC6.1", "CC6.3"], "nist-800-53": ["AC-6", "SC-12"]},
    {"hipaa": ["164.308(a)(8)"], "soc2": ["CC7.1", "CC4.1"], "nist-800-53": ["CA-7", "CM-6"]},
]
SERVICES = [f"{SUB}/providers/Microsoft.ApiManagement/service/apim-{i}" for i in range(4)]
AREAS = ("GW", "CA", "IN", "OUT", "KV", "LEAK", "TLS", "EVID")


def rule_pack(count: int = 40) -> list[dict[str, Any]]:
    rules = []
    for index in range(count):
        area = AREAS[index % len(AREAS)]
        rules.append(
            {
                "id": f"MTLS-{area}-{index + 1:02d}",
                "slug": f"synthetic-rule-{index + 1}",
                "title": f"Synthetic {area} rule {index + 1} holds for every subject",
                "severity": SEVERITIES[index % 4],
                "pack": "builtin",
                "version": "1",
                "lifecycle": "stable",
                "controls": CONTROL_SETS[index % len(CONTROL_SETS)],
                "summary": "What the rule checks, in two sentences of ordinary length. " * 2,
                "rationale": "Why it matters for protected data, in a few sentences. " * 4,
                "remediation": {
                    "portal": "Open the instance and change the setting named here. " * 2,
                    "cli": "az apim update --name svc --resource-group rg --set a.b=true",
                    "bicep": "resource apim 'Microsoft.ApiManagement/service@2024-05-01' = {}",
                },
            }
        )
    return rules


def results_for(rules: list[dict[str, Any]], operations: int) -> list[dict[str, Any]]:
    per_service = operations // len(SERVICES)
    apis = 50
    results: list[dict[str, Any]] = []

    def add(rule: dict[str, Any], resource_id: str, n: int) -> None:
        status = ("pass", "pass", "pass", "fail", "pass", "indeterminate", "pass", "fail")[n % 8]
        if n % 97 == 0:
            status = "not_applicable"
        results.append(
            {
                "rule_id": rule["id"],
                "slug": rule["slug"],
                "status": status,
                "severity": rule["severity"],
                "resource_id": resource_id,
                "subject": resource_id.rsplit("/", 1)[-1],
                "message": f"Observed value at {resource_id.rsplit('/', 1)[-1]} does not hold.",
                "evidence": [
                    {"resource_id": resource_id, "pointer": "/properties/x", "observed": n},
                    {"resource_id": resource_id, "scope": "api:a", "line": 3, "excerpt": "<base/>"},
                ],
                "controls": rule["controls"],
                "fingerprint": hashlib.sha256(f"{rule['id']}{resource_id}".encode()).hexdigest(),
            }
        )

    counter = 0
    for service in SERVICES:
        for api in range(apis):
            api_id = f"{service}/apis/api-{api}"
            for op in range(per_service // apis):
                for rule in rules[:2]:
                    add(rule, f"{api_id}/operations/op-{op}", counter)
                    counter += 1
            for rule in rules[2:10]:
                add(rule, api_id, counter)
                counter += 1
        for rule in rules[10:]:
            add(rule, service, counter)
            counter += 1
    results.sort(key=lambda r: (r["rule_id"], r["resource_id"], r["fingerprint"]))
    return results


def evidence_document(operations: int) -> dict[str, Any]:
    rules = rule_pack()
    results = results_for(rules, operations)
    by_status = Counter(r["status"] for r in results)
    by_severity = Counter(r["severity"] for r in results if r["status"] == "fail")
    coverage = [
        {
            "service_id": r["resource_id"].split("/apis/")[0],
            "api_id": r["resource_id"].split("/operations/")[0],
            "api": r["resource_id"].split("/apis/")[1].split("/")[0],
            "operation_id": r["resource_id"],
            "operation": r["subject"],
            "product": None,
            "verdict": {"pass": "validated", "fail": "bypass"}.get(r["status"], "indeterminate"),
            "reason": "synthetic",
        }
        for r in results
        if r["rule_id"] == rules[0]["id"]
    ]
    certificates = [
        {
            "kind": "ca",
            "resource_id": f"{SERVICES[0]}/certificates/c{i}",
            "name": f"c{i}",
            "thumbprint": f"{i:040X}",
            "subject": f"CN=client {i}",
            "issuer": "CN=Root",
            "expiry": "2027-01-01T00:00:00Z",
            "days_left": i - 20,
            "source": "keyvault",
            "used_by": [],
        }
        for i in range(200)
    ]
    return {
        "schema": "mtls-audit/evidence/v1",
        "tool": {"name": "mtls-audit", "version": "0.1.0"},
        "run": {
            "id": "bench",
            "started_at": "2026-11-27T10:00:00Z",
            "finished_at": "2026-11-27T10:01:00Z",
            "as_of": "2026-11-27T10:00:00Z",
            "source": {"kind": "azure", "collected_at": "2026-11-27T09:59:00Z", "inputs": []},
            "scope": {"services": SERVICES},
            "population": {"services": len(SERVICES), "operations": operations, "gaps": 30},
            "options": {"fail_on": "critical", "select": [], "ignore": [], "warning_days": 30},
        },
        "snapshot": {"sha256": "0" * 64, "schema": "mtls-audit/snapshot/v1"},
        "rule_pack": rules,
        "results": results,
        "gaps": [
            {"kind": "forbidden", "subject": f"{SUB}/x{i}", "what": "policies", "message": "403"}
            for i in range(30)
        ],
        "coverage": coverage,
        "inventory": {"certificates": certificates},
        "errors": [],
        "summary": {
            "by_status": dict(by_status),
            "by_severity": dict(by_severity),
            "by_rule": {},
            "gate": {"fail_on": "critical", "failing": 1, "incomplete": True, "exit_code": 1},
        },
    }


def timed(label: str, action: Callable[[], object]) -> float:
    """Run ``action``; print wall and CPU seconds (CPU is the steadier figure on a busy host)."""
    start, cpu = time.perf_counter(), _cpu_seconds()
    action()
    elapsed = time.perf_counter() - start
    print(f"{label:<10} {elapsed:7.2f} s wall {_cpu_seconds() - cpu:7.2f} s cpu")
    return elapsed


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def render_pdf(evidence_path: Path, out: Path) -> None:
    """What ``assess --format pdf`` does after the assessment: read the evidence, write the PDF."""
    from mtls_audit.report.pdf import write_pdf

    data = evidence_path.read_bytes()
    write_pdf(json.loads(data), data, out)


REFERENCE_LOOP = (
    "import json, time\n"
    "t = time.perf_counter()\n"
    "for _ in range(10_000_000): pass\n"
    "print(json.dumps({'s': time.perf_counter() - t}))\n"
)


def reference_seconds() -> float:
    """Seconds a fixed pure-Python loop takes in a fresh process: how fast the host runs now."""
    return figures(REFERENCE_LOOP)["s"]


def sample(repeat: int, out: Path | None) -> None:
    """The bundled sample: the whole command with and without the PDF, and the PDF alone."""
    from pypdf import PdfReader

    from benchmarks.assess_bench import INSTALLED_ENV, measure

    folder = out or Path(tempfile.mkdtemp(prefix="report-bench-sample-"))
    scan = ["scan", "--sample", "--fail-on", "none", "--out", str(folder), "--format"]
    before = reference_seconds()
    rows = {
        "scan --sample --format json": measure([*scan, "json"], repeat),
        "scan --sample --format json,pdf": measure([*scan, "json,pdf"], repeat),
    }
    command = [sys.executable, __file__, "--pdf-only", str(folder / "evidence.json")]
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([*command, str(folder / "report.pdf")], check=True, env=INSTALLED_ENV)
        walls.append(time.perf_counter() - start)
    after = reference_seconds()
    pages = len(PdfReader(folder / "report.pdf").pages)
    print(f"reference loop {before:.2f} s before, {after:.2f} s after (lower: a faster host)")
    print(f"{'run (fresh processes, ' + str(repeat) + ' each)':44} {'best s':>7} {'median s':>9}")
    for name, row in rows.items():
        print(f"{name:44} {row['wall_s']:7.2f} {row['median_s']:9.2f}")
    print(f"{'PDF alone, one process (no worker)':44} {min(walls):7.2f} "
          f"{statistics.median(walls):9.2f}")  # fmt: skip
    best = rows["scan --sample --format json,pdf"]["wall_s"]
    print(f"pdf pages {pages}; budget (whole command under 5 s): "
          f"{'met' if best < 5 else 'NOT met'} at best; outputs in {folder}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--pdf-only", nargs=2, type=Path, metavar=("EVIDENCE", "PDF"))
    parser.add_argument("--sample", action="store_true", help="the bundled sample's PDF")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure with --sample")
    args = parser.parse_args()
    if args.pdf_only:
        render_pdf(*args.pdf_only)
        return
    if args.sample:
        sample(args.repeat, args.out)
        return

    from pypdf import PdfReader

    from mtls_audit.report.html import render_html
    from mtls_audit.report.junit import write_junit
    from mtls_audit.report.markdown import render_markdown
    from mtls_audit.report.sarif import write_sarif

    out = args.out or Path(tempfile.mkdtemp(prefix="report-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    evidence = evidence_document(args.operations)
    data = (json.dumps(evidence, indent=2, sort_keys=True) + "\n").encode()
    (out / "evidence.json").write_bytes(data)
    print(f"operations {args.operations}, results {len(evidence['results'])}, ", end="")
    print(f"evidence {len(data) / 1e6:.1f} MB")
    digest = hashlib.sha256(data).hexdigest()
    html = out / "report.html"
    timed("html", lambda: html.write_text(render_html(evidence, evidence_sha256=digest)))
    timed("sarif", lambda: write_sarif(evidence, out / "mtls-audit.sarif"))
    timed("junit", lambda: write_junit(evidence, out / "mtls-audit.junit.xml"))
    timed("markdown", lambda: render_markdown(evidence))
    command = [
        sys.executable,
        __file__,
        "--pdf-only",
        str(out / "evidence.json"),
        str(out / "report.pdf"),
    ]
    seconds = timed("pdf", lambda: subprocess.run(command, check=True))
    pages = len(PdfReader(out / "report.pdf").pages)
    peak = peak_rss_mb(resource.RUSAGE_CHILDREN)
    print(f"pdf pages {pages}, size {(out / 'report.pdf').stat().st_size / 1e6:.1f} MB")
    print(f"pdf peak rss {peak:.0f} MB (a fresh process: reading evidence.json and rendering)")
    within = seconds < 30 and pages <= 60 and peak < 1024
    print(f"budget (30 s, 60 pages, 1 GB): {'met' if within else 'NOT met'}; outputs in {out}")


if __name__ == "__main__":
    main()
