#!/usr/bin/env bash
# Manual acceptance run of issue 13 (not in CI): the failover tests with real servers on
# PostgreSQL and MariaDB (leader SIGKILLed, leader hung with SIGSTOP) N times in a row.
# Prints each round's result and takeover times, then the pass counts per test and database.
#   bash scripts/failover-loop.sh [N=20] [pytest -k expression]
set -uo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-20}
select=${2:-"killed or hung"}
out=$(mktemp -d /tmp/dynamo-failover-loop.XXXXXX)
for round in $(seq 1 "$rounds"); do
  .venv/bin/pytest -W error -s -k "$select" --basetemp="$out/tmp$round" \
    tests/integration/server/test_replication.py -rA >"$out/round$round.log" 2>&1
  echo "round $round: $(grep -Eo '^(PASSED|FAILED) [^ ]+' "$out/round$round.log" | sed -E 's/^(PASSED|FAILED) .*::/\1 /' | tr '\n' ' ')"
  grep -Eo 'b leads [0-9.]+ s after the leader (was killed|hung)' "$out/round$round.log" | sed 's/^/    /'
done
echo "== passes per test (of $rounds), logs in $out"
cat "$out"/round*.log | grep -Eo '^(PASSED|FAILED) [^ ]+' | sed -E 's/^(PASSED|FAILED) .*::/\1 /' | sort | uniq -c
echo "== takeover seconds (killed / hung): min median max"
for kind in "was killed" "hung"; do
  grep -hEo "b leads [0-9.]+ s after the leader $kind" "$out"/round*.log | awk '{print $3}' | sort -n |
    awk -v k="$kind" '{v[NR]=$1} END {if (NR) printf "  %s: %s %s %s (n=%d)\n", k, v[1], v[int((NR+1)/2)], v[NR], NR}'
done
