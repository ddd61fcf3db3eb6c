#!/usr/bin/env bash
# Regenerate sample_reports/ from the bundled sample: every output format, reproducibly.
# SOURCE_DATE_EPOCH fixes the run id and times (2026-11-20T09:00:00Z, the sample's collection
# time), so the same code and sample give the same evidence bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf sample_reports
SOURCE_DATE_EPOCH=1795165200 mtls-audit scan --sample \
    --format json,text,pdf,html,sarif,junit,markdown --out sample_reports --fail-on none
