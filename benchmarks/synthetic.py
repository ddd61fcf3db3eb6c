"""A synthetic large API Management instance, for benchmarks.

:func:`make_instance` returns a snapshot v1 document shaped like the bundled sample (the same
kinds of resources, in ARM wire format) but as large as asked. Policies come from the templates
in :mod:`benchmarks.synthetic_policies`, sound and broken; each API belongs to a team whose
backend, fragment and limits fill the template, so many policies are identical, as in real
estates. The same seed gives the same document, byte for byte.

    python benchmarks/synthetic.py OUT.json [--apis N] [--operations N] [--policies N]
                                            [--fragments N] [--seed N]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import synthetic_estate as estate
from benchmarks import synthetic_policies as templates
from mtls_audit import snapshot

JSON = dict[str, Any]

COLLECTED_AT = "2026-11-20T09:00:00Z"


def _teams(
    g: estate.Estate,
    count: int,
    backends: list[str],
    fragments: list[str],
    certificates: list[tuple[str, str]],
) -> list[dict[str, str]]:
    """Template values per team; fragments are skewed so that a few are included everywhere."""
    weights = [1.0 / (rank + 1) for rank in range(len(fragments))]
    return [
        {
            "backend": g.rng.choice(backends),
            "fragment": g.rng.choices(fragments, weights)[0],
            "certificate": g.rng.choice(certificates)[0],
            "certificate_thumbprint": g.rng.choice(certificates)[1],
            "thumbprint": g.thumbprint(),
            "host": f"legacy-{team}.internal.example",
            "calls": str(g.rng.choice((100, 300, 600, 1200))),
            "revocation": g.rng.choice(("true", "false")),
        }
        for team in range(count)
    ]


def _apis(
    g: estate.Estate,
    operations: int,
    policies: int,
    products: list[str],
    teams: list[dict[str, str]],
    apis: int,
) -> tuple[list[str], list[str]]:
    """APIs with their operations, product links and ``policies`` API-scope policies."""
    api_ids = [f"{g.service}/apis/api-{i:04d}" for i in range(apis)]
    per_api = [1] * apis
    for _ in range(operations - apis):
        per_api[g.rng.randrange(apis)] += 1
    with_policy = set(g.rng.sample(range(apis), policies))
    weights = [t.weight for t in templates.API_TEMPLATES]
    operation_ids = []
    for index, api_id in enumerate(api_ids):
        team, name = teams[index % len(teams)], f"api-{index:04d}"
        g.child(
            f"apis/{name}",
            "apis",
            {
                "displayName": f"API {index:04d}",
                "path": f"svc/{index:04d}",
                "apiRevision": "1",
                "isCurrent": True,
                "subscriptionRequired": True,
                "serviceUrl": f"https://{team['backend']}.internal.example/api",
                "protocols": ["http", "https"] if index % 37 == 11 else ["https"],
            },
        )
        for product in sorted({products[index % len(products)], g.rng.choice(products)}):
            g.child(f"products/{product}/apiLinks/{name}", "products/apiLinks", {"apiId": api_id})
        for op in range(per_api[index]):
            g.child(
                f"apis/{name}/operations/op-{op:03d}",
                "apis/operations",
                {
                    "displayName": f"Operation {op}",
                    "method": ("GET", "POST", "PUT", "DELETE")[op % 4],
                    "urlTemplate": f"/resources/{op}",
                    "templateParameters": [],
                },
            )
            operation_ids.append(f"apis/{name}/operations/op-{op:03d}")
        if index in with_policy:
            shape = g.rng.choices(templates.API_TEMPLATES, weights)[0]
            g.policy(f"apis/{name}", "apis", templates.render(shape, team), shape.fmt)
    return api_ids, operation_ids


def _operation_policies(g: estate.Estate, operation_ids: list[str], count: int) -> None:
    weights = [t.weight for t in templates.OPERATION_TEMPLATES]
    for path in sorted(g.rng.sample(operation_ids, count)):
        shape = g.rng.choices(templates.OPERATION_TEMPLATES, weights)[0]
        values = {
            "calls": str(g.rng.choice((10, 30, 60))),
            "duration": str(g.rng.choice((60, 300))),
        }
        g.policy(path, "apis/operations", templates.render(shape, values), shape.fmt)


def make_instance(
    *,
    apis: int = 1000,
    operations: int = 20000,
    policies: int = 2000,
    fragments: int = 50,
    seed: int = 1,
) -> JSON:
    """A snapshot v1 document of one large synthetic APIM instance, the same for the same seed.

    ``policies`` counts policy documents at every scope (global, products, APIs, operations);
    fragments are counted apart. Raises ValueError for counts that cannot be laid out.
    """
    if apis < 1 or fragments < 1 or operations < apis:
        raise ValueError("need apis >= 1, fragments >= 1 and operations >= apis")
    product_count = max(1, min(25, apis // 40))
    api_policies = min(apis, (policies - product_count) // 2)
    operation_policies = policies - 1 - product_count - api_policies
    if api_policies < 0 or not 0 <= operation_policies <= operations:
        raise ValueError(
            f"cannot lay out {policies} policies over {product_count} products, {apis} APIs "
            f"and {operations} operations"
        )
    g = estate.Estate(seed)
    estate.service(g, seed)
    certificates = estate.certificates(g, max(2, apis // 100))
    backends = estate.backends(g, max(1, apis // 20), certificates)
    fragment_names = estate.fragments(g, fragments)
    products = estate.products(g, product_count)
    teams = _teams(g, max(1, apis // 25), backends, fragment_names, certificates)
    api_ids, operation_ids = _apis(g, operations, api_policies, products, teams, apis)
    _operation_policies(g, operation_ids, operation_policies)
    estate.surroundings(g, products, api_ids)
    provenance: JSON = {
        "source": "sample",
        "tool": {"name": "mtls-audit", "version": "0.1.0"},
        "collected_at": COLLECTED_AT,
        "finished_at": COLLECTED_AT,
        "inputs": [{"kind": "synthetic", "seed": seed}],
        "api_versions": {"Microsoft.ApiManagement": "2024-05-01"},
        "scope": {"subscriptions": [g.subscription], "services": [g.service]},
    }
    keyvault = {g.vault_url: {"certificates": g.vault_certificates}}
    return snapshot.build(provenance=provenance, resources=g.resources, keyvault=keyvault)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic large snapshot.")
    parser.add_argument("out", type=Path, help="where to write the snapshot JSON")
    parser.add_argument("--apis", type=int, default=1000)
    parser.add_argument("--operations", type=int, default=20000)
    parser.add_argument("--policies", type=int, default=2000)
    parser.add_argument("--fragments", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        document = make_instance(
            apis=args.apis,
            operations=args.operations,
            policies=args.policies,
            fragments=args.fragments,
            seed=args.seed,
        )
    except ValueError as exc:
        parser.error(str(exc))
    digest = snapshot.write(document, args.out)
    print(f"{args.out}: {len(document['resources'])} resources, sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
