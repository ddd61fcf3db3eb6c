"""The constructs real APIM policies use that strict XML parsers reject, one by one."""

from __future__ import annotations

import pytest

from mtls_audit.policy.parsing.parser import parse_policy
from mtls_audit.policy.parsing.tree import SNIPPET_TAG, Node, PolicyDocument


def only(document: PolicyDocument, tag: str) -> Node:
    nodes = list(document.root.iter(tag))
    assert len(nodes) == 1, nodes
    return nodes[0]


def messages(document: PolicyDocument) -> list[tuple[int, str]]:
    return [(problem.line, problem.message) for problem in document.problems]


def test_quotes_inside_an_expression_attribute() -> None:
    text = (
        "<policies>\n  <inbound>\n"
        '    <when condition="@(context.Request.Certificate == null || '
        'context.Request.Certificate.Thumbprint != "DESIRED")" >\n'
        '      <set-status code="403" />\n'
        "    </when>\n  </inbound>\n</policies>"
    )
    document = parse_policy(text)
    when = only(document, "when")
    condition = when.attr("CONDITION")
    assert condition is not None
    assert condition.value == (
        "@(context.Request.Certificate == null || "
        'context.Request.Certificate.Thumbprint != "DESIRED")'
    )
    assert (when.line, when.column) == (3, 5)
    assert (condition.line, condition.column, condition.value_line, condition.value_column) == (
        3,
        11,
        3,
        22,
    )
    status = only(document, "set-status")
    assert (status.line, status.column) == (4, 7)
    assert document.problems == ()
    assert not document.escaped  # a raw quote inside a value: not the XML-escaped form


def test_multi_statement_block_with_markup_characters_in_text() -> None:
    block = (
        "@{\n"
        "    var body = context.Request.Body.As<JObject>(preserveContent: true);\n"
        '    if (body["a"] != null && (int)body["a"] < 5 || x > 3) { return "<b>&</b>"; }\n'
        "    return body.ToString();\n"
        "}"
    )
    text = f"<policies>\n<inbound>\n<set-body>{block}</set-body>\n<base />\n</inbound>\n</policies>"
    document = parse_policy(text)
    body = only(document, "set-body")
    assert body.text == block
    assert body.children == ()
    assert (body.text_line, body.text_column) == (3, 11)
    assert only(document, "base").line == 8
    assert document.problems == ()


def test_csharp_literals_and_comments_do_not_end_an_expression() -> None:
    expression = (
        '@(x.Split(\')\')[0] + @"a "") b" + $"{h["k)"]})" + \'\\\'\' /* ) " */ + y // ) "\n+ z)'
    )
    document = parse_policy(f'<set-variable name="v" value="{expression}" />\n<base />')
    value = only(document, "set-variable").attr("value")
    assert value is not None
    assert value.value == expression
    assert only(document, "base").line == 3
    assert messages(document) == [(1, "several top-level elements; read as one snippet")]


def test_single_quoted_attributes_with_char_literals() -> None:
    text = (
        "<set-status code='401' "
        "reason='@(context.Variables.GetValueOrDefault<string>(\"r\").Split('.')[0])' />"
    )
    status = parse_policy(text).root
    assert [(a.name, a.value) for a in status.attrs] == [
        ("code", "401"),
        ("reason", "@(context.Variables.GetValueOrDefault<string>(\"r\").Split('.')[0])"),
    ]
    assert status.attrs[1].column == 24


def test_documented_distinguished_name_with_embedded_quotes() -> None:
    text = (
        "<validate-client-certificate>\n"
        "    <identities>\n"
        "        <identity\n"
        '            subject="C=US, ST=Illinois, L=Chicago, O="Contoso, Inc.", CN=*.contoso.com"\n'
        '            issuer-subject="C=BE, O=FabrikamSign nv-sa, OU=Root CA, '
        'CN=FabrikamSign Root CA" />\n'
        "    </identities>\n"
        "</validate-client-certificate>"
    )
    document = parse_policy(text)
    identity = only(document, "identity")
    subject, issuer = identity.attrs
    assert subject.value == 'C=US, ST=Illinois, L=Chicago, O="Contoso, Inc.", CN=*.contoso.com'
    assert issuer.value == "C=BE, O=FabrikamSign nv-sa, OU=Root CA, CN=FabrikamSign Root CA"
    assert (subject.line, subject.column, issuer.line) == (4, 13, 5)
    assert identity.children == ()
    assert messages(document) == [(4, "value of attribute subject holds its own quote character")]


