"""The analysis layer: what rules read beyond the ARM views, computed once per run."""

from mtls_audit.analysis.context import POLICY_NEEDS, Context, Options

__all__ = ["POLICY_NEEDS", "Context", "Options"]
