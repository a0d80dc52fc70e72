#!/usr/bin/env bash
# Installs shared/site/browsertest/node_modules (playwright-core, axe-core) from package-lock.json
# (npm ci) when it is missing or package.json / package-lock.json changed since the last install;
# otherwise does nothing. .ci/testenv.sh runs it, so `make test` has what the browser test needs.
# The browser itself is Debian's chromium, which .ci/testenv.sh installs with apt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v npm >/dev/null 2>&1 || { echo "browsertest: npm is not installed" >&2; exit 1; }
stamp=node_modules/.credence-lock.sha256
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "browsertest: installing shared/site/browsertest from package-lock.json (npm ci)" >&2
# Neither package needs an install script (playwright-core's would not download a browser
# anyway); --ignore-scripts keeps it that way.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn
echo "$want" >"$stamp"
