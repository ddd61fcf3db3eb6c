"""Hypothesis strategies: certificate conditions rendered as C# source, and random requests."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import strategies as st

from tests.policy.cert_model import Certificate, Request

THUMBS = (
    "3F2A9C1B7D4E6F8091A2B3C4D5E6F708192A3B4C",
    "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678",
    "00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF",
)
THUMB_LITERALS = (
    *THUMBS,
    THUMBS[0].lower(),
    " ".join(THUMBS[1][i : i + 2] for i in range(0, 40, 2)),
)
ISSUERS = ("CN=Contoso Root CA", "CN=Other CA, O=Elsewhere")
SUBJECTS = ("CN=client01", "CN=Client02, O=Contoso")
SERIALS = ("01AB", "7F00EE")
HEALTH = 'context.Request.Url.Path.StartsWith("/health")'
NOW = datetime(2026, 6, 1, 12, 0, 0)
HEADER = "X-ARR-ClientCert"
HEADER_CERT = (
    "new X509Certificate2(Convert.FromBase64String("
    f'context.Request.Headers.GetValueOrDefault("{HEADER}", "")))'
)
REQUEST_CERTS = (
    "context.Request.Certificate",
    "((X509Certificate2)context.Request.Certificate)",
    "(context.Request.Certificate as X509Certificate2)",
)


def _quoted(values: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.sampled_from(values).map(lambda v: f'"{v}"')


def leaves(c: str, header: bool) -> st.SearchStrategy[str]:
    eq = st.sampled_from(("==", "!="))
    now = st.sampled_from(("DateTime.Now", "DateTime.UtcNow"))
    order = st.sampled_from(("<", "<=", ">", ">="))
    field = st.sampled_from(("NotAfter", "NotBefore"))
    thumb = _quoted(THUMB_LITERALS)
    nulls = ("{c} == null", "{c} != null", "null == {c}", "{c} is null", "{c} is not null")
    chains = (
        "{c}.Verify()",
        "{c}.VerifyNoRevocation()",
        "{c}?.Verify() == true",
        "({c}?.VerifyNoRevocation() ?? false)",
    )
    thumb_forms = (
        "{c}.Thumbprint {eq} {lit}",
        "{lit} {eq} {c}.Thumbprint",
        "{c}?.Thumbprint {eq} {lit}",
        "{c}.Thumbprint.Equals({lit})",
        "string.Equals({c}.Thumbprint, {lit}, StringComparison.OrdinalIgnoreCase)",
        "string.Equals({c}?.Thumbprint, {lit}, StringComparison.Ordinal)",
        "{c}.Thumbprint.ToUpper() {eq} {lit}",
        "{c}.Thumbprint.ToLowerInvariant() {eq} {lit}",
        "new[] {{{lit}, {lit2}}}.Contains({c}.Thumbprint)",
        "new[] {{{lit}, {lit2}}}.Contains({c}?.Thumbprint, StringComparer.OrdinalIgnoreCase)",
        '{c}.Thumbprint {eq} "{{{{pin}}}}"',
    )
    name_forms = (
        "{c}.Issuer {eq} {iss}",
        "{c}.IssuerName.Name {eq} {iss}",
        "{c}.Subject {eq} {sub}",
        "{c}.SubjectName.Name {eq} {sub}",
        '{c}.Subject.Contains("CN=client")',
        '{c}?.Subject.Contains("Contoso") == true',
        '({c}?.Subject.ToLower().Contains("cn=client") ?? false)',
        "{c}?.Thumbprint.ToUpper() {eq} {lit}",
        "{c}.SerialNumber {eq} {ser}",
    )
    lookups = (
        "context.Deployment.Certificates.Any(x => x.Value.Thumbprint == {c}.Thumbprint)",
        "context.Deployment.Certificates.Any(x => x.Value.Thumbprint == {c}?.Thumbprint)",
        "context.Deployment.Certificates.ContainsKey({c}.Thumbprint)",
    )
    fills = st.fixed_dictionaries(
        {
            "c": st.just(c),
            "eq": eq,
            "lit": thumb,
            "lit2": thumb,
            "raw": st.sampled_from(THUMB_LITERALS),
            "raw2": st.sampled_from(THUMB_LITERALS),
            "iss": _quoted(ISSUERS),
            "sub": _quoted(SUBJECTS),
            "ser": _quoted(SERIALS),
        }
    )
    templates = [*nulls, *chains, *thumb_forms, *name_forms, *lookups]
    if not header:
        templates += ['"{raw},{raw2}".Contains({c}.Thumbprint)', HEALTH.replace("{", "{{")]
    plain = st.tuples(st.sampled_from(templates), fills).map(lambda tf: tf[0].format(**tf[1]))
    times = st.one_of(
        st.tuples(field, order, now).map(lambda t: f"{c}.{t[0]} {t[1]} {t[2]}"),
        st.tuples(now, order, field).map(lambda t: f"{t[0]} {t[1]} {c}.{t[2]}"),
        st.tuples(field, now, order).map(
            lambda t: f"DateTime.Compare({c}.{t[0]}, {t[1]}) {t[2]} 0"
        ),
    )
    return st.one_of(plain, times)


def conditions(c: str, header: bool = False) -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        pair = st.tuples(inner, inner)
        return st.one_of(
            inner.map(lambda x: f"!({x})"),
            pair.map(lambda ab: f"({ab[0]} && {ab[1]})"),
            pair.map(lambda ab: f"({ab[0]} || {ab[1]})"),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        )

    return st.recursive(leaves(c, header), extend, max_leaves=6)


@st.composite
def blocks(draw: st.DrawFn) -> str:
    cond = conditions("cert")
    lines = ["var cert = context.Request.Certificate;", f"var ok = {draw(cond)};"]
    for _ in range(draw(st.integers(0, 3))):
        shape = draw(st.sampled_from(("return", "assign", "else")))
        guard, value, other = draw(cond), draw(cond), draw(cond)
        lines.append(
            {
                "return": f"if ({guard}) {{ return {value}; }}",
                "assign": f"if ({guard}) ok = {value};",
                "else": f"if ({guard}) {{ ok = {value}; }} else return {other};",
            }[shape]
        )
    lines.append(draw(st.sampled_from(("return ok;", f"return ok || {draw(cond)};"))))
    return "@{\n" + "\n".join(lines) + "\n}"


@st.composite
def certificates(draw: st.DrawFn) -> Certificate:
    periods = {
        "valid": (NOW - timedelta(days=30), NOW + timedelta(days=30)),
        "expired": (NOW - timedelta(days=60), NOW - timedelta(days=1)),
        "future": (NOW + timedelta(days=1), NOW + timedelta(days=60)),
    }
    not_before, not_after = periods[draw(st.sampled_from(sorted(periods)))]
    other = draw(st.text("0123456789ABCDEF", min_size=40, max_size=40))
    return Certificate(
        thumbprint=draw(st.sampled_from((*THUMBS, other))),
        issuer=draw(st.sampled_from((*ISSUERS, "CN=Someone Else"))),
        subject=draw(st.sampled_from((*SUBJECTS, "CN=stranger"))),
        serial=draw(st.sampled_from((*SERIALS, "0102"))),
        not_before=not_before,
        not_after=not_after,
        chain_ok=draw(st.booleans()),
        revocation_ok=draw(st.booleans()),
    )


@st.composite
def requests(draw: st.DrawFn) -> Request:
    header_cert = draw(st.none() | certificates())
    path = draw(st.sampled_from(("/health", "/orders")))
    return Request(
        certificate=draw(st.none() | certificates()),
        now=NOW,
        # Any() over an empty deployment never runs its lambda: at least one is uploaded.
        deployment=draw(st.frozensets(st.sampled_from(THUMBS), min_size=1)),
        headers={HEADER: "payload"} if header_cert else {},
        header_certificates={"payload": header_cert} if header_cert else {},
        path=path,
        named_values={"pin": draw(st.sampled_from(THUMBS))},
        opaque={HEALTH: path == "/health"},
    )
