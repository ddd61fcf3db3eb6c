"""Lint of rule metadata: ids, slugs, docs, controls, remediation, and the generated docs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from mtls_audit.engine.packs import builtin_pack_dir, load_directory
from mtls_audit.engine.rule import DOC_SECTIONS, RULE_ID, SLUG, Rule
from mtls_audit.engine.runner import rule_controls
from mtls_audit.frameworks import frameworks
from mtls_audit.report.catalogue import catalogue_markdown
from tests.conftest import CATALOGUE, needs_shared

ROOT = Path(__file__).resolve().parents[2]
RULES = load_directory(builtin_pack_dir(), "builtin").rules


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_metadata(rule: Rule) -> None:
    assert RULE_ID.match(rule.id)
    assert rule.id.startswith("MTLS-")
    assert SLUG.match(rule.slug)
    assert rule.title
    assert not rule.title.endswith(".")
    assert not rule.topics, "a built-in rule's controls come from the mapping catalogue"
    if rule.id != "MTLS-EVID-01":  # the tool's own completeness evidences no control
        assert any(rule_controls(rule).values()), "a rule maps to at least one control"
    for title in DOC_SECTIONS:
        assert rule.section(title), f"{rule.id}: docstring section {title!r} is missing"
    assert rule.remediation, "remediation text is required"
    assert set(rule.remediation) <= {"portal", "cli", "arm", "terraform", "policy"}


def test_ids_and_slugs_are_unique() -> None:
    assert len({r.id for r in RULES}) == len(RULES)
    assert len({r.slug for r in RULES}) == len(RULES)


@needs_shared(CATALOGUE)
def test_ids_come_from_the_catalogue() -> None:
    catalogue = set(
        re.findall(r"^\| (MTLS-[A-Z0-9]+-\d{2}) \|", CATALOGUE.read_text("utf-8"), re.M)
    )
    assert len(catalogue) > 10
    assert {r.id for r in RULES} <= catalogue


def test_every_cited_control_exists_once() -> None:
    for framework in frameworks():
        ids = [c.id for c in framework.controls]
        assert len(ids) == len(set(ids)), framework.id
        assert all(c.topics for c in framework.controls)
        assert not {c.id for c in framework.not_covered} & set(ids), framework.id


def test_rule_file_names_carry_the_id() -> None:
    for file in builtin_pack_dir().rglob("*.py"):
        if file.name.startswith("_"):
            continue
        text = file.read_text("utf-8")
        declared = re.findall(r'id="(MTLS-[A-Z0-9]+-\d{2})"', text)
        assert len(declared) == 1, file
        area, number = declared[0].split("-")[1:]
        assert file.parent.name == area.lower(), file
        assert file.name.startswith(f"{area.lower()}{number}_"), file


def test_docs_rules_md_is_current() -> None:
    """docs/rules.md is generated; regenerate with
    ``mtls-audit rules list --format markdown > docs/rules.md``."""
    current = (ROOT / "docs" / "rules.md").read_text("utf-8")
    assert current == catalogue_markdown(RULES), "docs/rules.md is stale: regenerate it"


PUBLIC_MODULES = ("policy", "certificates", "keyvault", "probe", "subjects")


def _project_imports(source: str) -> set[str]:
    """The mtls_audit modules a file imports (``from mtls_audit import api`` is mtls_audit.api)."""
    used: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            used.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mtls_audit":
                used.update(f"mtls_audit.{a.name}" for a in node.names)
            else:
                used.add(node.module)
    return {name for name in used if name.split(".")[0] == "mtls_audit"}


def test_rule_pack_imports_only_the_public_api() -> None:
    public = {"mtls_audit.api", *(f"mtls_audit.api.{m}" for m in PUBLIC_MODULES)}
    importing = 0
    for file in builtin_pack_dir().rglob("*.py"):
        used = _project_imports(file.read_text("utf-8"))
        assert used <= public, (file, used)
        importing += bool(used)
    assert importing > 50  # every rule file reads the API (rules/_guide.py is only names)


def test_project_imports_reads_both_import_forms() -> None:
    source = "from mtls_audit import api, model\nimport mtls_audit.policy\nfrom . import x\n"
    assert _project_imports(source) == {"mtls_audit.api", "mtls_audit.model", "mtls_audit.policy"}
