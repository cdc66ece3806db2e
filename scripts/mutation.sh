#!/usr/bin/env bash
# Mutation testing of the pure cores (rules, risk checks and breaker, order state and execution, IB fills,
# pricing) with mutmut, each module against its own unit tests; see scripts/mutation.py and the README.
#   scripts/mutation.sh                                   every module, one mutant at a time, at low priority
#   scripts/mutation.sh --module actors/risk/checks.py    one module (repeatable); --show-survivors for diffs
set -euo pipefail
cd "$(dirname "$0")/.."
exec nice -n 10 uv run python scripts/mutation.py "$@"
