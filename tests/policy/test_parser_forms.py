"""The parser over the real corpus, and the escaped (ARM ``format=xml``) and raw forms of one
policy giving the same tree."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import unescape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from mtls_audit.errors import PolicyParseError
from mtls_audit.policy.parsing.parser import parse_policy
from mtls_audit.policy.parsing.tree import Node
from tests.conftest import CORPORA, needs_shared

POLICY_SUFFIXES = (".xml", ".cshtml", ".tpl")
SKIPPED_BY_SUFFIX = {".wadl": "WADL API description", ".xsd": "XML schema"}
POLICY_ROOTS = {"policies", "fragment", "inbound", "backend", "outbound", "on-error"}
EXPECTED_REFUSED: dict[str, str] = {}  # corpus path -> reason; every corpus policy must parse
EXPECTED_SKIPPED = {
    "apim-samples/apiops__SampleArtifacts/apis/wadl-api/specification.wadl": "WADL",
    "apim-samples/azs-apim-samples/.vscode/apim-policy.xsd": "XML schema",
}
_FIRST_ELEMENT = re.compile(r"<([A-Za-z_][-\w:.]*)([^>]*)")
_HARDENED = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


def _skip_reason(path: Path, text: str) -> str | None:
    """Why a corpus file is not a policy (None when it is one), decided by its first element:
    a policy root or section, or an un-namespaced kebab-case policy element."""
    if path.suffix in SKIPPED_BY_SUFFIX:
        return SKIPPED_BY_SUFFIX[path.suffix]
    stripped = re.sub(r"<!--.*?-->|<\?.*?\?>", "", text, flags=re.S)
    first = _FIRST_ELEMENT.search(stripped)
    if first is None:
        return "no element"
    name, attributes = first.groups()
    if name in POLICY_ROOTS:
        return None
    if ":" in name or "xmlns" in attributes or not re.fullmatch(r"[a-z]+(-[a-z]+)*", name):
        return f"foreign root <{name}>"
    return None


def _corpus() -> list[tuple[str, str, str | None]]:
    found = []
    for path in sorted(CORPORA.rglob("*")):
        if path.is_file() and path.suffix in (*POLICY_SUFFIXES, *SKIPPED_BY_SUFFIX):
            text = path.read_text(encoding="utf-8-sig")
            found.append((path.relative_to(CORPORA).as_posix(), text, _skip_reason(path, text)))
    return found


CORPUS = _corpus()
POLICIES = [(name, text) for name, text, reason in CORPUS if reason is None]
pytestmark = needs_shared(CORPORA)


def _well_formed(text: str) -> bool:
    try:
        etree.fromstring(text.encode(), _HARDENED)
    except etree.XMLSyntaxError:
        return False
    return True


def shape(node: Node) -> tuple[Any, ...]:
    """What both forms of one policy must share: tags, attributes, text and lines."""
    attrs = tuple((a.name, a.value, a.line, a.value_line) for a in node.attrs)
    children = tuple(shape(child) for child in node.children)
    return (node.tag, attrs, node.text, node.line, node.text_line, children)


# --- the ARM escaped form, built independently of the parser --------------------------------

_XML_TOKEN = re.compile(
    r"(?P<keep><!--.*?-->|<\?.*?\?>|<!\[CDATA\[.*?\]\]>)"
    r"|<(?P<close>/?)(?P<name>[-\w:.]+)(?P<attrs>(?:\s+[-\w:.]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)"
    r"(?P<space>\s*)(?P<empty>/?)>"
    r"|(?P<text>[^<]+)",
    re.S,
)
_XML_ATTR = re.compile(r"(\s+)([-\w:.]+)(\s*=\s*)(\"[^\"]*\"|'[^']*')")


def _xml_unescape(value: str) -> str:
    value = re.sub(
        r"&#(x[0-9a-fA-F]+|[0-9]+);",
        lambda m: chr(int(m.group(1)[1:], 16) if m.group(1)[0] == "x" else int(m.group(1))),
        value,
    )
    return unescape(value, {"&quot;": '"', "&apos;": "'"})


def _escape_attribute(value: str) -> str:
    for char, reference in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        value = value.replace(char, reference)
    return value.replace("\r", "&#xD;").replace("\n", "&#xA;").replace("\t", "&#x9;")


def _escape_text(value: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace("\r\n", "\n").replace("\n", "\r\n")


def arm_escaped(well_formed: str) -> str:
    """Serialise a well-formed policy as ARM's ``format=xml`` payload does (see
    corpora/arm-examples: ``=>`` becomes ``=&gt;``, a tab in an attribute ``&#x9;``, CRLF line
    ends, double-quoted attributes, ``<x />``), keeping the layout."""
    out = []
    for token in _XML_TOKEN.finditer(well_formed):
        if token["keep"]:
            out.append(token["keep"].replace("\r\n", "\n").replace("\n", "\r\n"))
        elif token["text"] is not None:
            out.append(_escape_text(_xml_unescape(token["text"])))
        else:
            attrs = "".join(
                f'{space}{name}{equals}"{_escape_attribute(_xml_unescape(quoted[1:-1]))}"'
                for space, name, equals, quoted in _XML_ATTR.findall(token["attrs"])
            )
            ending = (token["space"] or " ") + "/>" if token["empty"] else token["space"] + ">"
            out.append(f"<{token['close']}{token['name']}{attrs}{ending}")
    return "".join(out)


def _lxml_view(text: str) -> list[tuple[Any, ...]]:
    """Tags, attributes (XML-normalised whitespace) and leading text as lxml reads them."""
    root = etree.fromstring(text.encode(), _HARDENED)
    return [
        (e.tag, {k: " ".join(str(v).split()) for k, v in e.attrib.items()}, str(e.text or ""))
        for e in root.iter()
        if isinstance(e.tag, str)
    ]


# --- the corpus ------------------------------------------------------------------------------


def test_skipped_corpus_files_are_the_expected_ones() -> None:
    skipped = {name: reason for name, _, reason in CORPUS if reason is not None}
    assert set(skipped) == set(EXPECTED_SKIPPED), skipped
    assert len(POLICIES) > 150


def test_corpus_refusals_are_exactly_the_expected_ones() -> None:
    """No crash on any corpus policy, and only the listed ones refused."""
    refused = {}
    for name, text in POLICIES:
        try:
            parse_policy(text, source=name)
        except PolicyParseError as error:
            refused[name] = str(error)
    assert set(refused) == set(EXPECTED_REFUSED), refused


def _from(text: str, line: int, column: int) -> str:
    """The text from a 1-based line and column on."""
    lines = text.splitlines(keepends=True)
    return lines[line - 1][column - 1 :] + "".join(lines[line:])


@pytest.mark.parametrize(("name", "text"), POLICIES, ids=[name for name, _ in POLICIES])
def test_corpus_positions_point_at_the_source(name: str, text: str) -> None:
    document = parse_policy(text, source=name, escaped=False)
    for node in document.root.iter():
        if node.tag != "#snippet":
            assert _from(text, node.line, node.column).startswith(f"<{node.tag}"), node
        for attr in node.attrs:
            assert _from(text, attr.line, attr.column).startswith(attr.name), attr
            before_value = _from(text, attr.value_line, attr.value_column - 1)
            assert before_value[:1] in ("'", '"'), attr
        if node.text:
            expected = node.text.lstrip()[:10]
            assert _from(text, node.text_line, node.text_column).lstrip().startswith(expected)


WELL_FORMED = [(name, text) for name, text in POLICIES if _well_formed(text)]


@pytest.mark.parametrize(("name", "text"), WELL_FORMED, ids=[name for name, _ in WELL_FORMED])
def test_corpus_escaped_form_gives_the_raw_tree(name: str, text: str) -> None:
    escaped = arm_escaped(text)
    assert _lxml_view(escaped) == _lxml_view(text)  # the escaper keeps the document
    raw = shape(parse_policy(text, escaped=False).root)
    assert shape(parse_policy(escaped, escaped=True).root) == raw
    assert shape(parse_policy(escaped).root) == raw
    assert shape(parse_policy(text).root) == raw


def _arm_policy(file: str) -> dict[str, Any]:
    body = json.loads((CORPORA / "arm-examples" / file).read_text())["responses"]["200"]["body"]
    return dict(body["properties"])


def test_arm_xml_format_is_decoded_to_the_authored_expressions() -> None:
    properties = _arm_policy("ApiManagementGetApiPolicy.json")
    assert "format" not in properties  # the default format is xml
    document = parse_policy(properties["value"], escaped=True)
    quota = next(document.root.iter("quota-by-key"))
    assert quota.line == 15
    period = quota.attr("renewal-period")
    assert period is not None
    assert period.value == "\tP3Y6M4DT12H30M5S"
    log = next(document.root.iter("log-to-eventhub"))
    assert ".Select(s => s[Random.Next(s.Length)])" in log.text
    assert log.text_line == 22
    assert parse_policy(properties["value"]).escaped  # detected as the escaped form


def test_arm_rawxml_format_keeps_raw_expressions() -> None:
    properties = _arm_policy("ApiManagementGetPolicyFormat.json")
    assert properties["format"] == "rawxml"
    document = parse_policy(properties["value"], escaped=False)
    value = next(document.root.iter("value"))
    assert value.text.startswith("@{\n                var guidBinary = new byte[16];")
    assert "(byte)(time >> 40);" in value.text
    assert [s.tag for s in document.root.children] == ["inbound", "backend", "outbound", "on-error"]
    fragment = parse_policy(_arm_policy("ApiManagementGetPolicyFragment.json")["value"])
    assert fragment.kind == "fragment"
    assert fragment.section("inbound") is None


# --- generated policies: raw and escaped forms -----------------------------------------------


@dataclass(frozen=True)
class Gen:
    """A generated element: attribute values and text as authored (raw)."""

    tag: str
    attrs: tuple[tuple[str, str, str], ...]  # name, raw value, quote
    text: str
    children: tuple[Gen, ...]


_STRING_CHARS = [*"ab <>&()[]{}@'$/*:.", '\\"', "\\\\", "\\'"]
_VERBATIM_CHARS = [*"ab <>&(){}\\'\n", '""']
_atoms = st.one_of(
    st.sampled_from(
        [
            "x",
            "context.Request.Certificate",
            "DateTime.UtcNow",
            "Body.As<JObject>()",
            "h.GetValueOrDefault<string>",
            "{{named-value}}",
        ]
    ),
    st.sampled_from(["<", ">", "&&", "||", "==", "!=", "<=", "=>", "?", ":", ",", "!", "\n"]),
    st.lists(st.sampled_from(_STRING_CHARS), max_size=8).map(lambda c: '"' + "".join(c) + '"'),
    st.lists(st.sampled_from(_VERBATIM_CHARS), max_size=8).map(lambda c: '@"' + "".join(c) + '"'),
    st.sampled_from(["'a'", "'\"'", "'\\''", "')'", "'}'", "'<'", "'\\\\'", "'&'"]),
    st.sampled_from(["/* a ) } \" ' < */", "// a ) } \" '\n"]),
)
_code = st.recursive(
    _atoms,
    lambda inner: st.one_of(
        inner.map(lambda c: f"({c})"),
        inner.map(lambda c: f'$"t {{ {c} }} {{{{x}}}}"'),
        inner.map(lambda c: f'@$"t {{ {c} }} ""q"""'),
        st.lists(inner, min_size=1, max_size=4).map(" ".join),
    ),
    max_leaves=10,
)
_expressions = st.one_of(
    _code.map(lambda c: f"@({c})"),
    _code.map(lambda c: '@{\n    if (a < b && c) { return "}"; }\n    return ' + c + " ;\n}"),
)
_plain = st.text(alphabet="abc {}-=/.,:>'", max_size=12).map(lambda t: "v" + t)
_placeholders = st.sampled_from(["{{nv-thumbprint}}", "${var.thumbprint}", "{THUMBPRINT}"])
_values = st.one_of(_expressions, _plain, _placeholders)
_attrs = st.lists(
    st.tuples(
        st.sampled_from(["condition", "value", "name", "subject", "key"]),
        _values,
        st.sampled_from(['"', "'"]),
    ),
    max_size=3,
    unique_by=lambda a: a[0],
).map(lambda attrs: tuple((n, v, q if v.startswith("@") else '"') for n, v, q in attrs))
_tags = st.sampled_from(
    ["choose", "when", "set-header", "value", "set-body", "validate-client-certificate"]
)
_texts = st.one_of(st.just(""), _expressions, _plain.map(lambda t: t + ' "q"'), _placeholders)
_elements = st.recursive(
    st.builds(Gen, _tags, _attrs, _texts, st.just(())),
    lambda inner: st.builds(Gen, _tags, _attrs, _texts, st.lists(inner, max_size=3).map(tuple)),
    max_leaves=12,
)


