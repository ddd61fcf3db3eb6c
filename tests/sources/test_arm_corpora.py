"""Every JSON file of the shared corpora either loads or is refused for a known reason."""

from __future__ import annotations

import json
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from mtls_audit.errors import InputError
from mtls_audit.sources.arm.files import load_files
from tests.conftest import CORPORA, needs_shared

EXAMPLES = CORPORA / "arm-examples"

pytestmark = needs_shared(CORPORA)

# (pattern, why it is refused, text the refusal must contain, how many files); first match wins.
REFUSED = [
    ("apim-samples/apiops__SampleArtifacts/*/specification.json",
     "an OpenAPI document, not ARM", "keys openapi", 1),
    ("apim-samples/apiops__SampleArtifacts/*/*Api*Information.json",
     "APIOps product-API / tag-API link file: an empty object", "an empty object", 12),
    ("apim-samples/apiops__SampleArtifacts/*/tagProductInformation.json",
     "APIOps tag-product link file: an empty object", "an empty object", 2),
    ("apim-samples/apiops__SampleArtifacts/*Information.json",
     "APIOps artifact: a resource body without id and type (the ids are in the folder names)",
     "resource body without id and type", 26),
    ("apim-samples/rb-mtls-with-apim/bicepconfig.json",
     "Bicep linter configuration", "keys analyzers", 1),
    ("apim-samples/rb-mtls-with-apim/infra/*/main.parameters.json",
     "ARM parameters file given as a main input (its template is Bicep source)",
     "pass it with --parameters", 3),
    ("policy-snippets/aps__xml.json",
     "editor snippet catalogue", "not a shape mtls-audit reads", 1),
]  # fmt: skip


def corpora_files() -> list[Path]:
    return sorted(p for p in CORPORA.rglob("*.json") if EXAMPLES not in p.parents)


def expected_refusal(relative: str) -> tuple[str, str, str] | None:
    """The matching pattern, why the file is refused and what the refusal must say."""
    return next(
        ((pattern, why, text) for pattern, why, text, _ in REFUSED if fnmatch(relative, pattern)),
        None,
    )


def outcome(path: Path) -> str:
    """``loaded: …`` with counts, or ``refused: <the error message>``."""
    try:
        result = load_files([path])
    except InputError as exc:
        return f"refused: {exc}"
    assert all(r["id"].startswith("/subscriptions/") for r in result.resources)
    return f"loaded: {len(result.resources)} resources, {len(result.gaps)} gaps"


def test_corpora_files_load_or_are_refused_as_expected() -> None:
    files = corpora_files()
    assert len(files) > 50, f"corpora not found at {CORPORA}"
    outcomes = {path.relative_to(CORPORA).as_posix(): outcome(path) for path in files}
    refused = {name: text for name, text in outcomes.items() if text.startswith("refused: ")}
    expected = {name: why for name in outcomes if (why := expected_refusal(name))}
    shown = (f"{name}: {text.split(' (', 1)[0]}" for name, text in outcomes.items())
    print("", *(line.replace(f"{CORPORA}/", "") for line in shown), sep="\n")
    assert set(refused) == set(expected)
    for name, (_, _, text) in expected.items():
        assert refused[name].startswith(f"refused: {CORPORA / name}: ")
        assert text in refused[name]
    per_pattern = Counter(pattern for pattern, _, _ in expected.values())
    assert per_pattern == {pattern: count for pattern, _, _, count in REFUSED}
    assert len(outcomes) - len(refused) == 15


def example_bodies() -> list[Path]:
    return sorted(EXAMPLES.glob("*.json"))


@pytest.mark.parametrize("example", example_bodies(), ids=lambda p: p.stem)
def test_arm_example_bodies_load_as_wire_format(tmp_path: Path, example: Path) -> None:
    body: Any = json.loads(example.read_text(encoding="utf-8"))["responses"]["200"]["body"]
    document = body if "value" in body else [body]
    path = tmp_path / "body.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = load_files([path])
    assert result.resources == body.get("value", [body])
    assert result.gaps == []
    assert result.inputs[0]["format"] == "arm-resources"
    assert all(origin["line"] >= 1 for origin in result.origins.values())


def test_examples_were_found() -> None:
    assert len(example_bodies()) == 21
