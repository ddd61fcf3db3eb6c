"""Secrets out of ARM resources and gap messages, counted by kind and remembered by place.

A :class:`Redactor` is used for one snapshot: every resource and every gap passes through it.
It remembers the JSON pointers of what it replaced in each resource, so that a gap about one of
those places (an expression the offline source could not resolve in a secret property) does not
quote its text.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from mtls_audit.redaction.names import (
    BY_TYPE,
    NAMED_VALUE_KINDS,
    REDACTED,
    SecretProperty,
    is_policy_kind,
    is_read_type,
    resource_kind,
    secret_key,
)
from mtls_audit.redaction.policy_text import redact_policy_text
from mtls_audit.redaction.text import literal, may_hold_secret, redact_text

JSON = dict[str, Any]


class Redactor:
    """Removes secrets from the resources and gaps of one snapshot."""

    def __init__(self, counts: Mapping[str, int] | None = None) -> None:
        self.counts: Counter[str] = Counter(counts or {})
        self.places: dict[str, set[str]] = {}
        """Per resource id (lower case): the pointers of the values replaced."""
        self._known: dict[tuple[str, str], tuple[str, Counter[str]]] = {}
        """Per (kind of scan, text): the text redacted and what was counted doing it."""

    # --- resources -----------------------------------------------------------------------

    def resource(self, resource: Mapping[str, Any]) -> JSON:
        """One ARM resource with every secret value replaced by the marker.

        Copy on write: the resource is never changed; what holds a replaced value is copied,
        and the rest is shared with it (most of a resource holds no secret)."""
        out: JSON = dict(resource)
        hits: set[str] = set()
        kind = resource_kind(out.get("type"))
        key = _key(out, "properties")
        props = out.get(key) if key is not None else None
        if key is not None and isinstance(props, dict):
            if not is_read_type(out.get("type")):
                props = self._mask(props, "/properties", "unread-type-property", hits)
            props = self._named_value(kind, props, hits)
            props = self._policy(kind, props, hits)
            out[key] = props
        for secret in BY_TYPE.get(kind, ()):
            out = self._at(out, secret.segments, "", secret, hits)
        out = self._walk(out, "", hits, in_ca_list=False)
        if hits:
            self.places.setdefault(str(out.get("id", "")).lower(), set()).update(hits)
        return out

    def resources(self, resources: Iterable[Mapping[str, Any]]) -> list[JSON]:
        return [self.resource(r) for r in resources]

    def _named_value(self, kind: str, props: JSON, hits: set[str]) -> JSON:
        """A named value's ``value`` is a secret unless ``secret`` is false or absent (ARM's
        default); anything else, an unresolved template expression included, counts as secret."""
        if kind not in NAMED_VALUE_KINDS:
            return props
        flag = _get(props, "secret")
        if flag in (None, False) or (isinstance(flag, str) and flag.strip().lower() == "false"):
            return props
        clean: JSON = _replaced(
            props,
            {
                key: self._hide(value, f"/properties/{key}", "named-value-secret", hits)
                for key, value in props.items()
                if key.lower() == "value"
            },
        )
        return clean

    def _policy(self, kind: str, props: JSON, hits: set[str]) -> JSON:
        if not is_policy_kind(kind):
            return props
        written = _get(props, "format") or _get(props, "contentformat")
        link = str(written or "").lower().endswith("-link")
        changed: JSON = {}
        # ``policyContent`` is the text's name in api-versions up to 2017-03-01.
        for key in [k for k in props if k.lower() in ("value", "policycontent")]:
            text = props[key]
            if not isinstance(text, str):
                continue
            if link and "?" in text and not text.endswith("?" + REDACTED):
                clean = text.split("?", 1)[0] + "?" + REDACTED  # a SAS token may sit there
                self.counts["policy-link-query"] += 1
            else:
                clean = text if link else self._once("policy", text, redact_policy_text)
            if clean != text:
                changed[key] = clean
                hits.add(_pointer("/properties", key))
        out: JSON = _replaced(props, changed)
        return out

    def _text(self, text: str) -> str:
        """:func:`redact_text` of a string value, scanned once per distinct text."""
        return self._once("text", text, redact_text) if may_hold_secret(text) else text

    def _once(self, scan: str, text: str, redact: Callable[[str, Counter[str]], str]) -> str:
        """``redact(text)``, done once per distinct text and ``scan``, with what it counted
        counted again at each use: a snapshot repeats its policy texts many times over (2,050
        policies with 264 distinct texts in the 20,000-operation benchmark)."""
        known = self._known.get((scan, text))
        if known is None:
            counted: Counter[str] = Counter()
            known = self._known[scan, text] = (redact(text, counted), counted)
        clean, counted = known
        self.counts.update(counted)
        return clean

    def _at(
        self, node: Any, path: tuple[str, ...], where: str, secret: SecretProperty, hits: set[str]
    ) -> Any:
        """``node`` with the values at ``path`` below it hidden (keys matched
        case-insensitively)."""
        if not path:
            return node
        head, rest = path[0], path[1:]
        changed: dict[Any, Any] = {}
        for key, value in _children(node):
            if head != "*" and str(key).lower() != head.lower():
                continue
            if head == "*" and not rest and str(key).lower() in secret.unless:
                continue
            place = _pointer(where, key)
            if rest:
                changed[key] = self._at(value, rest, place, secret, hits)
            else:
                changed[key] = self._hide(value, place, secret.label, hits)
        return _replaced(node, changed)

    def _walk(self, node: Any, where: str, hits: set[str], *, in_ca_list: bool) -> Any:
        """``node`` without secret keys at any depth, encoded certificates that are not public
        X.509 certificates, and secret-shaped values in any string."""
        changed: dict[Any, Any] = {}
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(value, str) and not (isinstance(key, str) and _special(key)):
                clean = self._text(value)
                if clean != value:
                    changed[key] = clean
                    hits.add(_pointer(where, key))
                continue
            name = key.lower() if isinstance(key, str) else ""
            if name and secret_key(name):
                changed[key] = self._hide(value, _pointer(where, key), name, hits)
            elif name == "encodedcertificate":
                if not (in_ca_list and _is_public_certificate(value)):
                    changed[key] = self._hide(value, _pointer(where, key), name, hits)
            elif isinstance(value, dict | list):
                inner = in_ca_list or name == "certificates"
                walked = self._walk(value, _pointer(where, key), hits, in_ca_list=inner)
                if walked is not value:
                    changed[key] = walked
        return _replaced(node, changed)

    def _mask(self, node: Any, where: str, label: str, hits: set[str]) -> Any:
        return _replaced(
            node,
            {
                key: self._hide(value, _pointer(where, key), label, hits)
                for key, value in _children(node)
            },
        )

    def _hide(self, value: Any, place: str, label: str, hits: set[str]) -> Any:
        """The marker for a literal string; containers hidden member by member; other
        values (null, booleans, numbers, named-value references) as they are."""
        if isinstance(value, dict | list):
            return self._mask(value, place, label, hits)
        if isinstance(value, str) and literal(value):
            self.counts[label] += 1
            hits.add(place)
            return REDACTED
        return value

    # --- gaps ----------------------------------------------------------------------------

    def gaps(
        self, gaps: Iterable[Mapping[str, Any]], origins: Mapping[str, Any] | None = None
    ) -> list[JSON]:
        """Gaps whose messages quote no secret: a gap about a place whose value was hidden
        says so instead of quoting it; any other message loses its secret-shaped values."""
        return [self.gap(gap, origins or {}) for gap in gaps]

    def gap(self, gap: Mapping[str, Any], origins: Mapping[str, Any]) -> JSON:
        out = dict(gap)
        message = out.get("message")
        if not isinstance(message, str):
            return out
        place = self._secret_place(out, origins)
        if place is not None:
            self.counts["gap-message"] += 1
            out["message"] = (
                f"the value at {place} is a secret, so it is not quoted; it could not be "
                f"resolved ({out.get('kind', 'gap')})"
            )
        else:
            out["message"] = redact_text(message, self.counts)
        return out

    def _secret_place(self, gap: Mapping[str, Any], origins: Mapping[str, Any]) -> str | None:
        """The pointer (within its resource) of the hidden value a gap is about, if any."""
        subject = str(gap.get("subject", "")).lower()
        places = self.places.get(subject)
        if not places:
            return None
        inner = gap.get("property")  # the offline source names it for template gaps
        if not isinstance(inner, str):
            inner = _inner_pointer(gap, origins.get(subject))
        if not inner:
            return None
        for place in places:
            if place == inner or place.startswith(inner + "/") or inner.startswith(place + "/"):
                return inner
        return None


def _inner_pointer(gap: Mapping[str, Any], origin: Any) -> str | None:
    """The pointer inside its resource of what a gap is about, from the file pointers of the
    gap and of the resource's declaration."""
    pointer = gap.get("pointer")
    if not isinstance(origin, Mapping) or not isinstance(pointer, str):
        return None
    base = str(origin.get("pointer", ""))
    if origin.get("file") != gap.get("file") or not pointer.startswith(base + "/"):
        return None
    return pointer[len(base) :]


