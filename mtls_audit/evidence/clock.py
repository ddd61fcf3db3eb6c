"""The run clock: now, and the times and id a run records (fixed by ``SOURCE_DATE_EPOCH``)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def run_times(started: datetime, finished: datetime) -> tuple[datetime, datetime, str]:
    """Start, end and run id; all fixed by ``SOURCE_DATE_EPOCH`` for reproducible output."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        fixed = datetime.fromtimestamp(int(epoch), UTC)
        return fixed, fixed, str(uuid.uuid5(uuid.NAMESPACE_URL, f"mtls-audit:{epoch}"))
    return started, finished, str(uuid.uuid4())
