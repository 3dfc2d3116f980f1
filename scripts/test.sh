#!/usr/bin/env bash
# The one test command (README, CI): tools, types, lint, then every test (unit and SIPp/baresip).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-tools.sh
[ -d node_modules ] || npm install --no-audit --no-fund
npx tsc -p tsconfig.json --noEmit
npx eslint .
npx vitest run "$@"
