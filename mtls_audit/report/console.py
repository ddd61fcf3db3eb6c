"""The console summary: what a person running the command sees at the end.

rich reads ``[...]`` in printed text as markup, so every string taken from the evidence (names,
messages, paths) passes through :func:`inert` first: its control, direction-changing and
invisible characters become escapes and its brackets stay brackets. An API named
``Orders [/] API`` prints as those characters; ``[link=…]`` never becomes a link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mtls_audit.engine.runner import NOTHING_TO_AUDIT
from mtls_audit.evidence.headline import headline
from mtls_audit.evidence.reader import verdict, visible
from mtls_audit.vocabulary import SEVERITIES
from mtls_audit.wording import plural

_ORDER = SEVERITIES
_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
_VERDICT_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "incomplete": "yellow",
    "not_gated": "yellow",
    "nothing": "bold red",
}


def inert(text: object) -> str:
    """Data for the console: printed literally, never as markup or terminal control."""
    return escape(visible(str(text)))


def print_summary(
    evidence: Mapping[str, Any], written: Sequence[Path], console: Console | None = None
) -> None:
    """A severity-grouped table of failing and indeterminate rules, the counts, the files."""
    console = console or Console(highlight=False, emoji=False, width=max(Console().width, 120))
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for result in evidence["results"]:
        if result["status"] not in ("fail", "indeterminate"):
            continue
        row = rows.setdefault(
            (result["severity"], result["rule_id"]),
            {"fail": 0, "indeterminate": 0, "example": inert(result["message"])},
        )
        row[result["status"]] += 1
    run = evidence["run"]
    services = ", ".join(s.rsplit("/", 1)[-1] for s in run["scope"]["services"]) or "none"
    console.print(
        f"[bold]mtls-audit[/] {inert(evidence['tool']['version'])} — services: "
        f"{inert(services)}; as of {inert(run['as_of'])}"
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
                f"[{_STYLE.get(severity, 'default')}]{inert(severity)}[/]",
                inert(rule_id),
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
        if error["kind"] == NOTHING_TO_AUDIT:
            continue  # the verdict below says it
        console.print(f"[bold red]Run error[/] ({inert(error['kind'])}): {inert(error['message'])}")
    _print_audit(evidence, console)
    outcome = verdict(evidence)
    console.print(f"Assessment: {inert(headline(evidence))}.")
    console.print(
        f"Verdict: [{_VERDICT_STYLE[outcome.outcome]}]{outcome.label}[/] — "
        f"{inert(outcome.sentence)} Exit code {summary['gate']['exit_code']}."
    )
    for path in written:
        console.print(f"Wrote {inert(path)}")


def _print_audit(evidence: Mapping[str, Any], console: Console) -> None:
    """What waivers and a baseline did to this run."""
    waivers = evidence.get("waivers")
    if waivers is not None:
        waived = evidence["summary"]["by_status"].get("waived", 0)
        in_force = sum(1 for w in waivers if w["state"] == "in_force")
        console.print(
            f"Waivers: {len(waivers)} recorded, {in_force} in force, "
            f"{plural(waived, 'result')} waived."
        )
        for w in waivers:
            ref = inert(f"waivers[{w['index']}] ({w['rule_id']})")
            if w["state"] == "expired":
                console.print(f"[yellow]Waiver {ref} expired on {inert(w['expires_on'])}.[/]")
            elif w["state"] == "pending":
                console.print(f"[yellow]Waiver {ref} is not in force before its approval date.[/]")
            if not w.get("matched"):
                console.print(f"[yellow]Waiver {ref} matched no failing result.[/]")
    baseline = evidence.get("baseline")
    if baseline is not None:
        console.print(
            f"Baseline {inert(baseline['file'])}: {baseline['new']} new, "
            f"{baseline['updated']} updated, {baseline['unchanged']} unchanged, "
            f"{len(baseline['absent'])} gone; {plural(baseline['accepted'], 'known failure')} "
            f"{'does' if baseline['accepted'] == 1 else 'do'} not gate."
        )
