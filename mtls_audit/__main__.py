"""``python -m mtls_audit``."""

from mtls_audit.cli import main

main()