def _replaced(node: Any, values: Mapping[Any, Any]) -> Any:
    """``node`` itself if no value in ``values`` differs from its own (by identity), else a
    copy of it holding them (``values`` maps dict keys or list indexes)."""
    if not values or all(node[key] is value for key, value in values.items()):
        return node
    copy = dict(node) if isinstance(node, dict) else list(node)
    for key, value in values.items():
        copy[key] = value
    return copy


@lru_cache(maxsize=4096)  # keys come from the input: bounded
def _special(key: str) -> bool:
    """A key (any case) whose value :meth:`Redactor._walk` hides rather than reads as text."""
    name = key.lower()
    return name == "encodedcertificate" or secret_key(name)


def _key(node: Mapping[str, Any], name: str) -> str | None:
    for key in node:
        if key.lower() == name:
            return key
    return None


def _get(node: Mapping[str, Any], name: str) -> Any:
    return next((v for k, v in node.items() if k.lower() == name), None)


def _children(node: Any) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        return list(node.items())
    if isinstance(node, list):
        return list(enumerate(node))
    return []


def _pointer(where: str, key: object) -> str:
    """The JSON pointer of ``key`` (a dict key or list index) in the node at ``where``."""
    return f"{where}/{str(key).replace('~', '~0').replace('/', '~1')}"


def _is_public_certificate(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    from cryptography import x509

    from mtls_audit.certs.facts import any_serial

    try:
        with any_serial():
            x509.load_der_x509_certificate(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return False
    return True
