#!/usr/bin/env bash
# Set up and run every check: lint, types, import layering, tests.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
python3 -m ruff check .
python3 -m ruff format --check .
python3 -m mypy
lint-imports
python3 -m pytest -q
