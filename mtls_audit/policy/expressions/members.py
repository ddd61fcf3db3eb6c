"""Member access, method calls and constructors over symbolic values (see ``values``).

Only what certificate checks use is modelled: the client certificate and its fields, request
headers that carry a certificate, ``context.Deployment.Certificates``, string comparisons and
literal string sets. Anything else becomes an :class:`~values.Opaque` value that remembers its
source text and which certificate it depends on.
"""

from __future__ import annotations

from collections.abc import Callable

from mtls_audit.policy.expressions.atoms import (
    CONTAINS_KINDS,
    REQUEST,
    Atom,
    AtomKind,
    header_source,
    is_certificate_header,
    looks_like_thumbprint,
)
from mtls_audit.policy.expressions.logic import FALSE, TRUE, Formula, Var, and_, not_, or_
from mtls_audit.policy.expressions.values import (
    HEADER,
    HEADER_DATA,
    HEADER_VALUES,
    STRING_FIELDS,
    TIME_FIELDS,
    Bool,
    Cert,
    Choice,
    Deployment,
    Field,
    Found,
    Leaf,
    Now,
    Null,
    Number,
    Opaque,
    Ordering,
    Path,
    Site,
    Text,
    TextSet,
    Throw,
    Value,
    equality,
    field_equals,
    in_deployment,
    source_of,
    unknown,
)

_CERT_FIELDS = {
    "Thumbprint": "thumbprint",
    "Issuer": "issuer",
    "Subject": "subject",
    "SerialNumber": "serial",
    "NotAfter": "not_after",
    "NotBefore": "not_before",
    "IssuerName": "issuer-name",
    "SubjectName": "subject-name",
}
_CERT_METHODS = {"GetCertHashString": "thumbprint", "GetSerialNumberString": "serial"}
_FOLDS = {
    "ToUpper": "upper",
    "ToUpperInvariant": "upper",
    "ToLower": "lower",
    "ToLowerInvariant": "lower",
}
_DEPLOYMENT_MEMBERS = {
    ("dictionary", "Values"): "values",
    ("dictionary", "Keys"): "keys",
    ("item", "Value"): "certificate",
    ("item", "Key"): "thumbprint",
    ("certificate", "Thumbprint"): "thumbprint",
}
_NOW = frozenset({"DateTime.Now", "DateTime.UtcNow", "DateTimeOffset.Now", "DateTimeOffset.UtcNow"})
_HEADERS = "context.Request.Headers"
_DECODERS = frozenset({"FromBase64String", "UrlDecode", "UnescapeDataString", "GetString"})


def resolve_path(path: str, site: Site) -> Value:
    """A dotted name: the client certificate, the deployment's certificates, now, or a Path."""
    path = path.removeprefix("System.")
    if path == "context.Request.Certificate":
        cert_null: Formula = Var(Atom(AtomKind.CERT_NULL, REQUEST), site.span)
        return Choice(cert_null, Null(), Cert(REQUEST))
    if path == "context.Deployment.Certificates":
        return Deployment("dictionary")
    if path in _NOW:
        return Now()
    return Path(path)


def skipped(target: Null, conditional: bool) -> Value:
    """Accessing a member of null: it throws, unless a ``?.`` in the chain skips the access."""
    return Null(chained=True) if conditional or target.chained else Throw()


def member(target: Leaf, name: str, conditional: bool, site: Site) -> Value:
    """``target.name`` (``target?.name`` when ``conditional``)."""
    if isinstance(target, Null):
        return skipped(target, conditional)
    if isinstance(target, Path):
        return resolve_path(f"{target.path}.{name}", site)
    if isinstance(target, Cert) and name in _CERT_FIELDS:
        return Field(target.source, _CERT_FIELDS[name])
    if isinstance(target, Field) and target.name.endswith("-name") and name == "Name":
        return Field(target.source, target.name.removesuffix("-name"))
    if isinstance(target, Deployment) and (target.level, name) in _DEPLOYMENT_MEMBERS:
        return Deployment(_DEPLOYMENT_MEMBERS[target.level, name])
    if isinstance(target, Text) and name == "Length" and target.value is not None:
        return Number(len(target.value))
    return unknown(site, target)


