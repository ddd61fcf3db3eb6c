"""Redaction: what is a secret, and its removal before anything is written or quoted.

Every path goes through here: snapshots as they are built from any source (offline files,
templates, the live collector, as each body arrives) and as they are read, gap messages,
provenance URLs, policy citations in rule results, and the ``policy`` command. A secret value
is replaced by :data:`REDACTED`; its key, attribute or element stays, so rules still see that
a value was there. ``provenance.redactions`` counts what was removed, by kind, never the value.

- :mod:`.names`: the tables of secret-bearing places (ARM types and properties, policy
  constructs, credential names);
- :mod:`.policy_text`: policy text, by construct;
- :mod:`.text`: any text, by the shape of a value;
- :mod:`.resources`: ARM resources and gaps.
"""

from mtls_audit.redaction.names import REDACTED, secret_attribute, secret_name
from mtls_audit.redaction.policy_text import redact_policy_text
from mtls_audit.redaction.resources import Redactor
from mtls_audit.redaction.text import redact_text

__all__ = [
    "REDACTED",
    "Redactor",
    "redact_policy_text",
    "redact_text",
    "secret_attribute",
    "secret_name",
]
