"""The template-expression language: every supported function, errors, escapes, placeholders."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from mtls_audit.sources.arm.expression import (
    EvaluationError,
    ExpressionError,
    ExpressionSyntaxError,
    UnresolvedParameter,
    UnsupportedFunction,
)
from mtls_audit.sources.arm.functions import SUPPORTED_FUNCTIONS, evaluate_string

from .arm_support import RG_ID, SUB, FakeContext

CTX = FakeContext(
    params={"name": "apim1", "obj": {"a": {"b": [10, 20]}, "Mixed": 1}, "flag": True, "n": 3},
    variables={"prefix": "pre", "list": ["x", "y"]},
    loops={"hosts": 2},
)
NS = "Microsoft.ApiManagement"

CASES: list[tuple[str, Any]] = [
    ("[parameters('name')]", "apim1"),
    ("[variables('prefix')]", "pre"),
    ("[concat('a', 'b', parameters('name'))]", "abapim1"),
    ("[concat(createArray(1), variables('list'))]", [1, "x", "y"]),
    ("[concat('n', 1, true)]", "n1True"),
    ("[format('{0}/{1}', 'svc', 'api')]", "svc/api"),
    ("[format('{{literal}} {0}', 'x')]", "{literal} x"),
    ("[format('{1}{0}{1}', 'a', 'b')]", "bab"),
    (
        "[resourceId('Microsoft.ApiManagement/service', 'apim1')]",
        f"{RG_ID}/providers/{NS}/service/apim1",
    ),
    (
        "[resourceId('Microsoft.ApiManagement/service/apis/policies', 'apim1', 'api', 'policy')]",
        f"{RG_ID}/providers/{NS}/service/apim1/apis/api/policies/policy",
    ),
    (
        "[resourceId('Microsoft.ApiManagement/service/apis', 'apim1/api')]",
        f"{RG_ID}/providers/{NS}/service/apim1/apis/api",
    ),
    (
        "[resourceId('other-rg', 'Microsoft.KeyVault/vaults', 'kv')]",
        f"/subscriptions/{SUB}/resourceGroups/other-rg/providers/Microsoft.KeyVault/vaults/kv",
    ),
    (
        "[resourceId('sub2', 'rg2', 'Microsoft.KeyVault/vaults', 'kv')]",
        "/subscriptions/sub2/resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/kv",
    ),
    (
        "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'r1')]",
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/r1",
    ),
    (
        "[subscriptionResourceId('s9', 'Microsoft.Authorization/roleDefinitions', 'r1')]",
        "/subscriptions/s9/providers/Microsoft.Authorization/roleDefinitions/r1",
    ),
    ("[tenantResourceId('Microsoft.Aad/x', 'y')]", "/providers/Microsoft.Aad/x/y"),
    (
        "[extensionResourceId('/subscriptions/s/resourceGroups/r', "
        "'Microsoft.Authorization/locks', 'l')]",
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.Authorization/locks/l",
    ),
    ("[toLower('MiXed')]", "mixed"),
    ("[toUpper('MiXed')]", "MIXED"),
    ("[string(true)]", "True"),
    ("[string(12)]", "12"),
    ("[string(createObject('a', 1))]", '{"a":1}'),
    ("[if(parameters('flag'), 'yes', 'no')]", "yes"),
    ("[if(false(), uniqueString('never evaluated'), 'lazy')]", "lazy"),
    ("[json('{\"a\": [1, null]}')]", {"a": [1, None]}),
    ("[json('null')]", None),
    ("[equals('a', 'a')]", True),
    ("[equals('a', 'A')]", False),
    ("[equals(1, true())]", False),
    ("[equals(createArray(1, 'x'), createArray(1, 'x'))]", True),
    ("[not(equals(1, 2))]", True),
    ("[and(true(), equals(1, 1))]", True),
    ("[and(false(), uniqueString('short-circuit'))]", False),
    ("[or(false(), true())]", True),
    ("[empty('')]", True),
    ("[empty(createArray())]", True),
    ("[empty(createObject())]", True),
    ("[empty(null())]", True),
    ("[empty('x')]", False),
    ("[contains('haystack', 'st')]", True),
    ("[contains(variables('list'), 'y')]", True),
    ("[contains(parameters('obj'), 'mixed')]", True),
    ("[length('four')]", 4),
    ("[length(variables('list'))]", 2),
    ("[length(parameters('obj'))]", 2),
    ("[replace('a-b-c', '-', '/')]", "a/b/c"),
    ("[substring('abcdef', 2)]", "cdef"),
    ("[substring('abcdef', 1, 3)]", "bcd"),
    ("[split('a,b;c', createArray(',', ';'))]", ["a", "b", "c"]),
    ("[split('a/b', '/')]", ["a", "b"]),
    ("[first(variables('list'))]", "x"),
    ("[last(variables('list'))]", "y"),
    ("[first('abc')]", "a"),
    ("[last('abc')]", "c"),
    ("[createArray(1, 'two', null())]", [1, "two", None]),
    ("[createObject('k', 'v', 'n', 1)]", {"k": "v", "n": 1}),
    (
        "[union(createObject('a', 1, 'o', createObject('x', 1)), "
        "createObject('b', 2, 'o', createObject('y', 2)))]",
        {"a": 1, "o": {"x": 1, "y": 2}, "b": 2},
    ),
    ("[union(createArray(1, 2), createArray(2, 3))]", [1, 2, 3]),
    ("[coalesce(null(), null(), 'third', uniqueString('lazy'))]", "third"),
    ("[bool('True')]", True),
    ("[bool(0)]", False),
    ("[int('42')]", 42),
    ("[resourceGroup().name]", "offline"),
    ("[resourceGroup().location]", "offline"),
    ("[resourceGroup().id]", RG_ID),
    ("[subscription().subscriptionId]", SUB),
    ("[subscription().id]", f"/subscriptions/{SUB}"),
    ("[parameters('obj').a.b[1]]", 20),
    ("[parameters('obj')['a']['b'][0]]", 10),
    ("[parameters('obj').mixed]", 1),
    ("[createArray('a', 'b')[sub(parameters('n'), 2)]]", "b"),
    ("[copyIndex()]", 2),
    ("[copyIndex(1)]", 3),
    ("[copyIndex('hosts', 10)]", 12),
    ("[tryGet(parameters('obj'), 'missing')]", None),
    ("[tryGet(parameters('obj'), 'a', 'b')]", [10, 20]),
    (
        "[shallowMerge(createArray(createObject('a', 1), createObject('a', 2, 'b', 3)))]",
        {"a": 2, "b": 3},
    ),
    ("[true()]", True),
    ("[null()]", None),
    ("[greater(parameters('n'), 2)]", True),
    ("[lessOrEquals('a', 'b')]", True),
    ("[add(parameters('n'), 4)]", 7),
    ("[div(-7, 2)]", -3),
    ("[mod(-7, 2)]", -1),
    ("[startsWith('Microsoft.Web', 'microsoft')]", True),
    ("[  concat( 'spaced' ,  'out' )  ]", "spacedout"),
    ("[concat('it''s')]", "it's"),
    # Functions and lambdas current Bicep compiles to.
    ("[map(variables('list'), lambda('v', toUpper(lambdaVariables('v'))))]", ["X", "Y"]),
    ("[map(variables('list'), lambda('v', 'i', lambdaVariables('i')))]", [0, 1]),
    ("[filter(createArray(1, 5, 2), lambda('n', greater(lambdaVariables('n'), 1)))]", [5, 2]),
    (
        "[reduce(createArray(1, 2, 3), 0, lambda('sum', 'n', "
        "add(lambdaVariables('sum'), lambdaVariables('n'))))]",
        6,
    ),
    (
        "[sort(createArray('b', 'c', 'a'), lambda('x', 'y', "
        "less(lambdaVariables('x'), lambdaVariables('y'))))]",
        ["a", "b", "c"],
    ),
    (
        "[toObject(variables('list'), lambda('v', lambdaVariables('v')), "
        "lambda('v', length(lambdaVariables('v'))))]",
        {"x": 1, "y": 1},
    ),
    ("[toObject(variables('list'), lambda('v', lambdaVariables('v')))]", {"x": "x", "y": "y"}),
    (
        "[mapValues(createObject('a', 1, 'b', 2), lambda('v', mul(lambdaVariables('v'), 10)))]",
        {"a": 10, "b": 20},
    ),
    (
        "[groupBy(createArray('ab', 'ac', 'b'), lambda('s', first(lambdaVariables('s'))))]",
        {"a": ["ab", "ac"], "b": ["b"]},
    ),
    (
        "[map(createArray(1, 2), lambda('o', map(createArray(10), "
        "lambda('i', add(lambdaVariables('o'), lambdaVariables('i'))))))]",
        [[11], [12]],
    ),
    ("[items(createObject('b', 2, 'A', 1))]", [{"key": "A", "value": 1}, {"key": "b", "value": 2}]),
    ("[objectKeys(createObject('b', 2, 'a', 1))]", ["b", "a"]),
    ("[join(createArray('a', 1, true()), '-')]", "a-1-True"),
    ("[indexOf('Hello World', 'WORLD')]", 6),
    ("[indexOf(createArray('a', 'b', 'a'), 'a')]", 0),
    ("[lastIndexOf(createArray('a', 'b', 'a'), 'a')]", 2),
    ("[indexOf(createArray(1), 2)]", -1),
    ("[range(2, 3)]", [2, 3, 4]),
    ("[take(createArray(1, 2, 3), 2)]", [1, 2]),
    ("[skip('abcdef', 4)]", "ef"),
    ("[min(createArray(4, 2, 9))]", 2),
    ("[max(4, 2, 9)]", 9),
    ("[intersection(createArray(1, 2, 3), createArray(3, 2, 7))]", [2, 3]),
    ("[intersection(createObject('a', 1, 'b', 2), createObject('a', 1, 'b', 3))]", {"a": 1}),
    ("[flatten(createArray(createArray(1), createArray(2, 3)))]", [1, 2, 3]),
    ("[padLeft('7', 3, '0')]", "007"),
    ("[base64ToString(base64('pätient'))]", "pätient"),
    ("[base64ToJson(base64('{\"a\": 1}'))]", {"a": 1}),
    ("[uriComponent('a b/c')]", "a%20b%2Fc"),
    ("[uriComponentToString('a%20b')]", "a b"),
    ("[uri('https://x.example/a/b', 'c.json')]", "https://x.example/a/c.json"),
    ("[array('one')]", ["one"]),
    ("[[not an expression]", "[not an expression]"),
    ("plain text", "plain text"),
    ("[", "["),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_expression_value(text: str, expected: Any) -> None:
    assert evaluate_string(text, CTX) == expected


def test_every_function_of_the_brief_is_implemented() -> None:
    listed = [
        "parameters", "variables", "concat", "format", "resourceId", "toLower", "toUpper",
        "string", "if", "json", "equals", "not", "and", "or", "empty", "contains", "length",
        "replace", "substring", "split", "first", "last", "createArray", "createObject", "union",
        "coalesce", "bool", "int", "resourceGroup", "subscription", "copyIndex",
    ]  # fmt: skip
    assert {name.lower() for name in listed} <= SUPPORTED_FUNCTIONS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[lambda('x', lambdaVariables('x'))]", "lambda() is only a value of map"),
        ("[lambdaVariables('x')]", "used outside its lambda"),
        ("[map(createArray(1), 'x')]", "map() expects a lambda(...) argument"),
        ("[map(createArray(1), lambda('a', 'b', 'c', 1))]", "map() gives its lambda 2 values"),
        ("[filter(createArray(1), lambda('n', 1))]", "not a boolean"),
        ("[map(createObject(), lambda('v', 1))]", "map() expects an array, got an object"),
        ("[range(0, 10001)]", "range(): count 10001 is not from 0 to 10000"),
        ("[base64ToString('%%%')]", "base64ToString()"),
    ],
)
def test_collection_function_errors(text: str, message: str) -> None:
    with pytest.raises(EvaluationError) as caught:
        evaluate_string(text, CTX)
    assert message in str(caught.value)


def test_guid_is_a_name_based_uuid_of_the_joined_arguments() -> None:
    namespace = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")
    assert evaluate_string("[guid('a', 'b')]", CTX) == str(uuid.uuid5(namespace, "a-b"))
    assert evaluate_string("[guid('a', 'b')]", CTX) != evaluate_string("[guid('a', 'c')]", CTX)


def test_resource_group_is_refused_at_subscription_scope() -> None:
    with pytest.raises(EvaluationError, match="subscription scope"):
        evaluate_string("[resourceGroup().id]", FakeContext(resource_group=None))
    at_sub = FakeContext(resource_group=None)
    assert evaluate_string("[resourceId('Microsoft.Resources/x', 'y')]", at_sub) == (
        f"/subscriptions/{SUB}/providers/Microsoft.Resources/x/y"
    )


@pytest.mark.parametrize(
    ("text", "function"),
    [
        ("[uniqueString(resourceGroup().id)]", "uniqueString"),
        ("[reference('x').outputs]", "reference"),
        ("[listKeys('x', '2020-01-01').keys[0].value]", "listKeys"),
        ("[newGuid()]", "newGuid"),
        ("[utcNow()]", "utcNow"),
        ("[environment().name]", "environment"),
        ("[deployment().name]", "deployment"),
        ("[__bicep.myFunc('a')]", "__bicep.myFunc"),
        ("[concat('a', pickZones('x', 'y', 'z'))]", "pickZones"),
    ],
)
def test_unsupported_functions_are_named(text: str, function: str) -> None:
    with pytest.raises(UnsupportedFunction, match=rf"^{function}\(\)") as caught:
        evaluate_string(text, CTX)
    assert caught.value.kind == "unsupported"
    assert caught.value.what == "template-function"


@pytest.mark.parametrize(
    "text",
    ["[concat('a']", "[concat('a',)]", "[justAName]", "['unterminated]", "[concat('a') extra]",
     "[a..b()]", "[1 2]", "[#]", "[]"],
)  # fmt: skip
def test_syntax_errors(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        evaluate_string(text, CTX)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[parameters('obj').nope]", "no property 'nope'"),
        ("[variables('list')[5]]", "out of range"),
        ("[substring('abc', 2, 5)]", "outside"),
        ("[format('{0} {1}', 'only')]", "no argument"),
        ("[format('{0:D3}', 1)]", "not supported"),
        ("[concat('a', createArray(1))]", "only strings or only arrays"),
        ("[createObject('odd')]", "key/value pairs"),
        ("[if('yes', 1, 2)]", "true or false"),
        ("[not('x')]", "true or false"),
        ("[json('{bad')]", "not valid JSON"),
        ("[div(1, 0)]", "division by zero"),
        ("[resourceId('no-type-here', 'x')]", "no resource type"),
        ("[resourceId('Microsoft.ApiManagement/service/apis', 'only-one')]", "needs 2 name"),
        ("[int('x')]", "int()"),
        ("[length(1)]", "cannot measure"),
        ("[replace('abc', '', 'x')]", "empty"),
    ],
)
def test_evaluation_errors_explain_themselves(text: str, message: str) -> None:
    with pytest.raises(EvaluationError, match=message):
        evaluate_string(text, CTX)


def test_unresolved_parameter_propagates_as_its_own_kind() -> None:
    with pytest.raises(UnresolvedParameter) as caught:
        evaluate_string("[concat('x', parameters('missing'))]", CTX)
    assert (caught.value.kind, caught.value.what) == ("not-found", "template-parameter")


def test_placeholders_keep_unresolvable_name_parts_as_text() -> None:
    errors: list[ExpressionError] = []
    value = evaluate_string(
        "[format('{0}/{1}', parameters('svc'), concat('api-', uniqueString('x')))]",
        CTX,
        placeholders=errors,
    )
    assert value == "[parameters('svc')]/api-[uniqueString('x')]"
    assert [type(e) for e in errors] == [UnresolvedParameter, UnsupportedFunction]


def test_deeply_nested_expression_is_an_error_not_a_crash() -> None:
    text = "[" + "concat(" * 5000 + "'x'" + ")" * 5000 + "]"
    with pytest.raises(ExpressionError, match="nested too deeply"):
        evaluate_string(text, CTX)


def test_string_growth_is_bounded() -> None:
    big = FakeContext(params={"s": "x" * (9 * 1024 * 1024)})
    with pytest.raises(EvaluationError, match="over"):
        evaluate_string("[concat(parameters('s'), parameters('s'))]", big)