def _ignore_case(comparison: Leaf) -> bool | None:
    """``StringComparison.OrdinalIgnoreCase`` and friends; None for an unknown comparison."""
    if isinstance(comparison, Bool) and comparison.formula in (TRUE, FALSE):
        return comparison.formula == TRUE  # string.Compare(a, b, ignoreCase)
    if isinstance(comparison, Path):
        last = comparison.path.rsplit(".", 1)[-1]
        if last.endswith("IgnoreCase"):
            return True
        if last in ("Ordinal", "InvariantCulture", "CurrentCulture"):
            return False
    return None


def _compared(left: Leaf, right: Leaf, comparison: Leaf | None, site: Site) -> Value:
    ignore_case = False if comparison is None else _ignore_case(comparison)
    if ignore_case is None:
        return unknown(site, left, right)
    equal = equality(left, right, site, ignore_case)
    return unknown(site, left, right) if equal is None else Bool(equal)


def call(target: Leaf, name: str, args: list[Leaf], conditional: bool, site: Site) -> Value:
    """``target.name(args)``; static methods arrive with a :class:`Path` target."""
    if isinstance(target, Null):
        return skipped(target, conditional)
    if isinstance(target, Path):
        return _static(target.path, name, args, site)
    if isinstance(target, Cert):
        if name in ("Verify", "VerifyNoRevocation") and not args:
            kind = AtomKind.CHAIN_VALID if name == "Verify" else AtomKind.CHAIN_VALID_NO_REVOCATION
            return Bool(Var(Atom(kind, target.source), site.span))
        if name in _CERT_METHODS and not args:
            return Field(target.source, _CERT_METHODS[name])
    if isinstance(target, Field | Deployment) and name in _FOLDS and not args:
        if isinstance(target, Deployment):
            return target
        if target.name in STRING_FIELDS or target.name == HEADER:
            return Field(target.source, target.name, _FOLDS[name])
    if name == "Equals" and len(args) in (1, 2):
        return _compared(target, args[0], args[1] if len(args) == 2 else None, site)
    if name == "CompareTo" and isinstance(target, Field) and target.name in TIME_FIELDS:
        return Ordering(target, args[0]) if len(args) == 1 else unknown(site, target)
    if name == "Contains" and args:
        return _contains(target, args, site)
    if isinstance(target, Field) and target.name in CONTAINS_KINDS and args:
        if name in ("StartsWith", "EndsWith"):
            return _contains(target, args, site)
        if name == "IndexOf":
            position = _contains(target, args, site)
            return Found(position.formula) if isinstance(position, Bool) else position
    dictionary = isinstance(target, Deployment) and target.level == "dictionary"
    if dictionary and args and name in ("ContainsKey", "TryGetValue"):
        if isinstance(args[0], Null):
            return Throw()
        found = in_deployment(args[0], site)
        return unknown(site, target, args[0]) if found is None else Bool(found)
    if isinstance(target, Field) and target.name == HEADER_VALUES and name in _FIRST and not args:
        return Field(target.source, HEADER)  # APIM gives one value per header
    if isinstance(target, Field) and target.name in (HEADER, HEADER_DATA, HEADER_VALUES):
        return Field(target.source, HEADER_DATA)  # Replace, Trim, Substring, … of a header
    if isinstance(target, Text):
        return _text_method(target, name, args, site)
    return unknown(site, target, *args)