def test_commented_out_check_is_absent() -> None:
    text = (
        "<policies>\n  <inbound>\n"
        "    <!-- disabled for the demo:\n"
        '    <validate-client-certificate validate-trust="true" />\n'
        '    <when condition="@(x < 3)"> -->\n'
        "    <base />\n"
        "    <!-- a -- b <choose> -->\n"
        "  </inbound>\n</policies>"
    )
    document = parse_policy(text)
    assert [node.tag for node in document.root.iter()] == ["policies", "inbound", "base"]
    assert only(document, "base").line == 6
    assert document.problems == ()


def test_cdata_is_text_and_holds_no_elements() -> None:
    text = "<set-body><![CDATA[<a href='x'>&amp; \"q\"</a>]]></set-body>"
    body = parse_policy(text).root
    assert body.text == "<a href='x'>&amp; \"q\"</a>"
    assert body.children == ()


def test_bom_and_xml_declarations() -> None:
    document = parse_policy(
        '\ufeff<?xml version="1.0" encoding="utf-8"?>\n<fragment>\n<base />\n</fragment>'
    )
    assert (document.kind, document.root.line, document.root.column) == ("fragment", 2, 1)
    assert document.problems == ()
    late = parse_policy(
        '  <!-- c -->\n<?xml version="1.0"?>\n'
        '<policies>\n<inbound />\n<?xml version="1.0"?>\n</policies>'
    )
    assert late.kind == "policies"
    assert late.section("inbound") is not None
    assert messages(late) == [
        (2, "XML declaration is not at the start of the text; ignored"),
        (5, "XML declaration is not at the start of the text; ignored"),
    ]


def test_xml_declaration_inside_a_csharp_string_is_code() -> None:
    text = '<set-body>@{ var xml = "<?xml version=\\"1.0\\"?><a><b/></a>"; return xml; }</set-body>'
    document = parse_policy(text)
    assert document.root.children == ()
    assert '<?xml version=\\"1.0\\"?><a><b/></a>' in document.root.text
    assert document.problems == ()


def test_roots_and_sections() -> None:
    fragment = parse_policy('<fragment><json-to-xml apply="always" /></fragment>')
    assert (fragment.kind, fragment.section("inbound")) == ("fragment", None)
    bare_section = parse_policy("<inbound>\n  <base />\n</inbound>")
    assert bare_section.kind == "element"
    assert bare_section.section("inbound") is bare_section.root
    assert bare_section.section("outbound") is None
    bare_element = parse_policy('<validate-client-certificate validate-trust="true" />')
    assert (bare_element.kind, bare_element.root.tag) == ("element", "validate-client-certificate")
    snippet = parse_policy('<check-header name="a" />\n<inbound><base /></inbound>')
    assert (snippet.kind, snippet.root.tag) == ("element", SNIPPET_TAG)
    assert [child.tag for child in snippet.root.children] == ["check-header", "inbound"]
    assert snippet.section("inbound") is snippet.root.children[1]
    assert messages(snippet) == [(1, "several top-level elements; read as one snippet")]


def test_missing_out_of_order_and_unknown_sections() -> None:
    text = (
        "<policies>\n<outbound />\n<inbound><base /></inbound>\n"
        "<extra />\n<outbound />\n</policies>"
    )
    document = parse_policy(text)
    assert document.section("backend") is None
    assert document.section("on-error") is None
    inbound = document.section("inbound")
    assert inbound is not None
    assert inbound.line == 3
    assert messages(document) == [
        (3, "section <inbound> comes after <outbound>"),
        (4, "unknown section <extra>"),
        (5, "section <outbound> repeated"),
    ]


def test_terraform_template_directives_and_placeholders() -> None:
    text = (
        "<policies>\n  <inbound>\n"
        "    %{ if require_mtls ~}\n"
        '    <validate-client-certificate validate-trust="${validate_trust}" />\n'
        "    %{ else ~}\n"
        '    <check-header name="X-ARR-ClientCertThumbprint" '
        '%{ if strict }ignore-case="false"%{ endif }>\n'
        "      <value>{ALLOWED_CERTIFICATE_THUMBPRINTS}</value>\n"
        "      <value>{{allowed-thumbprint}}</value>\n"
        "    </check-header>\n"
        "    %{ endif ~}\n    %{ for t in thumbprints ~}<value>${t}</value>%{ endfor ~}\n"
        "    %{ if length(x) < 2 }<base />%{ endif }\n"
        "  </inbound>\n</policies>"
    )
    document = parse_policy(text, source="apim.xml.tpl")
    validate = only(document, "validate-client-certificate")
    assert validate.line == 4
    trust = validate.attr("validate-trust")
    assert trust is not None
    assert trust.value == "${validate_trust}"
    assert [v.text for v in document.root.iter("value")] == [
        "{ALLOWED_CERTIFICATE_THUMBPRINTS}",
        "{{allowed-thumbprint}}",
        "${t}",
    ]
    header = only(document, "check-header")
    assert [a.name for a in header.attrs] == ["name", "ignore-case"]
    assert only(document, "base").line == 12
    inbound = document.section("inbound")
    assert inbound is not None
    assert "%{ if require_mtls ~}" in inbound.text
    assert all("template directive" in message for _, message in messages(document))
    assert [line for line, _ in messages(document)] == [3, 5, 6, 6, 10, 11, 11, 12, 12]


