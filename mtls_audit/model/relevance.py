"""Which gaps can change a verdict: only those about data a rule reads.

A template expression that cannot be resolved offline is recorded by the source as a gap on
the property that holds it (the gap's ``property``, a JSON pointer inside the resource). When
no rule reads that property — the publisher's e-mail, a location from ``deployment()``, a
vault's ``tenantId`` from ``tenant()``, anything of a resource type the model does not read —
the gap cannot make a result unknown, so it does not mark the evidence incomplete; the evidence
still lists it among the ignored gaps, and the snapshot keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

_APIM = "microsoft.apimanagement/service"
SERVICE_CHILDREN = (
    "apis",
    "apis/operations",
    "products",
    "products/apis",
    "products/apilinks",
    "policies",
    "apis/policies",
    "apis/operations/policies",
    "products/policies",
    "workspaces",
    "workspaces/policies",
    "policyfragments",
    "backends",
    "certificates",
    "namedvalues",
    "subscriptions",
    "gateways",
    "gateways/hostnameconfigurations",
    "gateways/certificateauthorities",
)
"""Child resource types of an APIM service the model reads (lower case, below the service)."""
READ_TYPES = frozenset(
    {
        _APIM,
        *(f"{_APIM}/{child}" for child in SERVICE_CHILDREN),
        "microsoft.keyvault/vaults",
        "microsoft.authorization/roleassignments",
        "microsoft.authorization/roledefinitions",
    }
)
"""Resource types the model reads (every other type only counts as "found")."""
NOT_READ = (
    "/location",
    "/tags",
    "/tags/*",
    "/zones",
    "/zones/*",
    "/properties/publisheremail",
    "/properties/publishername",
    "/properties/notificationsenderemail",
    "/properties/description",
    "/properties/tenantid",
    "/properties/accesspolicies/*/tenantid",
    "/properties/hostnameconfigurations/*/certificatepassword",
)
"""Properties of the read types that no rule reads (lower case; ``*`` is one array index)."""


def matters(gap: Mapping[str, Any], types: Mapping[str, str]) -> bool:
    """Whether a gap is about data a rule may read. ``types`` maps lower-case resource ids to
    lower-case types. A gap not tied to one property of one known resource always matters."""
    prop = gap.get("property")
    subject = str(gap.get("subject") or "").rstrip("/").lower()
    rtype = types.get(subject)
    if not isinstance(prop, str) or rtype is None:
        return True
    if rtype not in READ_TYPES:
        return False
    path = prop.lower()
    return not any(
        fnmatchcase(path, pattern) and path.count("/") == pattern.count("/") for pattern in NOT_READ
    )
