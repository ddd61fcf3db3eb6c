"""Parsing of APIM policy documents."""
