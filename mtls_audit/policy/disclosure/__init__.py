"""Disclosure: what an effective policy writes into the responses clients receive."""
