"""One policy file judged on its own, as an inbound policy: the ``mtls-audit policy`` command.

The file's ``<inbound>`` section is the inbound policy; a ``<fragment>``, a bare element or a
snippet of elements counts as inbound content. A ``<base/>`` inherits a parent this file does not
show: the verdict is of the file's own elements, and says so. Included fragments are unknown
(the verdict is then undecidable). Named values resolve from ``named_values`` only.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtls_audit.errors import InputError, PolicyParseError
from mtls_audit.policy.effective.merge import Expander, Layer, fragment_elements
from mtls_audit.policy.effective.tree import EffectiveNode, EffectiveSection, Origin, OriginKind
from mtls_audit.policy.inbound.verdicts import (
    FailureKind,
    InboundAnalyser,
    InboundVerdict,
    KindVerdict,
    Outcome,
    certificate_checks,
)
from mtls_audit.policy.parsing.parser import parse_policy
from mtls_audit.policy.parsing.tree import SECTIONS, Node, ParseProblem, PolicyDocument
from mtls_audit.wording import noun

KIND_NAMES = {
    FailureKind.MISSING: "missing certificate",
    FailureKind.UNTRUSTED: "untrusted chain",
    FailureKind.REVOKED: "revoked",
    FailureKind.EXPIRED: "expired",
    FailureKind.NOT_YET_VALID: "not yet valid",
    FailureKind.WRONG_THUMBPRINT: "another thumbprint",
    FailureKind.WRONG_NAME: "another issuer/subject",
}


class FileStatus(enum.Enum):
    """The verdict of a file, with the command's exit code."""

    SOUND = 0
    LETS_THROUGH = 1
    UNREADABLE = 2
    UNDECIDABLE = 3

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class FileVerdict:
    path: str
    status: FileStatus
    verdict: InboundVerdict | None = None
    base: Node | None = None
    has_inbound: bool = True
    elsewhere: tuple[EffectiveNode, ...] = ()
    syntax: tuple[ParseProblem, ...] = ()
    error: str = ""

    def lines(self) -> list[str]:
        """The verdict as text, one line per fact."""
        out = [f"{self.path}: {_HEADLINES[self.status]}"]
        if self.error:
            return [*out, f"  {self.error}"]
        out += [f"  syntax: {_at(p)}" for p in self.syntax if not p.note]
        out += [f"  {note}" for note in self.notes_before()]
        verdict = self.verdict
        if verdict is None:
            return out
        for kind, found in verdict.kinds.items():
            out.append(f"  {KIND_NAMES[kind]:<24} {_describe(found)}")
        if verdict.from_header:
            out.append(f"  {'TLS client certificate':<24} {_describe(verdict.tls_missing)}")
        return out + [f"  {note}" for note in self.notes_after()]

    def notes_before(self) -> list[str]:
        """What the text output says before the verdicts: how the file was read."""
        out = [f"note: {_at(p)}" for p in self.syntax if p.note]
        if not self.has_inbound:
            out.append("the file has no inbound content")
        if self.base is not None:
            out.append(
                f"inherits an unknown parent (<base/> at line {self.base.line}): judged on "
                "this file's own elements; a parent scope may add checks"
            )
        verdict = self.verdict
        if verdict is not None and verdict.from_header:
            header = verdict.source.removeprefix("header:")
            out.append(f"judges the certificate in the {header} request header")
        if verdict is not None and not verdict.accepts_any:
            out.append("no request gets through: every certificate is rejected")
        return out

    def notes_after(self) -> list[str]:
        """What the text output says after the verdicts: reads, look-ups, weak pins, checks
        elsewhere and what is not modelled."""
        verdict = self.verdict
        if verdict is None:
            return []
        out: list[str] = []
        headers: dict[str, list[str]] = {}
        for read in verdict.header_reads:
            deleted = f" (deleted at line {read.deleted_by.line})" if read.deleted_by else ""
            headers.setdefault(read.header, []).append(f"{read.node.line}{deleted}")
        for header, where in headers.items():
            at = f"{noun(len(where), 'line')} {', '.join(where)}"
            out.append(f"reads the {header} header at {at}")
        if verdict.deployment_lookups:
            lines = [str(node.line) for node in verdict.deployment_lookups]
            out.append(
                "looks the certificate up among the uploaded certificates "
                f"({noun(len(lines), 'line')} {', '.join(lines)}):"
                " backend client certificates are accepted too"
            )
        for node, field, text in verdict.weak_pins:
            out.append(
                f"weak pin: line {node.line} tests that the {field} contains {text!r}, which "
                "any CA the chain trusts can satisfy: not a pin"
            )
        for node in self.elsewhere:
            out.append(f"a certificate check outside inbound: <{node.tag}> at line {node.line}")
        out += [f"unsupported: line {node.line}: {why}" for node, why in verdict.unsupported]
        out += [f"unknown: {_standalone(problem)}" for problem in verdict.problems]
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.path,
            "verdict": self.status.label,
            "exit_code": self.status.value,
            "syntax": [
                {"line": p.line, "column": p.column, "message": p.message}
                for p in self.syntax
                if not p.note
            ],
        }
        if self.error:
            return {**out, "error": self.error}
        verdict = self.verdict
        assert verdict is not None
        out["inherits_parent_at"] = self.base.line if self.base is not None else None
        out["has_inbound"] = self.has_inbound
        out["certificate"] = verdict.source
        out["kinds"] = {
            kind.value: {
                "outcome": found.outcome.value,
                "tested": found.tested,
                "counterexample": found.counterexample,
                "reason": _standalone(found.reason),
                "checks": [_element(n) for n in found.checks],
                "rejected_by": [
                    {"how": r.how, "status": r.status, **_element(r.node)} for r in found.rejections
                ],
            }
            for kind, found in verdict.kinds.items()
        }
        out["header_reads"] = [
            {
                "header": r.header,
                "line": r.node.line,
                "deleted_at": r.deleted_by.line if r.deleted_by else None,
            }
            for r in verdict.header_reads
        ]
        out["deployment_lookups"] = [_element(n) for n in verdict.deployment_lookups]
        out["outside_inbound"] = [_element(n) for n in self.elsewhere]
        out["problems"] = [_standalone(problem) for problem in verdict.problems]
        out["notes"] = [*self.notes_before(), *self.notes_after()]
        return out


