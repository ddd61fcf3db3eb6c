"""The judging loop the disclosure rules share: what each API's responses carry.

A rule gives an inspector that looks at one response write and says what it discloses (a short
description), that it discloses nothing (``""``), or that it cannot tell (None); this module
runs it over every API (or operation) and product path and turns the findings into results.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field

from mtls_audit import api
from mtls_audit.api.policy import Effective, ResponseWrite

Inspector = Callable[[ResponseWrite], str | None]


@dataclass
class _Findings:
    disclosed: list[tuple[ResponseWrite, str]] = field(default_factory=list)
    unreadable: list[ResponseWrite] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def signature(self) -> Hashable:
        """What results are told apart by: the writes found and the problems."""
        return (
            tuple((w.node.origin.resource_id, w.node.line, found) for w, found in self.disclosed),
            tuple((w.node.origin.resource_id, w.node.line) for w in self.unreadable),
            tuple(self.problems),
        )


def judge_writes(
    ctx: api.Context,
    svc: api.ServiceModel,
    what: str,
    inspect: Inspector,
    sections: frozenset[str] | None = None,
) -> Iterator[api.Result]:
    """One result per API (or operation, when their findings differ) and product path: fail
    when some response write discloses ``what``; ``sections`` limits the writes looked at (all
    sections by default)."""
    yield from _judge_service(ctx, svc, what, inspect, sections)


def _judge_service(
    ctx: api.Context,
    svc: api.ServiceModel,
    what: str,
    inspect: Inspector,
    sections: frozenset[str] | None,
) -> Iterator[api.Result]:
    seen: dict[str, _Findings] = {}

    def findings(effective: Effective) -> _Findings:
        found = seen.get(effective.key)
        if found is None:
            writes = ctx.response_writes(svc, effective)
            found = seen[effective.key] = _inspect(effective, writes, inspect, sections)
        return found

    judged = 0
    for subject in ctx.api_paths(svc, lambda e: findings(e).signature()):
        judged += 1
        found = findings(subject.effective)
        yield _result(subject.id, subject.name, subject.key, what, found)
    if not judged:
        yield api.not_applicable(svc.id, f"{svc.service.name} has no APIs.", name=svc.service.name)


def _inspect(
    effective: Effective,
    writes: tuple[ResponseWrite, ...],
    inspect: Inspector,
    sections: frozenset[str] | None,
) -> _Findings:
    findings = _Findings(problems=[p.message for p in effective.problems])
    for write in writes:
        if sections is not None and write.section not in sections:
            continue
        found = inspect(write)
        if found is None:
            findings.unreadable.append(write)
        elif found:
            findings.disclosed.append((write, found))
    return findings


def _result(subject: str, name: str, key: str, what: str, findings: _Findings) -> api.Result:
    label = f"{name} ({key})"
    if findings.disclosed:
        shown = "; ".join(
            f"{write.describe()} carries {found}" for write, found in findings.disclosed
        )
        cites = [api.PolicyCitation(*write.node.place()) for write, _ in findings.disclosed]
        message = f"{label}: the response discloses {what}: {shown}."
        return api.failed(subject, message, *cites, key=key, name=name)
    if findings.unreadable:
        shown = "; ".join(write.describe() for write in findings.unreadable)
        cites = [api.PolicyCitation(*write.node.place()) for write in findings.unreadable]
        message = (
            f"{label}: whether the response discloses {what} cannot be told: {shown} cannot "
            "be read."
        )
        return api.indeterminate(subject, message, *cites, key=key, name=name)
    if findings.problems:
        message = (
            f"{label}: the effective policy cannot be read completely "
            f"({findings.problems[0]}), so what its responses disclose is unknown."
        )
        return api.indeterminate(subject, message, key=key, name=name)
    return api.passed(subject, f"{label}: no response write discloses {what}.", key=key, name=name)
