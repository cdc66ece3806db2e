"""Long-form soak: hours of 10x market data through the threaded node with a slow journal, under memray.

Usage: uv run python scripts/soak_memory.py [--hours 8] [--rate-multiple 10] [--journal-delay-ms 2] [--out DIR]
Prints peak heap, growth after warm-up and every mailbox's high-water mark; exits 1 if a mailbox overflowed or
the heap grew more than --max-growth-mb.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.replay.soak import run_soak  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0, help="simulated hours")
    parser.add_argument("--rate-multiple", type=float, default=10.0)
    parser.add_argument("--journal-delay-ms", type=float, default=2.0)
    parser.add_argument("--max-growth-mb", type=float, default=5.0)
    parser.add_argument("--out", default="thetanode-data/profiles")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = run_soak(out / "soak.memray.bin", args.hours, args.rate_multiple, args.journal_delay_ms / 1000)
    mib = 1024 * 1024
    print(f"{result.quotes_offered:,} quotes offered, {result.journaled:,} messages journaled")
    print(f"peak {result.peak_bytes / mib:.2f} MiB; after warm-up {result.heap_after_warmup_bytes / mib:.2f} MiB; "
          f"end {result.heap_at_end_bytes / mib:.2f} MiB; growth {result.growth_bytes / mib:+.3f} MiB")
    for m in result.mailboxes:
        print(f"  {m['name']:<12} high-water {m['high_water']:>6}/{m['bound']}  conflated {m['conflated']:>9,}  "
              f"dropped {m['dropped']}  overflows {m['overflows']}")
    failed = any(m["overflows"] for m in result.mailboxes) or result.growth_bytes > args.max_growth_mb * mib
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