def _render(element: Gen, escaped: bool, indent: str = "    ") -> str:
    attrs = "".join(
        f' {name}="{_escape_attribute(value)}"' if escaped else f" {name}={q}{value}{q}"
        for name, value, q in element.attrs
    )
    text = _escape_text(element.text).replace("\r\n", "\n") if escaped else element.text
    children = "".join(
        ("" if i == 0 else f"\n{indent}  ") + _render(child, escaped, indent + "  ")
        for i, child in enumerate(element.children)
    )
    if not text and not children:
        return f"<{element.tag}{attrs} />"
    closing = f"\n{indent}</{element.tag}>" if children else f"</{element.tag}>"
    return f"<{element.tag}{attrs}>{text}{children}{closing}"


def _document(elements: list[Gen], escaped: bool) -> str:
    body = "\n    ".join(_render(element, escaped) for element in elements)
    return f"<policies>\n  <inbound>\n    <base />\n    {body}\n  </inbound>\n</policies>\n"


def _assert_verbatim(generated: Gen, node: Node) -> None:
    assert node.tag == generated.tag
    assert [(a.name, a.value) for a in node.attrs] == [(n, v) for n, v, _ in generated.attrs]
    assert node.text == generated.text
    for child_generated, child in zip(generated.children, node.children, strict=True):
        _assert_verbatim(child_generated, child)


@settings(max_examples=300, deadline=None)
@given(st.lists(_elements, min_size=1, max_size=4))
def test_generated_policies_read_the_same_in_both_forms(elements: list[Gen]) -> None:
    raw_text, escaped_text = _document(elements, False), _document(elements, True)
    raw = parse_policy(raw_text, escaped=False)
    assert raw.problems == ()
    assert _lxml_view(escaped_text)  # the escaped form is well-formed XML
    for document in (
        parse_policy(raw_text),
        parse_policy(escaped_text, escaped=True),
        parse_policy(escaped_text),
    ):
        assert shape(document.root) == shape(raw.root)
        assert document.problems == ()
    inbound = raw.section("inbound")
    assert inbound is not None
    for generated, node in zip(elements, inbound.children[1:], strict=True):
        _assert_verbatim(generated, node)
