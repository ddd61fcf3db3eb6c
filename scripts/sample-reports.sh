#!/usr/bin/env bash
# Regenerate sample_reports/ from the bundled sample: every output format, reproducibly.
# SOURCE_DATE_EPOCH fixes the run id and times (2026-11-20T09:00:00Z, the sample's collection
# time), so the same code and sample give the same evidence bytes. The sample has critical
# findings, so the scan exits 1 by design; any other exit code is an error.
set -uo pipefail
cd "$(dirname "$0")/.."
# The scan's own files are made anew; dashboard/ (scripts/sample-dashboard.py) is kept.
find sample_reports -maxdepth 1 -type f -delete 2>/dev/null || true
SOURCE_DATE_EPOCH=1795165200 mtls-audit scan --sample \
    --format json,text,pdf,html,sarif,junit,markdown --out sample_reports
code=$?
if [ "$code" -ne 1 ]; then
    echo "unexpected exit code $code (the sample should exit 1: critical findings)" >&2
    exit 1
fi
