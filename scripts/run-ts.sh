#!/usr/bin/env bash
# Compiles one scripts/NAME.ts (and everything it imports) into dist/ with the project's compiler
# settings, then runs it with the remaining arguments: `npm run load|soak|fuzz -- --flags`.
# (tsconfig.build.json covers src and bench only; the scripts are compiled here on demand, with
# the media worker's entry, which nothing imports: the worker pool starts it by file name.)
set -euo pipefail
cd "$(dirname "$0")/.."
name="$1"
shift
npx tsc --outDir dist --rootDir . --module NodeNext --moduleResolution NodeNext --target ES2023 --lib ES2023 \
  --types node --strict --skipLibCheck --sourceMap --esModuleInterop --resolveJsonModule --verbatimModuleSyntax \
  "scripts/${name}.ts" src/call/media-worker.ts $(find src -name '*.d.ts')
exec node --enable-source-maps --expose-gc "dist/scripts/${name}.js" "$@"
