#!/usr/bin/env bash
# Profile a scenario under memray: capture, flame graph, peak, growth after warm-up, mailbox high-water marks.
#   scripts/memray_session.sh tests/scenarios/take_profit.jsonl [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:?usage: scripts/memray_session.sh SCENARIO.jsonl [OUT_DIR]}"
out="${2:-thetanode-data/profiles}"
uv run thetanode profile "$scenario" --out "$out"
echo "open the flame graph: $out/$(basename "${scenario%.jsonl}").memray.html (or: uv run memray summary $out/*.memray.bin)"
