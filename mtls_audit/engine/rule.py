"""The rule declaration: metadata at the top of a rule file, one judging function below it."""

from __future__ import annotations

import enum
import inspect
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mtls_audit.analysis import Context, Options
from mtls_audit.engine.results import Result, Severity
from mtls_audit.engine.subjects import Service, SubjectKind

RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*-[A-Z0-9]+-\d{2}$")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DOC_SECTIONS = (
    "What it checks",
    "Why it matters",
    "Example of a failing configuration",
    "What passes",
    "References",
)
FIX_SECTION = "How to fix"
"""The docstring section giving the remediation, one ``channel: text`` entry a channel (the
text may go on over lines indented deeper)."""
REMEDIATION_CHANNELS = ("portal", "cli", "arm", "terraform", "policy")


class Lifecycle(enum.Enum):
    """Where a rule stands: preview, stable or deprecated (ids are never reused)."""

    PREVIEW = "preview"
    STABLE = "stable"
    DEPRECATED = "deprecated"


__all__ = ["Context", "Lifecycle", "Options", "Rule", "collect_rules", "doc_sections", "rule"]

T = TypeVar("T")
Judge = Callable[[T, Context], Iterable[Result]]


@dataclass(frozen=True)
class Rule:
    """A rule: its public metadata, what it judges and needs, and its judge.

    The engine enumerates the ``subject`` kind's members, service by service; a service whose
    ``needs`` (ARM collections, as gaps name them) were not fully collected gets one
    indeterminate result naming them, and ``judge`` is never called for it.
    """

    id: str
    slug: str
    title: str
    severity: Severity
    topics: tuple[str, ...]
    guide: str
    remediation: Mapping[str, str]
    judge: Judge[Any] = field(repr=False)
    subject: SubjectKind[Any] = Service
    needs: tuple[str, ...] = ()
    lifecycle: Lifecycle = Lifecycle.STABLE
    version: str = "1"
    pack: str = "builtin"

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.judge.__doc__ or "")

    def section(self, title: str) -> str:
        """One section of the docstring (e.g. "Why it matters"), empty when absent."""
        return doc_sections(self.doc).get(title, "")


def doc_sections(doc: str) -> dict[str, str]:
    """Split a rule docstring into its titled sections (``Title:`` on a line of its own)."""
    return {k: v.strip() for k, v in _raw_sections(doc).items()}


def _raw_sections(doc: str) -> dict[str, str]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped.endswith(":") and stripped[:-1] in (*DOC_SECTIONS, FIX_SECTION):
            current = sections.setdefault(stripped[:-1], [])
        elif current is not None:
            current.append(line)
    return {k: "\n".join(v) for k, v in sections.items()}


def remediation_of(doc: str) -> dict[str, str]:
    """The remediation written in a docstring's "How to fix" section, channel by channel."""
    found: dict[str, list[str]] = {}
    entry: list[str] = []
    for line in textwrap.dedent(_raw_sections(doc).get(FIX_SECTION, "")).splitlines():
        channel, colon, text = line.partition(": ")
        if colon and not line[:1].isspace() and channel.isidentifier():
            entry = found.setdefault(channel, [])
            line = text
        entry.append(line.strip())
    return {channel: " ".join(filter(None, words)) for channel, words in found.items()}


def rule(
    *,
    id: str,
    severity: Severity,
    topics: tuple[str, ...] = (),
    # A judge of the default kind receives a ServiceModel (mypy cannot type a generic default).
    subject: SubjectKind[T] = Service,  # type: ignore[assignment]
    guide: str = "beyond",
    slug: str | None = None,
    title: str | None = None,
    remediation: Mapping[str, str] | None = None,
    needs: tuple[str, ...] = (),
    lifecycle: Lifecycle = Lifecycle.STABLE,
    version: str = "1",
) -> Callable[[Judge[T]], Rule]:
    """Declare a rule. The decorated function judges one ``subject`` (by default each
    service) and yields its results; ``needs`` names the collections without which it cannot
    judge, beyond those of its kind of subject. What is not given is read from the function:
    the ``slug`` is its name (``verifies_chain``: ``verifies-chain``), the ``title`` its
    docstring's first line (without the full stop) and the ``remediation`` its docstring's
    "How to fix" section. ``guide`` is the step of the setup guide the rule checks, or
    ``beyond`` (the guide does not cover it). ``topics`` name the controls a rule cites when
    the mapping catalogue does not list it (a third-party pack's rule); a catalogued rule
    cites the catalogue's controls and names none."""

    def wrap(judge: Judge[T]) -> Rule:
        doc = inspect.getdoc(judge) or ""
        return Rule(
            id,
            slug or judge.__name__.replace("_", "-"),
            title or doc.partition("\n")[0].strip().removesuffix("."),
            severity,
            tuple(topics),
            guide,
            dict(remediation_of(doc) if remediation is None else remediation),
            judge,
            subject,
            tuple(needs),
            lifecycle,
            version,
        )

    return wrap


def collect_rules(namespace: Mapping[str, Any]) -> list[Rule]:
    """The rules declared in a module's namespace."""
    return [v for v in namespace.values() if isinstance(v, Rule)]
