"""Judging shared by the MTLS-PROBE rules: each reads the recorded attempts of a service
(``api.subjects.ProbeSubject``: with no probe in the snapshot, the engine reports every service
not applicable); an attempt that could not be made or got an answer that proves nothing →
``indeterminate`` with what happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from mtls_audit import api
from mtls_audit.api.probe import Answer, AttemptKind, ProbeRun, ProbeTarget
from mtls_audit.api.subjects import Probed


def none_probed(probed: Probed, what: str) -> api.Result:
    subject, name = probed.subject, probed.name
    skipped = [s["reason"] for s in probed.run.skipped if s.get("service_id") == subject]
    why = f" ({'; '.join(skipped)})" if skipped else ""
    return api.indeterminate(subject, f"{name}: the probe made no {what}{why}.", name=name)


@dataclass(frozen=True)
class Pool:
    """Which of a service's probe targets a rule reads, and how its results name an attempt."""

    targets: Callable[[ProbeRun, str], Sequence[ProbeTarget]]
    what: str


def expect(
    probed: Probed, kinds: Sequence[AttemptKind], want: Answer, pool: Pool, *, missing: str = ""
) -> Iterator[api.Result]:
    """One result per target and kind: ``want`` passes, the opposite answer fails."""
    targets = pool.targets(probed.run, probed.subject)
    if not targets:
        yield none_probed(probed, pool.what)
    for target in targets:
        for kind in kinds:
            yield _judge(target, kind, want, probed.name, missing)


def _judge(
    target: ProbeTarget, kind: AttemptKind, want: Answer, name: str, missing: str
) -> api.Result:
    key = f"{target.url} {kind}"
    attempt = target.attempt(kind)
    if attempt is None:
        return api.indeterminate(
            target.subject, f"{target.url}: no {kind} attempt was made{missing}.", key=key,
            name=name,
        )  # fmt: skip
    answer = target.answer(attempt)
    said = f"{target.url}: the {kind} attempt at {attempt.at} {target.outcome(attempt)}"
    evidence = attempt.cite(target.url)
    if answer is want:
        return api.passed(target.subject, f"{said}.", evidence, key=key, name=name)
    if answer in (Answer.REJECTED, Answer.ACCEPTED):
        return api.failed(target.subject, f"{said}.", evidence, key=key, name=name)
    return api.indeterminate(
        target.subject, f"{said}, which shows neither rejection nor acceptance.", evidence,
        key=key, name=name,
    )  # fmt: skip


def custom_targets(run: ProbeRun, subject: str) -> Sequence[ProbeTarget]:
    return [t for t in run.targets_of(subject) if not t.default_hostname]


def default_targets(run: ProbeRun, subject: str) -> Sequence[ProbeTarget]:
    return [t for t in run.targets_of(subject) if t.default_hostname]


def hosts(run: ProbeRun, subject: str) -> Sequence[ProbeTarget]:
    return run.hosts_of(subject)


CUSTOM = Pool(custom_targets, "request to a custom gateway hostname")
DEFAULT = Pool(default_targets, "request to the built-in gateway hostname")
HOSTS = Pool(hosts, "handshake with a custom gateway hostname")
