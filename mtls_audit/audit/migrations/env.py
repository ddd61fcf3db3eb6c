"""Alembic's environment for the run history: migrations run on the connection the history
opened (``config.attributes["connection"]``), one writer at a time (see ``history.migrate``)."""

from __future__ import annotations

from alembic import context

from mtls_audit.audit.history_schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
