"""Validity periods and days left, from certificates or from ARM's ISO 8601 strings."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from mtls_audit.errors import InputError
from mtls_audit.wording import plural

if TYPE_CHECKING:  # only a certificate given loads them: a date or timestamp needs neither
    from cryptography import x509

    from mtls_audit.certs.facts import CertificateFacts


class TimestampError(InputError):
    """A date/time string that is not ISO 8601."""


class Validity(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"


def parse_timestamp(text: str, *, source: str | None = None, where: str | None = None) -> datetime:
    """Read an ISO 8601 time as ARM writes it ("Z" or an offset; .NET's 7-digit fractions).

    A time without an offset is taken as UTC, the only zone ARM writes.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise TimestampError(
            f"not an ISO 8601 date/time: {text!r}", source=source, where=where
        ) from None
    return as_utc(moment)


def as_utc(moment: datetime) -> datetime:
    """The same instant as an aware UTC datetime; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def days_left(
    cert_or_expiry: x509.Certificate | CertificateFacts | datetime | str, as_of: datetime
) -> int:
    """Whole days from ``as_of`` until expiry, rounded down: negative once expired.

    The last valid instant is ``notAfter`` itself, so expiry at ``as_of`` gives 0.
    """
    match cert_or_expiry:
        case str():
            expiry = parse_timestamp(cert_or_expiry)
        case datetime():
            expiry = as_utc(cert_or_expiry)
        case _:
            expiry = _validity(cert_or_expiry)[1]
    return (expiry - as_utc(as_of)).days


def _validity(cert: x509.Certificate | CertificateFacts) -> tuple[datetime, datetime]:
    """A certificate's ``notBefore`` and ``notAfter``, in UTC."""
    from mtls_audit.certs.facts import CertificateFacts

    if isinstance(cert, CertificateFacts):
        return cert.not_before, cert.not_after
    return cert.not_valid_before_utc, cert.not_valid_after_utc


def validity_at(cert: x509.Certificate | CertificateFacts, as_of: datetime) -> Validity:
    """Whether the certificate is inside its validity period at ``as_of`` (bounds inclusive)."""
    start, end = _validity(cert)
    moment = as_utc(as_of)
    if moment < start:
        return Validity.NOT_YET_VALID
    if moment > end:
        return Validity.EXPIRED
    return Validity.VALID


DAY_SECONDS = 86_400


def days_phrase(days: int) -> str:
    """ "1 day", "19 days"."""
    return plural(days, "day")


def full_days(expiry: datetime, as_of: datetime) -> int:
    """Full days of 24 hours from ``as_of`` to expiry, rounded down either way as
    :func:`expiry_phrase` counts them, negative once expired: -18 for a certificate that
    expired 18.6 days ago (where :func:`days_left` gives -19), 18 for one with 18.6 days left,
    0 within a day of expiry on either side."""
    seconds = (as_utc(expiry) - as_utc(as_of)).total_seconds()
    full = int(abs(seconds) // DAY_SECONDS)
    return full if seconds >= 0 else -full


def expiry_phrase(expiry: datetime, as_of: datetime) -> str:
    """ "expires in 18 days" or "expired 18 days ago", in :func:`full_days`. Under one day:
    "less than a day". Expiry at ``as_of`` itself is still valid, as :func:`validity_at`
    judges (bounds inclusive)."""
    full = abs(full_days(expiry, as_of))
    span = days_phrase(full) if full else "less than a day"
    return f"expires in {span}" if as_utc(expiry) >= as_utc(as_of) else f"expired {span} ago"
