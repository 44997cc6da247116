#!/usr/bin/env bash
# Set up a development environment in .venv: the dynamo package (editable) and its checks.
# Idempotent; safe to run again. Needs python3.11+ on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
echo "dynamo installed in .venv: $(.venv/bin/dynamo --version)"
