"""``python -m mtls_audit``."""

from mtls_audit.cli import main

if __name__ == "__main__":
    main()