_HEADLINES = {
    FileStatus.SOUND: "validates the client certificate soundly",
    FileStatus.LETS_THROUGH: "lets failing certificates through",
    FileStatus.UNREADABLE: "cannot be read",
    FileStatus.UNDECIDABLE: "cannot be decided",
}
_OUTCOMES = {
    Outcome.ALWAYS: "always rejected",
    Outcome.NEVER: "never rejected",
    Outcome.BYPASS: "rejected only under a condition",
    Outcome.UNDECIDABLE: "undecidable",
}


def _at(problem: ParseProblem) -> str:
    return f"line {problem.line}, column {problem.column}: {problem.message}"


def _standalone(message: str) -> str:
    """A message of the shared analysis in the words of a file judged alone (there is no
    snapshot: only the files and named values given)."""
    return message.replace("is not in the snapshot", "is not among the files given")


def _describe(found: KindVerdict) -> str:
    shown = _OUTCOMES[found.outcome]
    if found.outcome is Outcome.ALWAYS:
        how = sorted({f"{r.how}, line {r.node.line}" for r in found.rejections})
        return shown + (f" ({'; '.join(how)})" if how else "")
    shown += "" if found.tested else " (not tested)"
    detail = found.counterexample or _standalone(found.reason)
    return f"{shown}: {detail}" if detail else shown


def _element(node: EffectiveNode) -> dict[str, Any]:
    return {"line": node.line, "excerpt": node.excerpt()}


def judge_text(text: str, path: str, named_values: Mapping[str, str] | None = None) -> FileVerdict:
    """The verdict of policy ``text`` read from ``path``."""
    try:
        document = parse_policy(text, source=path)
    except PolicyParseError as exc:
        return FileVerdict(path, FileStatus.UNREADABLE, error=str(exc))
    origin = Origin(OriginKind.API, path, Path(path).name)
    section, others, base, has_inbound = _sections(document, origin)
    values = dict(named_values or {})
    analyser = InboundAnalyser(lambda name: values.get(name))
    verdict = analyser.section_verdict(section)
    elsewhere = tuple(node for other in others for node in certificate_checks(other))
    if verdict.lets_through():
        status = FileStatus.LETS_THROUGH
    elif verdict.undecided() or verdict.problems:
        status = FileStatus.UNDECIDABLE
    else:
        status = FileStatus.SOUND
    return FileVerdict(path, status, verdict, base, has_inbound, elsewhere, document.problems)


def judge_file(path: Path, named_values: Mapping[str, str] | None = None) -> FileVerdict:
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        error = InputError(f"cannot read the file: {reason}", source=str(path))
        return FileVerdict(str(path), FileStatus.UNREADABLE, error=str(error))
    return judge_text(text, str(path), named_values)


def _sections(
    document: PolicyDocument, origin: Origin
) -> tuple[EffectiveSection, tuple[EffectiveSection, ...], Node | None, bool]:
    """The inbound section of a file, its other sections, its ``<base/>``, and whether it has
    inbound content at all."""
    root = document.root
    if document.kind != "policies" and root.tag not in SECTIONS:
        inbound = Node("inbound", (), fragment_elements(document), "", root.line, root.column)
        document = PolicyDocument(inbound, "element", document.problems, document.source)
    expander = Expander(lambda _fragment: None)
    layer = Layer(origin, origin.resource_id, document)
    sections = {}
    base = None
    for name in SECTIONS:
        own = expander.own(layer, name)
        sections[name] = EffectiveSection(name, own.before + own.after, (), own.problems)
        if name == "inbound":
            base = own.base
    others = tuple(sections[name] for name in SECTIONS if name != "inbound")
    return sections["inbound"], others, base, document.section("inbound") is not None