def _contains(target: Leaf, args: list[Leaf], site: Site) -> Value:
    value = args[0]
    found: Formula | None = None
    if isinstance(target, TextSet):
        comparer = _ignore_case(args[1]) if len(args) > 1 else False
        if comparer is not None:
            found = in_text_set(target, value, site, comparer)
    elif isinstance(value, Null):
        return Throw()  # string.Contains(null)
    elif isinstance(target, Field) and target.name in CONTAINS_KINDS and isinstance(value, Text):
        comparer = _ignore_case(args[1]) if len(args) > 1 else False
        if comparer is not None:
            found = _name_contains(target, value, site, comparer)
    elif isinstance(target, Text) and isinstance(value, Field):
        found = thumbprint_in_text(target, value, site)
    elif isinstance(target, Text) and isinstance(value, Text) and len(args) == 1:
        if target.value is not None and value.value is not None:
            found = TRUE if value.value in target.value else FALSE
    elif isinstance(target, Deployment) and target.level == "keys":
        found = in_deployment(value, site)
    return unknown(site, target, *args) if found is None else Bool(found)


def _name_contains(name: Field, text: Text, site: Site, ignore_case: bool) -> Formula:
    """A substring test of the subject or issuer (``Contains``, ``StartsWith``, ``EndsWith``,
    ``IndexOf``): all are read as "contains", a weak pin whichever end it anchors."""
    literal = text.value
    sensitive = not name.fold and not ignore_case
    if literal is not None and name.fold and not ignore_case:
        folded = literal.upper() if name.fold == "upper" else literal.lower()
        if folded != literal:
            return FALSE
    pin = text.raw if literal is None else ""
    kind = CONTAINS_KINDS[name.name]
    return Var(Atom(kind, name.source, literal, sensitive, pin), site.span)


def _text_method(text: Text, name: str, args: list[Leaf], site: Site) -> Value:
    """Constant folding of string methods on literals (``"A,B".Split(',')`` and the like); on
    an unknown literal (an unresolved placeholder) the result stays unknown."""
    literal_args = [a.value for a in args if isinstance(a, Text) and a.value is not None]
    if len(literal_args) != len(args):
        return unknown(site, *args)
    value = text.value
    if name == "Split" and len(args) == 1:
        if value is None:
            return TextSet((text,))
        return TextSet(tuple(Text(part, part) for part in value.split(literal_args[0])))
    folds: dict[str, Callable[[str], str]] = {
        "ToUpper": str.upper,
        "ToUpperInvariant": str.upper,
        "ToLower": str.lower,
        "ToLowerInvariant": str.lower,
        "Trim": str.strip,
        "ToString": str,
    }
    if name in folds and not args:
        return Text(text.raw, None if value is None else folds[name](value))
    if name == "Replace" and len(args) == 2:
        old, new = literal_args
        return Text(text.raw, None if value is None else value.replace(old, new))
    return unknown(site)


def _static(path: str, name: str, args: list[Leaf], site: Site) -> Value:
    path = path.removeprefix("System.")
    if path in ("string", "String", "StringComparer.Ordinal", "StringComparer.OrdinalIgnoreCase"):
        if name == "Equals" and len(args) in (2, 3):
            comparison = args[2] if len(args) == 3 else None
            if path.startswith("StringComparer"):
                comparison = Path(path)
            return _compared(args[0], args[1], comparison, site)
        if name in ("IsNullOrEmpty", "IsNullOrWhiteSpace") and len(args) == 1:
            return _is_blank(args[0], site)
        if name == "Compare" and len(args) in (2, 3):
            ignore_case = False if len(args) == 2 else _ignore_case(args[2])
            if ignore_case is not None:
                return Ordering(args[0], args[1], ignore_case)
    if path == "DateTime" and name == "Compare" and len(args) == 2:
        return Ordering(args[0], args[1])
    if path == _HEADERS and name == "GetValueOrDefault" and args:
        return _header(args, site)
    if path == _HEADERS and name in ("TryGetValue", "ContainsKey") and args:
        values = header_values(args[0], site)
        present = values.cond if isinstance(values, Choice) else None
        return unknown(site) if present is None else Bool(not_(present))
    if path in ("string", "String") and name == "Join" and len(args) == 2:
        joined = args[1]
        if isinstance(joined, Field) and joined.name == HEADER_VALUES:
            return Field(joined.source, HEADER)  # one value (APIM joins repeated headers)
    if name in _DECODERS and len(args) == 1:
        return _decoded(name, args[0], site)
    return unknown(site, *args)


