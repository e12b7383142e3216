#!/usr/bin/env bash
# The crash storm of test/crashStorm.serial.test.ts (its timeout follows from the seconds given), run longer than `npm test` does: concurrent shim
# ADD/DEL processes while berthd is SIGKILLed at random moments, invariants checked after every
# cycle. Usage: scripts/crash-storm.sh [seconds, default 300] [processes per cycle, default 200]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
processes="${2:-200}"
node scripts/build.mjs
BERTH_STORM_SECONDS="$seconds" BERTH_STORM_PROCESSES="$processes" \
  npx vitest run test/crashStorm.serial.test.ts
