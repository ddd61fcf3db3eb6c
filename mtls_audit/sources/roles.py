"""Built-in Azure role definitions the assessment knows, by name and GUID (FACTS §7 and the
generic Owner, Contributor, Reader, User Access Administrator). Their GUIDs are the same in every
tenant and cloud."""

from __future__ import annotations

BUILTIN_ROLES = {
    "key vault administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "key vault certificates officer": "a4417e6f-fecd-4de8-b567-7b0420556985",
    "key vault certificate user": "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba",
    "key vault secrets user": "4633458b-17de-408a-b874-0445c86b69e6",
    "key vault secrets officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "key vault reader": "21090545-7ca7-4776-b22c-e363652d74d2",
    "key vault contributor": "f25e0fa2-a7c8-4377-a976-54943a77a395",
    "owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "user access administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
}
"""Lower-case role name → role definition GUID."""

BUILTIN_ROLE_IDS = frozenset(BUILTIN_ROLES.values())


def role_definition_id(subscription: str, name: str) -> str | None:
    """The role definition id of a built-in role given by name (as Terraform allows)."""
    guid = BUILTIN_ROLES.get(name.strip().lower())
    if guid is None:
        return None
    return f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
