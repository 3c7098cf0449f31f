#!/usr/bin/env bash
# Live-session relay figures, against the real Docker engine, sandbox image and Claude Code CLI
# with the scripted model: a 2,000-line turn relayed to 1 and to 20 WebSocket clients (events/s,
# per-event added latency p50/p99), message -> first text event on a warm session, and approval
# decision -> delivered to the CLI. See bench/README.md.
#
# Environment (all optional):
#   RELAY_RUNS=3         relayed turns per client count (the summary is their median)
#   RELAY_CLIENTS=1,20   client counts of the relay phase
#   RELAY_LINES=2000     lines (one text delta each) of a relayed turn
#   RELAY_PACE_MS=0,1    ms between the model's deltas (0: no pause, a burst)
#   RELAY_SLOWEST=0      name the N slowest events of each relay turn
#   DB_DELAY_MS=         put Postgres behind bench/tools/delay_proxy.py, this many ms each way
#                          (about 1.1 ms at least: asyncio's timers), like a database on its
#                          own host; the measured round trip is printed
#   FIRST_TEXT_RUNS=10   message -> first text measurements
#   APPROVAL_RUNS=5      approval -> decision delivered measurements
#   BENCH_BIN=path       use this prebuilt bench_live binary instead of building it
#   BUILD_IMAGE=1        run scripts/build-sandbox-image.sh even when the image exists
#   REMOTE_CLAUDE_TEST_DATABASE_URL  Postgres server for the throw-away database
#                          (default postgres://postgres@127.0.0.1:5432)
#   DATABASE_URL         if set, the build checks sqlx queries against it; else SQLX_OFFLINE=true
# Redis and RabbitMQ are expected at the usual local defaults.
#
# Exit status: 0 when every step ran, whatever the figures; non-zero when something failed to
# run (prerequisite, build, a session or turn that failed). The figures are never asserted.
set -euo pipefail

IMAGE=local/claude-sandbox:latest

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rc-bench-live.XXXXXX")
PROXY_PID=""
trap '[[ -z $PROXY_PID ]] || kill "$PROXY_PID" 2>/dev/null; rm -rf "$WORK"' EXIT


# ---------------------------------------------------------------- prerequisites
# All three scripts are idempotent: on a machine where everything runs they return at once.
"$ROOT/scripts/start-backing-services.sh" || die "Postgres, Redis or RabbitMQ could not be started"
"$ROOT/scripts/start-dockerd.sh" || die "the Docker engine could not be started"
# The image is built only when missing (or with BUILD_IMAGE=1): rebuilding moves the shared
# :latest tag, which a test run on the same engine may be using.
if [[ ${BUILD_IMAGE:-0} == 1 ]] || ! timeout 10 docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "building the sandbox image"
    "$ROOT/scripts/build-sandbox-image.sh" >/dev/null || die "scripts/build-sandbox-image.sh failed"
fi
timeout 10 docker image inspect "$IMAGE" >/dev/null 2>&1 || die "sandbox image $IMAGE missing"

# ---------------------------------------------------------------- build
if [[ -n ${BENCH_BIN:-} ]]; then
    BIN=$BENCH_BIN
else
    log "building the benchmark (release)"
    if [[ -n ${DATABASE_URL:-} ]]; then
        (cd "$ROOT" && cargo build --release -p api --example bench_live) ||
            die "cargo build failed"
    else
        (cd "$ROOT" && SQLX_OFFLINE=true cargo build --release -p api --example bench_live) ||
            die "cargo build failed"
    fi
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/bench_live"
fi
[[ -x $BIN ]] || die "built binary not found at $BIN"

# ---------------------------------------------------------------- database one hop away
if [[ -n ${DB_DELAY_MS:-} ]]; then
    base=${REMOTE_CLAUDE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}
    [[ $base =~ ^(postgres(ql)?://[^@/]*@?)127\.0\.0\.1:([0-9]+)$ ]] ||
        die "DB_DELAY_MS needs REMOTE_CLAUDE_TEST_DATABASE_URL of the form postgres://user@127.0.0.1:PORT"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    python3 "$ROOT/bench/tools/delay_proxy.py" "$port" "${BASH_REMATCH[3]}" "$DB_DELAY_MS" >"$WORK/proxy.txt" 2>&1 &
    PROXY_PID=$!
    for _ in $(seq 50); do grep -q READY "$WORK/proxy.txt" 2>/dev/null && break; sleep 0.1; done
    grep -q READY "$WORK/proxy.txt" || die "the delay proxy did not start: $(cat "$WORK/proxy.txt")"
    export REMOTE_CLAUDE_TEST_DATABASE_URL="${BASH_REMATCH[1]}127.0.0.1:$port"
    rtt=$(psql -X -w -q -d "$REMOTE_CLAUDE_TEST_DATABASE_URL/postgres" -c '\timing on' -c 'SELECT 1' -c 'SELECT 1' -c 'SELECT 1' |
        awk '/^Time:/ { t = $2 } END { print t }')
    log "Postgres behind a ${DB_DELAY_MS} ms delay each way: SELECT 1 takes ${rtt} ms"
fi

# ---------------------------------------------------------------- run
log "running $BIN (a few minutes; Ctrl-C cleans up)"
# The bench cleans up after itself on error, Ctrl-C and SIGTERM (containers, volumes,
# database, exchange, Redis keys), so it runs in the foreground. It prints its own summary
# with the targets; the RESULT lines are for tools that collect figures.
set +e
"$BIN" | tee "$WORK/out.txt"
rc=${PIPESTATUS[0]}
set -e
((rc == 0)) || die "the benchmark failed (exit $rc); see its output above"
for phase in relay first_text approval; do
    grep -q "^RESULT phase=$phase " "$WORK/out.txt" || die "no $phase figures in the benchmark's output"
done
printf '\nimage %s (%s); %s cores; %s\n' "$IMAGE" \
    "$(docker image inspect --format '{{.Id}}' "$IMAGE" | cut -c8-19)" "$(nproc)" \
    "$(date -u '+%Y-%m-%d %H:%M UTC')"
