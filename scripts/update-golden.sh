#!/usr/bin/env bash
# Regenerate the report's golden files (tests/golden/) from the fixed fixture view,
# then show what changed. Review the diff before committing it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
LINKSPIDER_UPDATE_GOLDEN=1 "$PYTHON" -m pytest -q tests/unit/test_report_golden.py
git --no-pager diff --stat -- tests/golden/
