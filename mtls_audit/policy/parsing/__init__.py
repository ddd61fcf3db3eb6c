"""Parsing: policy text (tolerantly) into a tree, the spans of expressions and placeholders."""
