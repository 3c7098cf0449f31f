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
trap 'rm -rf "$WORK"' EXIT


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
