#!/usr/bin/env bash
# The one install + build script, used by CI (.ci/run) and by docker/Dockerfile, so the image is
# built by exactly the commands CI runs.
#
#   bash scripts/build.sh              # npm ci (all dependencies) + build (tsc) into dist/
#   bash scripts/build.sh --prod       # then prune node_modules to production dependencies (the image)
#   bash scripts/build.sh --dry-run    # print the commands without running them
#
# Start: `node --enable-source-maps dist/src/main.js` (what `npm start` runs after its build).
set -euo pipefail
cd "$(dirname "$0")/.."
prod=false
dry=false
for arg in "$@"; do
  case "$arg" in
    --prod) prod=true ;;
    --dry-run) dry=true ;;
    *) echo "build.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

run() {
  echo "+ $*"
  if ! $dry; then "$@"; fi
}

run npm ci --no-audit --no-fund
run npm run build
if $prod; then
  run npm prune --omit=dev --no-audit --no-fund
fi
if ! $dry; then
  test -f dist/src/main.js
  echo "build ok: dist/src/main.js"
fi
