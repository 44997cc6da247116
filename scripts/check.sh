#!/usr/bin/env bash
# Every check, in the order CI runs them: format, lint, import layers, types, tests.
# Extra arguments go to pytest (e.g. scripts/check.sh -k store).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
echo "== ruff format --check"; "$bin/ruff" format --check src tests
echo "== ruff check";          "$bin/ruff" check src tests
echo "== import-linter";       "$bin/lint-imports"
echo "== mypy --strict src";   "$bin/mypy" src
echo "== pytest"
set +e
"$bin/pytest" -W error -n "${DYNAMO_TEST_WORKERS:-2}" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$rc"
