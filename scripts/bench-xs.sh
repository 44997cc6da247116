#!/usr/bin/env bash
# The XS benchmarks as a regression guard (run by .ci/run after the tests): fails loudly when a
# figure is 5x worse than recorded in src/dynamo/bench/data/regress-xs.json. About a minute.
# Re-record after a deliberate change: .venv/bin/dynamo bench regress --record
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== dynamo bench regress --scale xs (fails when a figure is 5x worse than recorded)"
.venv/bin/dynamo bench regress --scale xs --factor 5
