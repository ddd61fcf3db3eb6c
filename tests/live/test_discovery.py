"""Discovery of an estate through Resource Graph, against the fake: several subscriptions, one
the identity cannot read, tags, management groups, paging and throttling."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mtls_audit.errors import CollectionError
from mtls_audit.sources.azure.discovery import EstateScope, build_query, discover_instances
from mtls_audit.sources.azure.source import AzureOptions

from .credentials import TOKEN, FakeCredential
from .estate import estate_instance, subscription_id
from .fake_azure import FakeAzure, Fault
from .graph import GRAPH_PATH

SUBS = [subscription_id(n) for n in (1, 2, 3)]
FORBIDDEN = SUBS[2]


@pytest.fixture
def estate(fake: FakeAzure) -> dict[str, str]:
    """Five services over three subscriptions; the third is not readable. Name → subscription."""
    layout = {
        "apim-a1": (SUBS[0], "prod"),
        "apim-a2": (SUBS[0], "dev"),
        "apim-b1": (SUBS[1], "prod"),
        "apim-b2": (SUBS[1], "prod"),
        "apim-c1": (FORBIDDEN, "prod"),
    }
    fake.serve(
        *(
            estate_instance(fake.url, sub, name, tags={"env": env})
            for name, (sub, env) in layout.items()
        )
    )
    fake.forbidden_subscriptions = {FORBIDDEN}
    fake.graph.page_size = 2
    return {name: sub for name, (sub, _) in layout.items()}


def _discover(options: Callable[..., AzureOptions], scope: EstateScope) -> dict[str, object]:
    return discover_instances(scope, options(subscriptions=()), credential=FakeCredential(TOKEN))


def _names(found: dict[str, object]) -> list[str]:
    instances = found["instances"]
    assert isinstance(instances, list)
    return [i["name"] for i in instances]


def test_subscriptions_are_searched_in_one_paged_query_and_the_unreadable_one_is_a_gap(
    fake: FakeAzure, estate: dict[str, str], options: Callable[..., AzureOptions]
) -> None:
    found = _discover(options, EstateScope(subscriptions=tuple(SUBS)))

    assert _names(found) == ["apim-a1", "apim-a2", "apim-b1", "apim-b2"]
    gaps = found["gaps"]
    assert isinstance(gaps, list)
    assert [(g["kind"], g["subject"]) for g in gaps] == [
        ("forbidden", f"/subscriptions/{FORBIDDEN}")
    ]
    assert "cannot read it" in gaps[0]["message"]
    # Four services at two a page: two pages, the second asked for with the first's $skipToken,
    # then one query of the (two readable) subscriptions; nothing is listed per subscription.
    queries = fake.graph.queries
    assert [bool((q.get("options") or {}).get("$skipToken")) for q in queries] == [
        False, True, False,
    ]  # fmt: skip
    assert all(q["subscriptions"] == SUBS for q in queries)
    assert {s.method for s in fake.requests} == {"POST"}
    provenance = found["provenance"]
    assert isinstance(provenance, dict)
    assert provenance["query"] == build_query(EstateScope(subscriptions=tuple(SUBS)))
    assert provenance["pages"] == 3
    paths = [r["url"].split("?")[0] for r in provenance["requests"]]
    assert paths == ["/providers/Microsoft.ResourceGraph/resources"] * 3


def test_tags_select_and_every_readable_subscription_is_searched(
    estate: dict[str, str], options: Callable[..., AzureOptions]
) -> None:
    scope = EstateScope(all_subscriptions=True, tags=(("env", "prod"),))

    found = _discover(options, scope)

    assert _names(found) == ["apim-a1", "apim-b1", "apim-b2"]
    assert found["gaps"] == []  # all subscriptions: what cannot be read is not asked for


def test_a_management_group_and_a_query_of_ones_own(
    fake: FakeAzure, estate: dict[str, str], options: Callable[..., AzureOptions]
) -> None:
    fake.graph.management_groups = {"mg-health": [SUBS[1], FORBIDDEN]}
    query = "resources | where type =~ 'microsoft.apimanagement/service' | order by id asc"

    found = _discover(options, EstateScope(management_groups=("mg-health",), query=query))

    assert _names(found) == ["apim-b1", "apim-b2"]
    assert fake.graph.queries[0]["managementGroups"] == ["mg-health"]
    assert fake.graph.queries[0]["query"] == query


def test_a_throttled_query_is_retried_and_complete(
    fake: FakeAzure, estate: dict[str, str], options: Callable[..., AzureOptions]
) -> None:
    fake.faults.append(Fault(GRAPH_PATH, status=429, times=2, headers={"Retry-After": "1"}))

    found = _discover(options, EstateScope(subscriptions=tuple(SUBS)))

    assert _names(found) == ["apim-a1", "apim-a2", "apim-b1", "apim-b2"]
    provenance = found["provenance"]
    assert isinstance(provenance, dict)
    assert [r["status"] for r in provenance["requests"]][:3] == [429, 429, 200]


def test_a_failed_query_names_every_scope_it_covered(
    fake: FakeAzure, estate: dict[str, str], options: Callable[..., AzureOptions]
) -> None:
    fake.faults.append(Fault(GRAPH_PATH, status=403, code="AuthorizationFailed"))

    found = _discover(options, EstateScope(management_groups=("mg-a", "mg-b")))

    assert found["instances"] == []
    gaps = found["gaps"]
    assert isinstance(gaps, list)
    assert [g["subject"].rsplit("/", 1)[-1] for g in gaps] == ["mg-a", "mg-b"]
    assert {g["kind"] for g in gaps} == {"forbidden"}


@pytest.mark.parametrize(
    ("scope", "problem"),
    [
        (EstateScope(), "exactly one of"),
        (EstateScope(subscriptions=(SUBS[0],), all_subscriptions=True), "exactly one of"),
        (EstateScope(subscriptions=("not-a-guid",)), "not a subscription id"),
        (EstateScope(all_subscriptions=True, query="x", tags=(("a", "b"),)), "cannot be combined"),
    ],
)
def test_a_bad_scope_is_refused_before_any_request(
    fake: FakeAzure, options: Callable[..., AzureOptions], scope: EstateScope, problem: str
) -> None:
    with pytest.raises(CollectionError, match=problem):
        _discover(options, scope)
    assert fake.requests == []


def test_tag_values_are_quoted_as_kql_strings() -> None:
    query = build_query(EstateScope(all_subscriptions=True, tags=(("owner", "o'brien\\x"),)))
    assert "| where tags['owner'] =~ 'o\\'brien\\\\x'" in query