def _is_blank(value: Leaf, site: Site) -> Value:
    if isinstance(value, Null):
        return Bool(TRUE)
    if isinstance(value, Text) and value.value is not None:
        return Bool(TRUE if not value.value.strip() else FALSE)
    if isinstance(value, Field) and value.name == HEADER:
        return Bool(FALSE)  # a header's presence is the choice around this value
    return unknown(site, value)


def header_values(name: Leaf, site: Site) -> Value:
    """``context.Request.Headers[name]``: the header's values, which throws when the header is
    absent (``KeyNotFoundException``: on-error, a 500, rejects the request)."""
    if not isinstance(name, Text) or name.value is None:
        return unknown(site)
    if not is_certificate_header(name.value):
        return Opaque(site.text)
    source = header_source(name.value)
    absent = Var(Atom(AtomKind.CERT_NULL, source), site.span)
    return Choice(absent, Throw(), Field(source, HEADER_VALUES))


_FIRST = frozenset(
    {"First", "FirstOrDefault", "Last", "LastOrDefault", "Single", "SingleOrDefault"}
)


def _header(args: list[Leaf], site: Site) -> Value:
    """``Headers.GetValueOrDefault(name[, default])``; a certificate header may be absent,
    which is CERT_NULL of the header's source."""
    header = args[0]
    if not isinstance(header, Text) or header.value is None:
        return unknown(site)
    if not is_certificate_header(header.value):
        return Opaque(site.text)
    source = header_source(header.value)
    absent: Value = args[1] if len(args) > 1 else Null()
    return Choice(Var(Atom(AtomKind.CERT_NULL, source), site.span), absent, Field(source, HEADER))


def _decoded(name: str, value: Leaf, site: Site) -> Value:
    """Decoding a header keeps its source (``Convert.FromBase64String``, ``UrlDecode``, …)."""
    if isinstance(value, Null):
        return Null() if name == "UrlDecode" else Throw()
    if isinstance(value, Field) and value.name in (HEADER, HEADER_DATA):
        return Field(value.source, HEADER_DATA)
    if isinstance(value, Text):
        return value
    return unknown(site, value)


def construct(type_name: str, args: list[Leaf], site: Site) -> Value:
    """``new X509Certificate2(bytes)``: a certificate read from a header keeps its source."""
    if type_name.rsplit(".", 1)[-1] != "X509Certificate2" or not args:
        return unknown(site, *args)
    data = args[0]
    if isinstance(data, Null) or (isinstance(data, Text) and data.value == ""):
        return Throw()
    if isinstance(data, Field) and data.name in (HEADER, HEADER_DATA):
        return Cert(data.source)
    if isinstance(data, Cert):
        return data
    return Opaque(site.text, source_of(data))


def thumbprint_in_text(text: Text, field: Field, site: Site) -> Formula | None:
    """``"A…, B…".Contains(cert.Thumbprint)``: a substring test, so every 40-hex-digit window
    of the literal is a thumbprint that passes."""
    if field.name != "thumbprint" or field.source != REQUEST:
        return None
    if text.value is None:
        return Var(Atom(AtomKind.THUMBPRINT_EQ, field.source, None, True, text.raw), site.span)
    value = text.value
    windows = {value[i : i + 40] for i in range(len(value) - 39)}
    matches = [
        field_equals(field, Text(window, window), site, False)
        for window in sorted(windows)
        if looks_like_thumbprint(window)
    ]
    return or_(*(match for match in matches if match is not None))


def in_text_set(items: TextSet, value: Leaf, site: Site, ignore_case: bool) -> Formula | None:
    """``new[] {"A", "B"}.Contains(value)``: a disjunction of equalities."""
    parts = [equality(value, item, site, ignore_case or items.ignore_case) for item in items.items]
    if any(part is None for part in parts):
        return None
    kept = items.keep or (TRUE,) * len(parts)
    return or_(*(and_(k, part) for k, part in zip(kept, parts, strict=True) if part is not None))
