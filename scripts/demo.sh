#!/usr/bin/env bash
# Set up a virtual environment (if needed), then crawl the bundled demo site
# (served on 127.0.0.1 by the command itself) and print the run folder.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/scrapy demo "$@"
