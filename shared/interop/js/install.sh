#!/usr/bin/env bash
# Installs shared/interop/js/node_modules from package-lock.json (npm ci) when it is missing or
# package.json / package-lock.json changed since the last install; otherwise does nothing.
# .ci/testenv.sh runs it, so `make test` has the independent verifiers the interop test needs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v npm >/dev/null 2>&1 || { echo "interop: npm is not installed" >&2; exit 1; }
stamp=node_modules/.credence-lock.sha256
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "interop: installing shared/interop/js from package-lock.json (npm ci)" >&2
# None of these packages needs an install script; --ignore-scripts keeps it that way.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn
echo "$want" >"$stamp"
