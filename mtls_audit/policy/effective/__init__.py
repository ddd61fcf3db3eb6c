"""Effective policy: the documents of every scope merged into what applies per path."""
