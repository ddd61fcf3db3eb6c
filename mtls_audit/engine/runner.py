"""Running rules over a model: selection, isolation of failing rules, fingerprints, gating."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from mtls_audit.analysis import Context
from mtls_audit.engine.fork import judge_all
from mtls_audit.engine.results import Result, Severity, Status, indeterminate
from mtls_audit.engine.rule import Rule
from mtls_audit.frameworks import controls_for
from mtls_audit.model.build import Model
from mtls_audit.wording import plural


@dataclass(frozen=True)
class Finding:
    """A result with the rule that produced it and its stable fingerprint."""

    rule: Rule
    result: Result
    fingerprint: str

    @property
    def severity(self) -> Severity:
        return self.result.severity or self.rule.severity

    @property
    def status(self) -> Status:
        return self.result.status


NOTHING_TO_AUDIT = "nothing-to-audit"
"""The run-level error of an input that holds nothing the rules judge: never a pass."""


@dataclass(frozen=True)
class RunError:
    kind: str  # rule-error | pack-error | nothing-to-audit
    message: str
    rule_id: str | None = None
    pack: str | None = None


@dataclass(frozen=True)
class Assessment:
    findings: tuple[Finding, ...]
    errors: tuple[RunError, ...]
    rules: tuple[Rule, ...]


def fingerprint(rule_id: str, subject: str, key: str) -> str:
    """Stable across runs for the same rule and subject (ARM ids compare case-insensitively)."""
    text = "\x00".join((rule_id, subject.rstrip("/").lower(), key))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _matches(rule: Rule, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        p = pattern.strip().upper()
        if p and (
            rule.id == p or rule.id.startswith(p.rstrip("-") + "-") or rule.slug.upper() == p
        ):
            return True
    return False


def select_rules(
    rules: Sequence[Rule], select: Sequence[str] = (), ignore: Sequence[str] = ()
) -> list[Rule]:
    """Rules by id, id prefix (``MTLS-IN``) or slug; ``ignore`` wins over ``select``."""
    chosen = [r for r in rules if not select or _matches(r, select)]
    return sorted((r for r in chosen if not _matches(r, ignore)), key=lambda r: r.id)


def unknown_patterns(rules: Sequence[Rule], patterns: Sequence[str]) -> list[str]:
    return [p for p in patterns if p.strip() and not any(_matches(r, [p]) for r in rules)]


def _subjects(model: Model) -> list[str]:
    return [s.id for s in model.services] or ["(snapshot)"]


def evaluate(rule: Rule, ctx: Context) -> Iterator[Result]:
    """The results of ``rule``: its judge called on each subject of each service, except where
    a collection it needs is missing (indeterminate, naming it), the service does not pass the
    kind's gate or has no subject of the kind (not applicable); then on the subjects of the
    snapshot outside the services."""
    kind = rule.subject
    needs = tuple(dict.fromkeys((*kind.needs, *rule.needs)))
    combined: list[object] = []
    members = kind.members
    for svc in ctx.model.services if members is not None else ():
        name = svc.service.name
        missing = ctx.missing(svc, needs)
        if missing is not None:
            yield indeterminate(svc.id, missing, name=name)
            continue
        closed = kind.gate(svc, ctx) if kind.gate is not None else None
        if closed is not None:
            yield closed
            continue
        subjects = members(svc, ctx) if members is not None else ()
        if not subjects:
            yield kind.none_in(svc)
        if kind.combine is not None:
            combined += subjects
            continue
        for subject in subjects:
            yield from rule.judge(subject, ctx)
    later = kind.combine(combined) if kind.combine is not None else ()
    for subject in [*later, *(kind.population(ctx) if kind.population else ())]:
        yield from rule.judge(subject, ctx)


def judged(rule: Rule, ctx: Context) -> tuple[list[Result], RunError | None]:
    """A rule's results; a failing rule is a run-level error, never a crashed run."""
    try:
        return list(evaluate(rule, ctx)), None
    except Exception as exc:  # the rule's own failure, reported as such
        message = f"{type(exc).__name__}: {exc}"
        results = [
            indeterminate(s, f"The rule could not be evaluated ({message}).")
            for s in _subjects(ctx.model)
        ]
        return results, RunError("rule-error", message, rule.id, rule.pack)


def run(ctx: Context, rules: Sequence[Rule]) -> Assessment:
    """Every rule over the context's model; the analyses the rules share are made once."""
    model = ctx.model
    findings: list[Finding] = []
    errors: list[RunError] = []
    for rule, (results, error) in zip(rules, judge_all(ctx, rules, judged), strict=True):
        if error is not None:
            errors.append(error)
        for result in results:
            findings.append(Finding(rule, result, fingerprint(rule.id, result.subject, result.key)))
    findings.sort(key=lambda f: (f.rule.id, f.result.subject.lower(), f.fingerprint))
    nothing = model.nothing_to_audit
    if nothing is None and not any(f.status is not Status.NOT_APPLICABLE for f in findings):
        nothing = (
            f"the {plural(len(rules), 'rule')} selected "
            + ("gave no result" if not findings else "found nothing " + _applies(len(rules)))
            + ": nothing was judged"
        )
    if nothing is not None:
        errors.append(RunError(NOTHING_TO_AUDIT, nothing[:1].upper() + nothing[1:] + "."))
    return Assessment(tuple(findings), tuple(errors), tuple(rules))


def rule_controls(rule: Rule) -> dict[str, tuple[str, ...]]:
    return controls_for(rule.id, rule.topics)


@dataclass(frozen=True)
class Gate:
    fail_on: Severity | None
    failing: int
    incomplete: bool
    exit_code: int


def gate(assessment: Assessment, fail_on: Severity | None, *, gaps: int) -> Gate:
    """The exit code: 1 findings at/above the threshold, 3 evidence incomplete, else 0.

    Evidence is incomplete when the snapshot has gaps, a rule or pack failed, or a result at or
    above the threshold is indeterminate. With no threshold (``--fail-on none``) only run-level
    errors make the exit code non-zero.
    """
    failing = 0
    unknown = 0
    if fail_on is not None:
        for f in assessment.findings:
            if f.severity.at_least(fail_on):
                failing += f.status is Status.FAIL
                unknown += f.status is Status.INDETERMINATE
    errors = bool(assessment.errors)
    incomplete = errors or gaps > 0 or unknown > 0
    if failing:
        code = 1
    elif errors or (fail_on is not None and incomplete):
        code = 3
    else:
        code = 0
    return Gate(fail_on, failing, incomplete, code)


def _applies(rules: int) -> str:
    return "it applies to" if rules == 1 else "they apply to"
