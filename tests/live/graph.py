"""Azure Resource Graph as the fake serves it: the few query shapes mtls-audit sends, evaluated
over the resources the fake serves, and paged with ``$skipToken``.

Like Resource Graph, it answers only from subscriptions the identity can read, silently, and
a query across no subscription or management group covers every readable subscription. It
understands ``resources`` and ``resourcecontainers`` (subscriptions), ``where type =~ '…'``,
``where tags['…'] =~ '…'``, ``project`` and ``order by id asc``; any other clause is a 400, so a
test can never pass on a query the fake did not really evaluate.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fake_azure import FakeAzure

Json = dict[str, Any]
GRAPH_PATH = "/providers/microsoft.resourcegraph/resources"
_STRING = r"'((?:[^'\\]|\\.)*)'"
_TYPE = re.compile(rf"where type =~ {_STRING}")
_TAG = re.compile(rf"where tags\[{_STRING}\] =~ {_STRING}")
_PROJECT = re.compile(r"project ([\w, ]+)")


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


class FakeGraph:
    def __init__(self, fake: FakeAzure) -> None:
        self._fake = fake
        self.management_groups: dict[str, list[str]] = {}  # id → its subscriptions
        self.page_size = 1000
        self.queries: list[Json] = []  # every request body, as sent

    def answer(self, body: Json) -> tuple[int, Json]:
        from .fake_azure import error

        self.queries.append(body)
        try:
            rows = self._evaluate(str(body.get("query", "")), self._subscriptions(body))
        except ValueError as exc:
            return 400, error("BadRequest", str(exc))
        options = body.get("options") or {}
        start = int(base64.b64decode(options["$skipToken"])) if options.get("$skipToken") else 0
        end = start + min(int(options.get("$top") or 100), self.page_size)
        page: Json = {
            "totalRecords": len(rows),
            "count": len(rows[start:end]),
            "resultTruncated": "false",
            "data": rows[start:end],
        }
        if end < len(rows):
            page["$skipToken"] = base64.b64encode(str(end).encode()).decode()
        return 200, page

    def _subscriptions(self, body: Json) -> set[str]:
        known = {str(r["id"]).lower().split("/")[2] for r in self._fake.resources()}
        if body.get("subscriptions"):
            asked = {str(s).lower() for s in body["subscriptions"]}
        elif body.get("managementGroups"):
            asked = {s.lower() for g in body["managementGroups"] for s in self.management_groups[g]}
        else:
            asked = known
        return {s for s in asked if self._fake.readable(s)}

    def _evaluate(self, query: str, subscriptions: set[str]) -> list[Json]:
        table, *clauses = (part.strip() for part in query.split("|"))
        rows = self._table(table, subscriptions)
        for clause in clauses:
            rows = self._apply(clause, rows)
        return rows

    def _table(self, table: str, subscriptions: set[str]) -> list[Json]:
        if table == "resourcecontainers":
            return [
                {"id": f"/subscriptions/{s}", "type": "microsoft.resources/subscriptions",
                 "subscriptionId": s, "tags": {}}
                for s in sorted(subscriptions)
            ]  # fmt: skip
        if table != "resources":
            raise ValueError(f"the fake has no table {table!r}")
        rows = []
        for resource in self._fake.resources():
            parts = str(resource["id"]).split("/")
            if parts[2].lower() not in subscriptions or "Microsoft.Authorization" in parts:
                continue
            rows.append({
                "id": resource["id"],
                "name": resource.get("name"),
                "type": str(resource["type"]).lower(),
                "subscriptionId": parts[2],
                "resourceGroup": parts[4].lower() if len(parts) > 4 else "",
                "location": resource.get("location"),
                "tags": resource.get("tags") or {},
            })  # fmt: skip
        return rows

    def _apply(self, clause: str, rows: list[Json]) -> list[Json]:
        if match := _TYPE.fullmatch(clause):
            wanted = _unquote(match[1]).lower()
            return [r for r in rows if r["type"].lower() == wanted]
        if match := _TAG.fullmatch(clause):
            key, value = _unquote(match[1]), _unquote(match[2]).lower()
            return [r for r in rows if str(r["tags"].get(key, "")).lower() == value]
        if match := _PROJECT.fullmatch(clause):
            names = [n.strip() for n in match[1].split(",")]
            return [{n: r.get(n) for n in names} for r in rows]
        if clause == "order by id asc":
            return sorted(rows, key=lambda r: str(r["id"]).lower())
        raise ValueError(f"the fake cannot evaluate {clause!r}")
