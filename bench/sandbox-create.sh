#!/usr/bin/env bash
# Session create → ready latency, cold and from the warm pool (p50/p95 over RUNS runs), and
# the memory one idle session costs (agent + session-manager, Claude CLI excluded), against
# the real Docker engine and sandbox image. See bench/README.md.
#
# Environment (all optional):
#   RUNS=20            measured runs per phase (cold, warm)
#   WARMUP_RUNS=1      unmeasured runs before each phase's measured ones
#   POOL_SIZE=2        warm_pool_size of the warm phase
#   IDLE_SESSIONS=10   idle sessions for the memory figure
#   SETTLE_SECS=10     pause after every idle session runs its CLI, before measuring memory
#   POLL_MS=5          how often the session row is polled
#   POOL_SETTLE_MS=1000  pause after the pool is full again, before a warm run
#   BENCH_BIN=path     use this prebuilt bench_sandboxes binary instead of building it
#   REMOTE_CLAUDE_TEST_DATABASE_URL  Postgres server for the throw-away database
#                          (default postgres://postgres@127.0.0.1:5432)
#   DATABASE_URL       if set, the build checks sqlx queries against it; else SQLX_OFFLINE=true
# Redis and RabbitMQ are expected at the usual local defaults.
#
# Exit status: 0 when every step ran, whatever the figures; non-zero when something failed to
# run (prerequisite, build, a session that failed). The figures are never asserted.
set -euo pipefail

IMAGE=local/claude-sandbox:latest
TARGET_COLD_P50_MS=1000
TARGET_WARM_P50_MS=150
TARGET_IDLE_MB=10

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rc-bench-sandbox.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

log() { printf '==> %s\n' "$*" >&2; }
die() {
    printf 'bench: error: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------- prerequisites
command -v docker >/dev/null || die "the docker CLI is missing: run scripts/start-dockerd.sh"
timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    die "the Docker engine does not answer: run scripts/start-dockerd.sh"
timeout 10 docker image inspect "$IMAGE" >/dev/null 2>&1 ||
    die "sandbox image $IMAGE missing: run scripts/build-sandbox-image.sh"
for svc in postgres:5432 redis:6379 rabbitmq:5672; do
    port=${svc#*:}
    timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null ||
        die "${svc%%:*} does not answer on 127.0.0.1:$port: run scripts/start-backing-services.sh"
done
if [[ $(id -u) -ne 0 ]]; then
    log "warning: not root: the sandboxes' processes (uid 1000 in other namespaces) may not be readable in /proc; their memory figures can come out as 0"
fi

# ---------------------------------------------------------------- build
if [[ -n ${BENCH_BIN:-} ]]; then
    BIN=$BENCH_BIN
else
    log "building the benchmark (release)"
    if [[ -n ${DATABASE_URL:-} ]]; then
        (cd "$ROOT" && cargo build --release -p session-manager --example bench_sandboxes) ||
            die "cargo build failed"
    else
        (cd "$ROOT" && SQLX_OFFLINE=true cargo build --release -p session-manager --example bench_sandboxes) ||
            die "cargo build failed"
    fi
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/bench_sandboxes"
fi
[[ -x $BIN ]] || die "built binary not found at $BIN"

# ---------------------------------------------------------------- run
log "running $BIN (takes a few minutes; Ctrl-C cleans up)"
# The bench cleans up after itself on error, Ctrl-C and SIGTERM (containers, volumes,
# database, exchange), so it runs in the foreground.
set +e
"$BIN" | tee "$WORK/out.txt"
rc=${PIPESTATUS[0]}
set -e
((rc == 0)) || die "the benchmark failed (exit $rc); see its output above"

# ---------------------------------------------------------------- report
# RESULT phase=<p> key=value … → variables <p>_<key>
declare -A R
while read -r -a words; do
    phase=""
    for w in "${words[@]:1}"; do
        [[ $w == phase=* ]] && phase=${w#phase=}
    done
    for w in "${words[@]:1}"; do
        [[ $w == *=* && $w != phase=* ]] && R["${phase}_${w%%=*}"]=${w#*=}
    done
done < <(grep '^RESULT ' "$WORK/out.txt")
for key in cold_p50_ms cold_p95_ms warm_p50_ms warm_p95_ms memory_total_mb; do
    [[ -n ${R[$key]:-} ]] || die "no $key in the benchmark's output"
done

verdict() { # value target → met / NOT met (value <= target)
    awk -v v="$1" -v t="$2" 'BEGIN { print (v + 0 <= t + 0 ? "met" : "NOT met") }'
}

printf '\nsession create → ready and idle memory; %s cores; %s\n' "$(nproc)" "$(date -u '+%Y-%m-%d %H:%M UTC')"
printf 'image %s (%s)\n\n' "$IMAGE" "$(docker image inspect --format '{{.Id}}' "$IMAGE" | cut -c8-19)"
# ASCII only in the rows: printf pads by bytes, not characters.
row() { printf '%-46s %20s   %-14s %s\n' "$@"; }
row figure measured target verdict
row "cold create -> running, p50 (${R[cold_runs]} runs)" "${R[cold_p50_ms]} ms" "<= $TARGET_COLD_P50_MS ms" "$(verdict "${R[cold_p50_ms]}" $TARGET_COLD_P50_MS)"
row "cold create -> running, p95" "${R[cold_p95_ms]} ms" "" ""
row "cold min / max" "${R[cold_min_ms]} / ${R[cold_max_ms]} ms" "" ""
row "warm create -> running, p50 (${R[warm_runs]} runs)" "${R[warm_p50_ms]} ms" "<= $TARGET_WARM_P50_MS ms" "$(verdict "${R[warm_p50_ms]}" $TARGET_WARM_P50_MS)"
row "warm create -> running, p95" "${R[warm_p95_ms]} ms" "" ""
row "warm min / max" "${R[warm_min_ms]} / ${R[warm_max_ms]} ms" "" ""
row "warm runs served from the pool" "${R[warm_from_pool]}/${R[warm_runs]}" "" ""
row "idle session, CLI excluded (PSS, ${R[memory_sessions]} sessions)" "${R[memory_total_mb]} MB" "<= $TARGET_IDLE_MB MB" "$(verdict "${R[memory_total_mb]}" $TARGET_IDLE_MB)"
row "  same, RSS instead of PSS (nothing shared)" "${R[memory_total_rss_mb]} MB" "" ""
row "  sandbox-agent serve (PSS)" "${R[memory_serve_mb]} MB" "" ""
row "  sandbox-agent attach exec (PSS)" "${R[memory_attach_mb]} MB" "" ""
row "  session-manager (VmRSS growth)" "${R[memory_session_manager_mb]} MB" "" ""
row "  not counted: tini (PSS)" "${R[memory_tini_mb]} MB" "" ""
row "  not counted: containerd shim (PSS)" "${R[memory_shim_mb]} MB" "" ""
row "  not counted: Claude CLI (PSS / RSS)" "${R[memory_cli_pss_mb]} / ${R[memory_cli_rss_mb]} MB" "" ""
if [[ ${R[warm_from_pool]} != "${R[warm_runs]}" ]]; then
    printf '\nwarning: not every warm run was served from the pool; the warm figures mix both paths\n'
fi
