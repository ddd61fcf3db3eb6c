"""Inbound decision: whether an effective inbound policy rejects each failing certificate."""
