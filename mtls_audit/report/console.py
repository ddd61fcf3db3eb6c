"""The console summary: what a person running the command sees at the end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

_ORDER = ("critical", "high", "medium", "low", "info")
_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
_VERDICT = {0: "[green]PASSED[/]", 1: "[bold red]FAILED[/]", 3: "[yellow]INCOMPLETE[/]"}


def print_summary(
    evidence: Mapping[str, Any], written: Sequence[Path], console: Console | None = None
) -> None:
    """A severity-grouped table of failing and indeterminate rules, the counts, the files."""
    console = console or Console(highlight=False, width=max(Console().width, 120))
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for result in evidence["results"]:
        if result["status"] not in ("fail", "indeterminate"):
            continue
        row = rows.setdefault(
            (result["severity"], result["rule_id"]),
            {"fail": 0, "indeterminate": 0, "example": result["message"]},
        )
        row[result["status"]] += 1
    run = evidence["run"]
    services = ", ".join(s.rsplit("/", 1)[-1] for s in run["scope"]["services"]) or "none"
    console.print(
        f"[bold]mtls-audit[/] {evidence['tool']['version']} — services: {services}; "
        f"as of {run['as_of']}"
    )
    if rows:
        table = Table(title="Findings", title_justify="left", expand=False)
        table.add_column("severity", no_wrap=True, min_width=8)
        table.add_column("rule", no_wrap=True, min_width=12)
        table.add_column("fail", justify="right", no_wrap=True, min_width=4)
        table.add_column("unknown", justify="right", no_wrap=True, min_width=7)
        table.add_column("first finding", overflow="ellipsis", no_wrap=True, max_width=72)
        ordered = sorted(rows.items(), key=lambda kv: (_ORDER.index(kv[0][0]), kv[0][1]))
        for (severity, rule_id), row in ordered:
            table.add_row(
                f"[{_STYLE[severity]}]{severity}[/]",
                rule_id,
                str(row["fail"]),
                str(row["indeterminate"]),
                row["example"],
            )
        console.print(table)
    summary = evidence["summary"]
    counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary["by_status"].items())
    failing = ", ".join(
        f"{summary['by_severity'][s]} {s}" for s in _ORDER if summary["by_severity"][s]
    )
    console.print(f"Results: {counts}.")
    if failing:
        console.print(f"Failures by severity: {failing}.")
    if evidence["gaps"]:
        console.print(f"[yellow]Evidence gaps: {len(evidence['gaps'])}[/] (see MTLS-EVID-01).")
    for error in evidence["errors"]:
        console.print(f"[bold red]Run error[/] ({error['kind']}): {error['message']}")
    gate = summary["gate"]
    console.print(
        f"Verdict: {_VERDICT.get(gate['exit_code'], '?')} (fail-on {gate['fail_on']}: "
        f"{gate['failing']} failing at or above it; exit code {gate['exit_code']})."
    )
    for path in written:
        console.print(f"Wrote {path}")