def test_references_are_decoded_and_undeclared_entities_kept() -> None:
    text = (
        '<set-header name="a&amp;b" value="@(x &lt; 3 &amp;&amp; y)">'
        "&#x41;&amp;&xxe;&#0;</set-header>"
    )
    node = parse_policy(text).root
    assert [a.value for a in node.attrs] == ["a&b", "@(x < 3 && y)"]
    assert node.text == "A&&xxe;&#0;"


def test_escaped_line_breaks_count_as_lines() -> None:
    raw = (
        '<policies>\n<inbound>\n<when condition="@(a ||\n  b)">\n'
        "<base />\n</when>\n</inbound>\n</policies>"
    )
    escaped = raw.replace("||\n  b", "||&#xD;&#xA;  b")
    for document in (parse_policy(escaped, escaped=True), parse_policy(escaped)):
        assert document.escaped
        assert only(document, "base").line == 5
        condition = only(document, "when").attr("condition")
        assert condition is not None
        assert condition.value == "@(a ||\n  b)"
    assert only(parse_policy(escaped, escaped=False), "base").line == 4
    assert only(parse_policy(raw), "base").line == 5


def test_crlf_line_ends() -> None:
    text = (
        '<policies>\r\n<inbound>\r\n<set-body>@{\r\n return "a";\r\n}</set-body>\r\n'
        "<base />\r\n</inbound>\r\n</policies>"
    )
    document = parse_policy(text)
    assert only(document, "set-body").text == '@{\n return "a";\n}'
    assert only(document, "base").line == 6


@pytest.mark.parametrize(
    ("text", "expected_tags", "expected"),
    [
        (
            "<policies>\n<inbound>\n<choose>\n<when>\n</inbound>\n</policies>",
            ["policies", "inbound", "choose", "when"],
            [
                (3, "<choose> is not closed before </inbound>"),
                (4, "<when> is not closed before </inbound>"),
            ],
        ),
        (
            "<policies>\n<inbound>\n</backend>\n<base />\n</inbound>",
            ["policies", "inbound", "base"],
            [
                (1, "<policies> is not closed"),
                (3, "closing tag </backend> matches no open element; ignored"),
            ],
        ),
        (
            '<policies>\n<inbound>\n<base\n<set-header name="a" exists-action=override />\n'
            "</inbound>\n</policies>",
            ["policies", "inbound", "base", "set-header"],
            [
                (3, "start tag <base> is not closed by '>'"),
                (3, "<base> is not closed before </inbound>"),
                (4, "value of attribute exists-action is not quoted"),
            ],
        ),
        (
            "<policies>\n<inbound>\n<value>a < b @(unclosed</value>\n</inbound>\n</policies>",
            ["policies", "inbound", "value"],
            [
                (3, "'<' starts no tag; kept as text"),
                (3, "expression is not closed; read as plain text"),
            ],
        ),
    ],
)
def test_recovery_keeps_a_tree_and_reports_lines(
    text: str, expected_tags: list[str], expected: list[tuple[int, str]]
) -> None:
    document = parse_policy(text)
    assert [node.tag for node in document.root.iter()] == expected_tags
    assert messages(document) == expected


def test_node_helpers() -> None:
    root = parse_policy('<choose><when Condition="a"><Value /></when><otherwise /></choose>').root
    when = root.children[0]
    assert when.attr("condition") is when.attr("CONDITION") is when.attrs[0]
    assert when.attr("missing") is None
    assert [node.tag for node in root.iter()] == ["choose", "when", "Value", "otherwise"]
    assert [node.tag for node in root.iter("Value")] == ["Value"]
    assert list(root.iter("value")) == []
    assert when.children[0].name_lower == "value"
