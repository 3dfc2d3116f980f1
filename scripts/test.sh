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
  // A file that failed, or whose tests did not all finish (its test process died: vitest then
  // reports the file as passed with the rest "pending"), is named with what did not finish.
  for (const f of r.testResults) {
    const unfinished = f.assertionResults.filter((a) => a.status !== "passed" && a.status !== "failed" && a.status !== "skipped").map((a) => a.title);
    if (f.status === "passed" && unfinished.length === 0) continue;
    console.log(`vitest: file ${f.name.replace(process.cwd() + "/", "")} ${f.status}: ${(f.message || "").slice(0, 400)}` +
      (unfinished.length ? ` (not finished: ${unfinished.join("; ")})` : ""));
  }
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' || true
if [ "$status" -ne 0 ]; then
  # A test process killed from outside (the OOM killer) leaves no stack trace of its own.
  dmesg 2>/dev/null | grep -i -E "out of memory|killed process" | tail -3 || true
  free -m 2>/dev/null | head -2 || true
fi
exit "$status"
