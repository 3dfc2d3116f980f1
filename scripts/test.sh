#!/usr/bin/env bash
# The one test command (README, CI): tools, types, lint, then every test (unit and SIPp/baresip).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-tools.sh
[ -d node_modules ] || npm install --no-audit --no-fund
npx tsc -p tsconfig.json --noEmit
npx eslint .
mkdir -p test/.tmp
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test/.tmp/vitest-results.json "$@" || status=$?
# One plain closing line with the counts (CI reads it), from vitest's JSON report.
node -e '
  const r = JSON.parse(require("fs").readFileSync("test/.tmp/vitest-results.json", "utf8"));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' || true
exit "$status"
