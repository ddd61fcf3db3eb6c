"""Policy templates of the synthetic instance: a few sound and broken shapes, filled per team.

Texts use ``string.Template`` placeholders (``$backend``), so C# braces and ``{{named values}}``
stay as written. Templates stored with format ``xml`` are well-formed XML as they stand, the form
ARM returns by default; the others are raw (``rawxml``) policy text.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Template
from typing import NamedTuple

CA_SUBJECT = "CN=Synthetic Partners CA, O=Synthetic Health, C=NL"
BASE = "<base />"

_DOCUMENT = Template("""<policies>
	<inbound>
		$inbound
	</inbound>
	<backend>
		<base />
	</backend>
	<outbound>
		$outbound
	</outbound>
	<on-error>
		$on_error
	</on-error>
</policies>""")

LIMIT = '<rate-limit-by-key calls="$calls" renewal-period="60" counter-key="@(context.Subscription.Id)" />'  # noqa: E501
VALIDATE = f"""<validate-client-certificate validate-revocation="$revocation" validate-trust="true" validate-not-before="true" validate-not-after="true" ignore-error="false">
			<identities>
				<identity issuer-thumbprint="{{{{client-ca-thumbprint}}}}" issuer-subject="{CA_SUBJECT}" />
			</identities>
		</validate-client-certificate>"""  # noqa: E501
_REJECT = """<return-response>
					<set-status code="403" reason="Invalid client certificate" />
				</return-response>"""


class PolicyTemplate(NamedTuple):
    fmt: str  # "xml" (escaped, well-formed) or "rawxml"
    weight: int  # relative frequency
    inbound: str
    outbound: str = BASE
    on_error: str = BASE


GLOBAL = PolicyTemplate(
    "rawxml",
    1,
    VALIDATE,
    '<set-header name="X-Powered-By" exists-action="delete" />',
    '<set-header name="X-Request-Id" exists-action="override">'
    "<value>@(context.RequestId.ToString())</value></set-header>",
)

# Products: most inherit; some drop <base/> and validate on their own, without revocation.
PRODUCT_INHERIT = PolicyTemplate("xml", 4, BASE)
PRODUCT_OWN_VALIDATION = PolicyTemplate("xml", 1, VALIDATE)

API_TEMPLATES: tuple[PolicyTemplate, ...] = (
    # Inherits the global validation, adds the team's fragment, limit and backend.
    PolicyTemplate(
        "xml",
        45,
        f"""{BASE}
		<include-fragment fragment-id="$fragment" />
		{LIMIT}
		<set-backend-service backend-id="$backend" />""",
    ),
    # Validates on its own as well and presents a Key Vault client certificate.
    PolicyTemplate(
        "xml",
        15,
        f"""{BASE}
		{VALIDATE}
		<authentication-certificate certificate-id="$certificate" />
		<set-backend-service backend-id="$backend" />""",
    ),
    # Drops <base/>: an expiry check is all that is left.
    PolicyTemplate(
        "rawxml",
        8,
        f"""<choose>
			<when condition="@(context.Request.Certificate.NotAfter < DateTime.Now)">
				{_REJECT}
			</when>
		</choose>
		<set-backend-service backend-id="$backend" />""",
    ),
    # Skips the check by path, and joins the conditions with && where || belongs.
    PolicyTemplate(
        "rawxml",
        8,
        f"""<choose>
			<when condition="@(!context.Request.Url.Path.StartsWith("/health"))">
				<choose>
					<when condition="@(context.Request.Certificate == null || !context.Request.Certificate.VerifyNoRevocation() && context.Request.Certificate.Thumbprint != "$thumbprint")">
						{_REJECT}
					</when>
				</choose>
			</when>
		</choose>""",  # noqa: E501
        on_error="<set-body>@(context.LastError.Message)</set-body>",
    ),
    # Trusts a thumbprint header; calls an http backend with a certificate by thumbprint.
    PolicyTemplate(
        "rawxml",
        6,
        f"""<choose>
			<when condition="@(context.Request.Headers.GetValueOrDefault("X-ARR-ClientCertThumbprint", "") != "$thumbprint")">
				{_REJECT}
			</when>
		</choose>
		<set-backend-service base-url="http://$host:8080/api" />
		<authentication-certificate thumbprint="$certificate_thumbprint" />""",  # noqa: E501
    ),
    # Echoes the client certificate's thumbprint in responses.
    PolicyTemplate(
        "rawxml",
        8,
        f"""{BASE}
		<set-backend-service backend-id="$backend" />""",
        f"""{BASE}
		<set-header name="X-Client-Thumbprint" exists-action="override">
			<value>@(context.Request.Certificate.Thumbprint)</value>
		</set-header>""",
    ),
    # Only a rate limit.
    PolicyTemplate("xml", 10, f"{BASE}\n\t\t{LIMIT}"),
)

_CACHE_LOOKUP = (
    '<cache-lookup vary-by-developer="false" vary-by-developer-groups="false" '
    'downstream-caching-type="none" />'
)
OPERATION_TEMPLATES: tuple[PolicyTemplate, ...] = (
    PolicyTemplate("xml", 50, f"{BASE}\n\t\t{LIMIT}"),
    PolicyTemplate(
        "xml",
        25,
        f"{BASE}\n\t\t{_CACHE_LOOKUP}",
        f'<cache-store duration="$duration" />\n\t\t{BASE}',
    ),
    # Caching added without <base/>: the operation loses every inherited check.
    PolicyTemplate("xml", 10, _CACHE_LOOKUP, f'<cache-store duration="$duration" />\n\t\t{BASE}'),
    PolicyTemplate(
        "rawxml",
        15,
        f"""{BASE}
		<set-header name="X-Operation" exists-action="override">
			<value>@(context.Operation.Id + "/" + context.Request.Method)</value>
		</set-header>""",
    ),
)

_FRAGMENT_TEMPLATES: tuple[str, ...] = (
    """<fragment>
	<choose>
		<when condition="@(context.Request.Certificate == null || (context.Request.Certificate.Thumbprint != "$t1" && context.Request.Certificate.Thumbprint != "$t2"))">
			<return-response>
				<set-status code="403" reason="Client system not allowed" />
			</return-response>
		</when>
	</choose>
</fragment>""",  # noqa: E501
    """<fragment>
	<set-header name="X-Correlation-Id" exists-action="skip">
		<value>@(context.RequestId.ToString())</value>
	</set-header>
	<set-header name="X-Partner" exists-action="override">
		<value>$name</value>
	</set-header>
</fragment>""",
    """<fragment>
	<cors allow-credentials="false">
		<allowed-origins>
			<origin>https://$name.partners.example</origin>
		</allowed-origins>
		<allowed-methods>
			<method>GET</method>
			<method>POST</method>
		</allowed-methods>
	</cors>
</fragment>""",
)


def render(template: PolicyTemplate, values: Mapping[str, str]) -> str:
    """The policy document of ``template`` with ``values`` filled in."""
    sections = {
        "inbound": template.inbound,
        "outbound": template.outbound,
        "on_error": template.on_error,
    }
    filled = {name: Template(text).substitute(values) for name, text in sections.items()}
    return _DOCUMENT.substitute(filled)


def render_fragment(index: int, values: Mapping[str, str]) -> str:
    """Fragment number ``index``: the fragment shapes take turns."""
    return Template(_FRAGMENT_TEMPLATES[index % len(_FRAGMENT_TEMPLATES)]).substitute(values)
