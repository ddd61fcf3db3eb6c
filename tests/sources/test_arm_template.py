"""Deployment templates: ids, nesting, loops, conditions, nested deployments, scopes, gaps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mtls_audit.sources.arm.files import OfflineInput, load_files

from .arm_support import APIM, RG_ID, SUB, parameters_file, template, write_json

KV = f"{RG_ID}/providers/Microsoft.KeyVault/vaults"
ROLE = "Microsoft.Authorization/roleAssignments"


def load(tmp_path: Path, document: Any, **kwargs: Any) -> OfflineInput:
    return load_files([write_json(tmp_path, "main.json", document)], **kwargs)


def by_id(result: OfflineInput) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in result.resources}


def service(name: Any = "apim1", **extra: Any) -> dict[str, Any]:
    return {"type": "Microsoft.ApiManagement/service", "apiVersion": "2024-05-01", "name": name,
            "sku": {"name": "Premium", "capacity": 1}, **extra}  # fmt: skip


def test_nested_children_get_full_ids_types_and_short_names(tmp_path: Path) -> None:
    policy = {"type": "policies", "name": "policy", "properties": {"value": "<policies/>"}}
    api = {"type": "apis", "name": "orders", "dependsOn": ["x"], "resources": [policy]}
    doc = template([service(resources=[api, {"type": "apis/policies", "name": "b/policy"}])])
    result = load(tmp_path, doc)
    resources = by_id(result)
    assert list(resources) == [
        f"{APIM}/apim1",
        f"{APIM}/apim1/apis/orders",
        f"{APIM}/apim1/apis/orders/policies/policy",
        f"{APIM}/apim1/apis/b/policies/policy",
    ]
    nested = resources[f"{APIM}/apim1/apis/orders/policies/policy"]
    assert nested == {
        "id": f"{APIM}/apim1/apis/orders/policies/policy",
        "type": "Microsoft.ApiManagement/service/apis/policies",
        "name": "policy",
        "properties": {"value": "<policies/>"},
    }
    api_out = resources[f"{APIM}/apim1/apis/orders"]
    assert "dependsOn" not in api_out
    assert "resources" not in api_out
    assert resources[f"{APIM}/apim1"]["apiVersion"] == "2024-05-01"
    assert result.origins[f"{APIM}/apim1/apis/orders/policies/policy".lower()]["pointer"] == (
        "/resources/0/resources/0/resources/0"
    )
    assert result.gaps == []


def test_top_level_child_types_and_expressions(tmp_path: Path) -> None:
    doc = template(
        [
            service("[parameters('apimName')]", location="[resourceGroup().location]"),
            {
                "type": "Microsoft.ApiManagement/service/apis/policies",
                "name": "[format('{0}/{1}/{2}', parameters('apimName'), variables('api'), 'p')]",
                "properties": {"format": "rawxml", "value": "[variables('xml')]"},
            },
        ],
        parameters={"apimName": {"type": "string", "defaultValue": "[toLower('APIM-Prod')]"}},
        variables={
            "api": "[concat(variables('base'), '-v1')]",
            "base": "orders",
            "xml": "[concat('<policies>', '</policies>')]",
        },
    )
    resources = by_id(load(tmp_path, doc))
    assert resources[f"{APIM}/apim-prod"]["location"] == "offline"
    policy = resources[f"{APIM}/apim-prod/apis/orders-v1/policies/p"]
    assert policy["properties"] == {"format": "rawxml", "value": "<policies></policies>"}


def test_parameters_file_overrides_defaults_and_fills_missing(tmp_path: Path) -> None:
    doc = template(
        [service("[parameters('name')]", properties={"publisherEmail": "[parameters('mail')]"})],
        parameters={
            "name": {"type": "string", "defaultValue": "default"},
            "mail": {"type": "string"},
        },
    )
    params = parameters_file(tmp_path, {"name": "from-file", "mail": "ops@example.com"})
    result = load(tmp_path, doc, parameter_files=[params])
    assert by_id(result)[f"{APIM}/from-file"]["properties"] == {"publisherEmail": "ops@example.com"}
    assert [i["format"] for i in result.inputs] == ["arm-parameters", "arm-template"]


def test_unresolvable_parameter_and_unsupported_function_become_gaps(tmp_path: Path) -> None:
    doc = template(
        [service("[parameters('name')]", properties={
            "publisherEmail": "[parameters('mail')]",
            "notificationSenderEmail": "[reference('other').email]",
            "hostnameConfigurations": [{"hostName": "[concat(uniqueString('x'), '.example')]"}],
        })],
        parameters={"name": {"type": "string"}, "mail": {"type": "string"}},
    )  # fmt: skip
    result = load(tmp_path, doc)
    (resource,) = result.resources
    placeholder_id = f"{APIM}/[parameters('name')]"
    assert resource["id"] == placeholder_id
    assert resource["name"] == "[parameters('name')]"
    props = resource["properties"]
    assert props["publisherEmail"] == "[parameters('mail')]"
    assert (
        props["hostnameConfigurations"][0]["hostName"] == "[concat(uniqueString('x'), '.example')]"
    )
    gaps = {g["pointer"]: g for g in result.gaps}
    assert set(gaps) == {
        "/resources/0/name",
        "/resources/0/properties/publisherEmail",
        "/resources/0/properties/notificationSenderEmail",
        "/resources/0/properties/hostnameConfigurations/0/hostName",
    }
    unique = gaps["/resources/0/properties/hostnameConfigurations/0/hostName"]
    assert (unique["kind"], unique["what"]) == ("unsupported", "template-function")
    assert "uniqueString()" in unique["message"]
    assert unique["subject"] == placeholder_id
    assert unique["file"].endswith("main.json")
    assert unique["line"] > 1
    assert "reference()" in gaps["/resources/0/properties/notificationSenderEmail"]["message"]
    assert gaps["/resources/0/name"]["kind"] == "not-found"
    assert gaps["/resources/0/name"]["what"] == "template-parameter"


def test_gap_lines_point_at_the_expression(tmp_path: Path) -> None:
    text = (
        '{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/'
        'deploymentTemplate.json#",\n'
        ' "resources": [\n'
        '  {"type": "Microsoft.ApiManagement/service", "name": "a",\n'
        '   "properties": {\n'
        '     "x": "[utcNow()]"}}]}\n'
    )
    path = tmp_path / "t.json"
    path.write_text(text, encoding="utf-8")
    result = load_files([path])
    assert result.origins[f"{APIM}/a".lower()]["line"] == 3
    assert [(g["pointer"], g["line"]) for g in result.gaps] == [("/resources/0/properties/x", 5)]


def test_secure_parameters_are_never_read(tmp_path: Path) -> None:
    doc = template(
        [service(properties={"hostnameConfigurations": [
            {"hostName": "api.example.com", "certificatePassword": "[parameters('pwd')]"}]})],
        parameters={"pwd": {"type": "secureString"}},
    )  # fmt: skip
    params = parameters_file(tmp_path, {"pwd": "hunter2-secret"})
    result = load(tmp_path, doc, parameter_files=[params])
    assert "hunter2-secret" not in repr(result)
    (gap,) = result.gaps
    assert "secure parameter 'pwd' is not read" in gap["message"]


def test_key_vault_reference_in_parameters_file_is_not_read(tmp_path: Path) -> None:
    doc = template([service("[parameters('name')]")], parameters={"name": {"type": "string"}})
    params = write_json(tmp_path, "p.json", {"parameters": {"name": {"reference": {
        "keyVault": {"id": "/subscriptions/x/.../vaults/kv"}, "secretName": "s"}}}})  # fmt: skip
    result = load(tmp_path, doc, parameter_files=[params])
    assert "Key Vault reference" in result.gaps[0]["message"]


def test_nullable_parameter_without_value_is_null(tmp_path: Path) -> None:
    doc = template(
        [service(properties={"tls": "[coalesce(parameters('tls'), createObject('v', true()))]"})],
        parameters={"tls": {"type": "object", "nullable": True}},
    )
    result = load(tmp_path, doc)
    assert result.resources[0]["properties"] == {"tls": {"v": True}}
    assert result.gaps == []


def test_language_version_2_symbolic_resources_and_existing(tmp_path: Path) -> None:
    doc = template(
        {
            "svc": {"existing": True, "type": "Microsoft.ApiManagement/service", "name": "apim1"},
            "backend": {
                "type": "Microsoft.ApiManagement/service/backends",
                "name": "[format('{0}/{1}', 'apim1', 'b1')]",
                "properties": {"url": "https://b1", "tls": {"validateCertificateChain": False}},
            },
        },
        languageVersion="2.0",
    )
    result = load(tmp_path, doc)
    assert [r["id"] for r in result.resources] == [f"{APIM}/apim1/backends/b1"]
    assert result.origins[f"{APIM}/apim1/backends/b1".lower()]["pointer"] == "/resources/backend"


def test_resource_copy_loop_with_copy_index(tmp_path: Path) -> None:
    api = {
        "type": "Microsoft.ApiManagement/service/apis",
        "name": "[concat('apim1/', parameters('apis')[copyIndex()])]",
        "copy": {"name": "apiLoop", "count": "[length(parameters('apis'))]"},
        "properties": {"path": "[concat('p', copyIndex(1))]"},
    }
    doc = template([api], parameters={"apis": {"type": "array", "defaultValue": ["a", "b", "c"]}})
    result = load(tmp_path, doc)
    assert [(r["name"], r["properties"]["path"]) for r in result.resources] == [
        ("a", "p1"), ("b", "p2"), ("c", "p3")]  # fmt: skip
    assert "copy" not in result.resources[0]


def test_copy_loop_with_unresolvable_count_is_a_gap(tmp_path: Path) -> None:
    api = {"type": "Microsoft.ApiManagement/service/apis", "name": "[concat('s/a', copyIndex())]",
           "copy": {"name": "l", "count": "[length(reference('x').items)]"}}  # fmt: skip
    result = load(tmp_path, template([api, service()]))
    assert [r["name"] for r in result.resources] == ["apim1"]
    (gap,) = result.gaps
    assert (gap["kind"], gap["what"], gap["pointer"]) == (
        "unsupported",
        "copy-loop",
        "/resources/0/copy",
    )


def test_property_and_variable_copy_loops(tmp_path: Path) -> None:
    host = "[variables('names')[copyIndex('hostnameConfigurations')]]"
    entry = {"type": "Proxy", "hostName": host, "negotiateClientCertificate": True}
    hosts = {
        "name": "hostnameConfigurations",
        "count": "[length(variables('names'))]",
        "input": entry,
    }
    doc = template(
        [service(properties={"copy": [hosts], "publisherName": "x"})],
        variables={"copy": [{"name": "names", "count": 2,
                             "input": "[concat('h', copyIndex('names'), '.example.com')]"}]},
    )  # fmt: skip
    props = load(tmp_path, doc).resources[0]["properties"]
    assert props == {
        "hostnameConfigurations": [
            {"type": "Proxy", "hostName": "h0.example.com", "negotiateClientCertificate": True},
            {"type": "Proxy", "hostName": "h1.example.com", "negotiateClientCertificate": True},
        ],
        "publisherName": "x",
    }


def test_conditions(tmp_path: Path) -> None:
    doc = template(
        [
            service("off", condition="[equals(parameters('env'), 'prod')]"),
            service("on", condition="[not(equals(parameters('env'), 'prod'))]"),
            service("literal-false", condition=False),
            service("unknown", condition="[reference('x').enabled]"),
        ],
        parameters={"env": {"type": "string", "defaultValue": "test"}},
    )
    result = load(tmp_path, doc)
    assert [r["name"] for r in result.resources] == ["on", "unknown"]
    assert [g["pointer"] for g in result.gaps] == ["/resources/3/condition"]
    assert "kept" in result.gaps[0]["message"]


def nested(scope: str | None, inner_name: str, **props: Any) -> dict[str, Any]:
    inner = template(
        [service(inner_name)],
        parameters={"svcName": {"type": "string"}},
        variables={"suffix": "-inner"},
    )
    properties: dict[str, Any] = {"mode": "Incremental", "template": inner, **props}
    if scope:
        properties["expressionEvaluationOptions"] = {"scope": scope}
    return {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01",
            "name": "[concat('nested-', uniqueString('x'))]", "properties": properties}  # fmt: skip


def test_nested_deployment_inner_scope(tmp_path: Path) -> None:
    deployment = nested(
        "inner",
        "[concat(parameters('svcName'), variables('suffix'))]",
        parameters={"svcName": {"value": "[toUpper(parameters('outerName'))]"}},
    )
    deployment["resourceGroup"] = "other-rg"
    doc = template(
        [deployment],
        parameters={"outerName": {"type": "string", "defaultValue": "apim"}},
        variables={"suffix": "-outer"},
    )
    result = load(tmp_path, doc)
    expected = (
        f"/subscriptions/{SUB}/resourceGroups/other-rg/providers/"
        "Microsoft.ApiManagement/service/APIM-inner"
    )
    assert [r["id"] for r in result.resources] == [expected]
    assert (
        result.origins[expected.lower()]["pointer"]
        == "/resources/0/properties/template/resources/0"
    )
    assert result.gaps == []


def test_nested_deployment_outer_scope_uses_the_parent_variables(tmp_path: Path) -> None:
    doc = template(
        [nested(None, "[concat('apim', variables('suffix'))]")], variables={"suffix": "-outer"}
    )
    assert [r["id"] for r in load(tmp_path, doc).resources] == [f"{APIM}/apim-outer"]


def test_nested_deployment_with_a_linked_template_is_a_gap(tmp_path: Path) -> None:
    linked = {"type": "Microsoft.Resources/deployments", "name": "linked",
              "properties": {"templateLink": {"uri": "https://example.com/t.json"}}}  # fmt: skip
    result = load(tmp_path, template([linked]))
    assert result.resources == []
    assert [(g["what"], g["pointer"]) for g in result.gaps] == [
        ("linked-template", "/resources/0/properties/templateLink")
    ]
    assert "https://example.com/t.json" in result.gaps[0]["message"]


def test_role_assignment_with_scope_on_a_vault(tmp_path: Path) -> None:
    assignment = {
        "type": ROLE,
        "name": "[guid(resourceId('Microsoft.KeyVault/vaults', 'kv1'), 'principal', 'role')]",
        "scope": "[format('Microsoft.KeyVault/vaults/{0}', 'kv1')]",
        "properties": {
            "roleDefinitionId": "[subscriptionResourceId("
            "'Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')]",
            "principalId": "principal",
        },
    }
    absolute = dict(
        assignment, name="fixed", scope="[resourceId('Microsoft.KeyVault/vaults', 'kv2')]"
    )
    at_group = dict(assignment, name="group-level")
    del at_group["scope"]
    result = load(tmp_path, template([assignment, absolute, at_group]))
    first, second, third = result.resources
    assert first["id"].startswith(f"{KV}/kv1/providers/{ROLE}/")
    assert first["type"] == ROLE
    assert first["properties"]["scope"] == f"{KV}/kv1"
    assert first["properties"]["roleDefinitionId"] == (
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/"
        "4633458b-17de-408a-b874-0445c86b69e6"
    )
    assert second["id"] == f"{KV}/kv2/providers/{ROLE}/fixed"
    assert second["properties"]["scope"] == f"{KV}/kv2"
    assert third["properties"]["scope"] == RG_ID
    assert "scope" not in first


def test_legacy_extension_forms_of_role_assignments(tmp_path: Path) -> None:
    top = {
        "type": "Microsoft.KeyVault/vaults/providers/roleAssignments",
        "name": "kv1/Microsoft.Authorization/ra1",
        "properties": {"principalId": "p"},
    }
    vault = {"type": "Microsoft.KeyVault/vaults", "name": "kv2", "resources": [
        {"type": "providers/roleAssignments", "name": "Microsoft.Authorization/ra2",
         "properties": {"principalId": "p", "scope": "explicit"}}]}  # fmt: skip
    resources = by_id(load(tmp_path, template([top, vault])))
    one = resources[f"{KV}/kv1/providers/{ROLE}/ra1"]
    assert (one["type"], one["name"], one["properties"]["scope"]) == (ROLE, "ra1", f"{KV}/kv1")
    assert resources[f"{KV}/kv2/providers/{ROLE}/ra2"]["properties"]["scope"] == "explicit"


def test_subscription_scope_template(tmp_path: Path) -> None:
    module = nested("inner", "apim-sub", parameters={})
    module["resourceGroup"] = "[variables('rg')]"
    doc = template(
        [{"type": "Microsoft.Resources/resourceGroups", "name": "[variables('rg')]"}, module],
        variables={"rg": "rg-apim"},
    )  # fmt: skip
    doc["$schema"] = (
        "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
    )
    ids = [r["id"] for r in load(tmp_path, doc, subscription="sub1").resources]
    assert ids == [
        "/subscriptions/sub1/resourceGroups/rg-apim",
        "/subscriptions/sub1/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/apim-sub",
    ]


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ({"name": "x"}, "no type"),
        ({"type": "Microsoft.ApiManagement/service"}, "no name"),
        ({"type": "Microsoft.ApiManagement/service/apis", "name": "only-one"}, "needs 2 name"),
        ({"type": "Microsoft.ApiManagement/service", "name": "a//b"}, "empty segment"),
        ("not an object", "not a resource object"),
    ],
)
def test_unusable_declarations_are_left_out_with_a_gap(
    tmp_path: Path, resource: Any, message: str
) -> None:
    result = load(tmp_path, template([resource, service()]))
    assert [r["name"] for r in result.resources] == ["apim1"]
    (gap,) = result.gaps
    assert gap["pointer"] == "/resources/0"
    assert message in gap["message"]


def test_escaped_brackets_and_cyclic_variables(tmp_path: Path) -> None:
    doc = template(
        [service(properties={"a": "[[literal]", "b": "[variables('x')]"})],
        variables={"x": "[variables('y')]", "y": "[variables('x')]"},
    )
    result = load(tmp_path, doc)
    assert result.resources[0]["properties"]["a"] == "[literal]"
    assert result.resources[0]["properties"]["b"] == "[variables('x')]"
    assert "refers to itself" in result.gaps[0]["message"]


def test_nested_copy_loops_cannot_exhaust_memory(tmp_path: Path) -> None:
    inner = {"name": "inner", "count": 800, "input": "[copyIndex('inner')]"}
    outer = {"name": "outer", "count": 800, "input": {"copy": [inner]}}
    result = load(tmp_path, template([service(properties={"copy": [outer]})]))
    items = result.resources[0]["properties"]["outer"]
    expanded = [item["inner"] for item in items if "inner" in item]
    assert sum(map(len, expanded)) <= 100_000 < 800 * 800
    assert items[-1] == {"copy": [inner]}  # kept as written once the budget is spent
    (gap,) = result.gaps
    assert "more than 100000 items" in gap["message"]
    assert gap["pointer"] == "/resources/0/properties/copy/0/input/copy/0/count"
