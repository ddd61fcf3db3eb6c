"""Every policy expression in the public corpus parses, except the few that are not C#."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mtls_audit.errors import PolicyParseError
from mtls_audit.policy.expressions.parser import ExpressionSyntaxError, parse
from mtls_audit.policy.parsing.parser import parse_policy
from tests.conftest import CORPORA, needs_shared

pytestmark = needs_shared(CORPORA)

# Expressions APIM itself would refuse: file name -> the text where the parser must stop
# (None: a file mangled upstream, refused anywhere).
NOT_CSHARP: dict[str, str | None] = {
    # 'text' with several characters is a char literal in C#: a compile error.
    "msdocs-2017-pt-pt__mutual-certificates-for-clients__02-checking-the-issuer-and-subject.xml": (
        "'trusted-issuer'"
    ),
    "msdocs-2017-pt-pt__mutual-certificates-for-clients__03-checking-the-thumbprint.xml": (
        "'desired-thumbprint'"
    ),
    "aca-backend-pool-load-balancing-with-retry-tracked.xml": "'",
    # Upstream files whose XML quotes were mangled into `name="""` by an export tool.
    "aps__Call out to an HTTP endpoint and cache the response.policy.xml": None,
    "aps__Loopback request for service at same API Management service.xml": None,
    "aps__Pre-authorize requests based on HTTP method with validate-jwt.policy.xml": None,
}


def _expressions() -> Iterator[tuple[Path, str]]:
    for path in sorted(CORPORA.rglob("*")):
        if path.suffix not in (".xml", ".cshtml", ".tpl") or not path.is_file():
            continue
        try:
            document = parse_policy(path.read_text(encoding="utf-8", errors="replace"))
        except PolicyParseError:
            continue
        for node in document.root.iter():
            for text in (*(attr.value for attr in node.attrs), node.text):
                if text.strip().startswith(("@(", "@{")):
                    yield path, text


def test_the_corpus_has_expressions() -> None:
    assert sum(1 for _ in _expressions()) > 500


def test_every_corpus_expression_parses_or_is_known_not_to_be_csharp() -> None:
    refused: dict[str, list[str]] = {}
    for path, text in _expressions():
        try:
            parse(text)
        except ExpressionSyntaxError as error:
            refused.setdefault(path.name, []).append(text[error.offset :])
    assert set(refused) == set(NOT_CSHARP)
    for name, rests in refused.items():
        stop = NOT_CSHARP[name]
        assert stop is None or all(rest.startswith(stop) for rest in rests), (name, rests)


@pytest.mark.parametrize(
    "keyword", ["Request.Certificate", "Deployment.Certificates", "X509Certificate2"]
)
def test_certificate_expressions_in_the_corpus_parse(keyword: str) -> None:
    found = [
        (path.name, text)
        for path, text in _expressions()
        if keyword in text and path.name not in NOT_CSHARP
    ]
    assert found
    for _name, text in found:
        parse(text)
