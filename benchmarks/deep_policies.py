"""Policies with many ``<choose>`` blocks, in sequence or nested: the shapes whose analysis used
to grow exponentially with the number of blocks.

Each block tests the client certificate or a request header and updates a variable that the
next block reads, so every condition depends on every block before it. Conditions cycle through
a few certificate and header tests, so the number of atoms stays small while the blocks grow.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

_TESTS = (
    "context.Request.Certificate == null",
    "!context.Request.Certificate.Verify()",
    'context.Request.Certificate.Thumbprint != "3F2A9C1B7D4E6F8091A2B3C4D5E6F708192A3B4C"',
    'context.Request.Headers.GetValueOrDefault("X-Mode", "") == "strict"',
    "context.Request.Certificate.NotAfter < DateTime.Now",
)
_READ = 'context.Variables.GetValueOrDefault<bool>("ok", true)'
_REJECT = '<return-response><set-status code="403" reason="Forbidden" /></return-response>'


def _test(index: int) -> str:
    return _TESTS[index % len(_TESTS)]


def _block(index: int, inner: str = "") -> str:
    update = f"@({_READ} &amp;&amp; !({_test(index + 1)}))"
    return (
        f"<choose><when condition={quoteattr(f'@({_READ} && {_test(index)})')}>"
        f'<set-variable name="ok" value="{update}" />{inner}</when>'
        f'<otherwise><set-variable name="ok" value="@(!{_READ})" /></otherwise></choose>'
    )


def _document(inbound: str) -> str:
    return (
        f"<policies><inbound>{inbound}"
        f"<choose><when condition={quoteattr(f'@(!{_READ})')}>{_REJECT}</when></choose>"
        "</inbound><backend><forward-request /></backend><outbound /><on-error /></policies>"
    )


def sequential(blocks: int) -> str:
    """``blocks`` ``<choose>`` blocks one after the other, then a rejection on the variable."""
    return _document("".join(_block(index) for index in range(blocks)))


def nested(depth: int) -> str:
    """``<choose>`` blocks nested ``depth`` deep (each inside the previous one's ``<when>``)."""
    inner = ""
    for index in reversed(range(depth)):
        inner = _block(index, inner)
    return _document(inner)
