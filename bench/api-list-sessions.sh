#!/usr/bin/env bash
# Throughput and tail latency of `GET /api/v1/sessions?limit=20` (token auth, RBAC, Postgres,
# every production middleware) against a bare actix-web handler serving the same bytes from
# the same process, measured back to back in one run. See bench/README.md.
#
# Environment (all optional):
#   DURATION=10s       length of each measured wrk run (wrk syntax: 10s, 1m)
#   WARMUP=3s          length of the unmeasured warm-up run against each endpoint
#   THREADS=2          wrk threads            CONNECTIONS=32   wrk connections
#   READY_TIMEOUT=120  seconds to wait for the server's ready line
#   BENCH_SERVER=path  use this prebuilt bench_server binary instead of building it
#   REMOTE_CLAUDE_BENCH_POSTGRES_URL  Postgres server for the throw-away database
#                          (default postgres://postgres@127.0.0.1:5432)
# Redis and RabbitMQ are expected at the usual local defaults.
#
# Exit status: 0 when every step ran, whatever the figures; non-zero when something failed to
# run (build, start-up, a non-200 answer, wrk). The figures are never asserted.
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
READY_TIMEOUT=${READY_TIMEOUT:-120}
TARGET_PCT=30
LIST_PATH='/api/v1/sessions?limit=20'
BARE_PATH='/bare'

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rc-bench.XXXXXX")
SERVER_PID=""
WRK_PID=""

log() { printf '==> %s\n' "$*" >&2; }
die() {
    printf 'bench: error: %s\n' "$*" >&2
    if [[ -s $WORK/server.log ]]; then
        printf -- '--- last lines of the server log ---\n' >&2
        tail -n 20 "$WORK/server.log" >&2
    fi
    exit 1
}

stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        # Graceful stop drops the database; bounded so a wedged server cannot hang us.
        local deadline=$((SECONDS + 40))
        while kill -0 "$SERVER_PID" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.2
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            log "server did not stop in time; killing it (its rc_bench_* database may remain)"
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    exec 7>&- 8<&-
    if [[ -s $WORK/server.log ]]; then
        grep -E '^bench_server: (dropped|deleted|could not)' "$WORK/server.log" | sed 's/^/    /' >&2 || true
    fi
}

cleanup() {
    local rc=$?
    [[ -z $WRK_PID ]] || kill -TERM "$WRK_PID" 2>/dev/null || true
    stop_server
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Seconds in a wrk duration (10s, 2m, 1h; a bare number is seconds).
to_seconds() {
    local d=$1
    case $d in
    *h) echo $((${d%h} * 3600)) ;;
    *m) echo $((${d%m} * 60)) ;;
    *s) echo "${d%s}" ;;
    *) echo "$d" ;;
    esac
}

# ---------------------------------------------------------------- tools
install_pkg() {
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || die "$1 is missing and we are not root (install it: apt-get install $1)"
        sudo=(sudo -n)
    fi
    log "installing $1 with apt-get"
    local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
    if ! "${apt[@]}" install -y -q "$1" >&2; then
        "${apt[@]}" update -q >&2 || true
        "${apt[@]}" install -y -q "$1" >&2 || die "could not install $1"
    fi
}
command -v wrk >/dev/null || install_pkg wrk
command -v curl >/dev/null || install_pkg curl
# pgbench measures the list query alone (the database's ceiling). It ships with the Postgres
# server package, which is not installed for it: without one, that row is skipped.
PGBENCH=$(command -v pgbench || true)
if [[ -z $PGBENCH ]]; then
    for candidate in /usr/lib/postgresql/*/bin/pgbench; do
        [[ -x $candidate ]] && PGBENCH=$candidate
    done
fi

# ---------------------------------------------------------------- build
if [[ -n ${BENCH_SERVER:-} ]]; then
    BIN=$BENCH_SERVER
else
    log "building the benchmark server (release)"
    (cd "$ROOT" && SQLX_OFFLINE=true cargo build --release --example bench_server -p api) ||
        die "cargo build failed"
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/bench_server"
fi
[[ -x $BIN ]] || die "built binary not found at $BIN"

# ---------------------------------------------------------------- start
# stdin and stdout are fifos: we hold stdin open on fd 7 (if this script dies, the server sees
# end-of-file and cleans up), and read the ready line from fd 8 with a deadline.
mkfifo "$WORK/stdin" "$WORK/stdout"
log "starting $BIN"
"$BIN" <"$WORK/stdin" >"$WORK/stdout" 2>"$WORK/server.log" &
SERVER_PID=$!
exec 7>"$WORK/stdin" 8<"$WORK/stdout"

READY=""
deadline=$((SECONDS + READY_TIMEOUT))
while ((SECONDS < deadline)); do
    if ! IFS= read -r -t $((deadline - SECONDS)) -u 8 line; then
        break # end of file (the server exited) or timeout
    fi
    if [[ $line == BENCH_READY\ * ]]; then
        READY=$line
        break
    fi
    printf '%s\n' "$line" >>"$WORK/server.log"
done
[[ -n $READY ]] || die "server not ready within ${READY_TIMEOUT}s (or it exited)"
# Keep draining stdout (logs, if RUST_LOG asks for them) so the server never blocks on it.
cat <&8 >>"$WORK/server.log" 7>&- &

API="" BARE="" TOKEN="" ORG="" DB=""
for kv in $READY; do
    case $kv in
    api=*) API=${kv#api=} ;;
    bare=*) BARE=${kv#bare=} ;;
    token=*) TOKEN=${kv#token=} ;;
    org=*) ORG=${kv#org=} ;;
    db=*) DB=${kv#db=} ;;
    esac
done
[[ -n $API && -n $BARE && -n $TOKEN ]] || die "malformed ready line: ${READY%%token=*}token=…"
log "api at $API, bare handler at $BARE"

# ---------------------------------------------------------------- check answers
check() { # name url [curl args…]
    local name=$1 url=$2
    shift 2
    local code bytes
    read -r code bytes < <(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{size_download}\n' "$@" "$url" 7>&-) ||
        die "$name: request failed"
    [[ $code == 200 ]] || die "$name: GET $url answered $code, expected 200"
    log "$name: 200, $bytes bytes"
}
AUTH="Authorization: Bearer $TOKEN"
check bare "$BARE$BARE_PATH"
check api "$API$LIST_PATH" -H "$AUTH"

# ---------------------------------------------------------------- measure
run_wrk() { # duration out url [wrk args…]
    local duration=$1 out=$2 url=$3
    shift 3
    local limit=$(($(to_seconds "$duration") + 30))
    # In the background and waited for, so a signal to this script is handled at once.
    timeout --kill-after=5 "$limit" \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency "$@" "$url" >"$out" 7>&- &
    WRK_PID=$!
    wait "$WRK_PID" || die "wrk failed against $url: $(cat "$out")"
    WRK_PID=""
}

log "warming up (${WARMUP} each)"
run_wrk "$WARMUP" "$WORK/warm-bare.txt" "$BARE$BARE_PATH"
run_wrk "$WARMUP" "$WORK/warm-api.txt" "$API$LIST_PATH" -H "$AUTH"

log "measuring bare handler (${DURATION})"
run_wrk "$DURATION" "$WORK/bare.txt" "$BARE$BARE_PATH"
log "measuring GET $LIST_PATH (${DURATION})"
run_wrk "$DURATION" "$WORK/api.txt" "$API$LIST_PATH" -H "$AUTH"

# The database's ceiling: the api's list query (rc_domain::sessions::list, the owner's first
# page) alone, prepared, over as many connections as wrk uses, from pgbench (C, no HTTP, rows
# not decoded). The api cannot serve more lists per second than this on the same machine.
DB_TPS=""
if [[ -n $PGBENCH && -n $DB && -n $ORG ]]; then
    cat >"$WORK/list.sql" <<SQL
SELECT id, owner_id, name, state, state_reason, image, limits, network_policy,
       repository_url, model, permission_mode, created_at, updated_at, started_at, stopped_at
FROM sessions
WHERE org_id = '$ORG' AND deleted_at IS NULL
  AND (NULL::uuid IS NULL OR owner_id = NULL::uuid)
  AND (NULL::session_state IS NULL OR state = NULL::session_state)
  AND (NULL::uuid IS NULL OR id < NULL::uuid)
ORDER BY id DESC LIMIT 21;
SQL
    log "measuring the list query alone with pgbench (${DURATION})"
    timeout --kill-after=5 $(($(to_seconds "$DURATION") + 30)) \
        "$PGBENCH" -n -M prepared -c "$CONNECTIONS" -j "$THREADS" -T "$(to_seconds "$DURATION")" \
        -f "$WORK/list.sql" "$DB" >"$WORK/pgbench.txt" 2>&1 7>&- ||
        die "pgbench failed: $(tail -n 5 "$WORK/pgbench.txt")"
    DB_TPS=$(awk '/^tps = / { printf "%.2f", $3 }' "$WORK/pgbench.txt")
else
    log "pgbench not found: skipping the database ceiling"
fi

stop_server

# ---------------------------------------------------------------- report
rps() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
# 99th percentile from the --latency distribution, in milliseconds.
p99_ms() {
    awk '$1 == "99%" {
        v = $2; n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
        printf "%.2f", n }' "$1"
}
# Requests wrk counted as failed: non-2xx/3xx answers plus socket errors.
failures() {
    awk '/Non-2xx or 3xx responses:/ { n += $NF }
         /Socket errors:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i }
         END { print n + 0 }' "$1"
}

BARE_RPS=$(rps "$WORK/bare.txt")
API_RPS=$(rps "$WORK/api.txt")
BARE_P99=$(p99_ms "$WORK/bare.txt")
API_P99=$(p99_ms "$WORK/api.txt")
[[ -n $BARE_RPS && -n $API_RPS && -n $BARE_P99 && -n $API_P99 ]] || {
    cat "$WORK/bare.txt" "$WORK/api.txt" >&2
    die "could not parse wrk output"
}
BARE_FAIL=$(failures "$WORK/bare.txt")
API_FAIL=$(failures "$WORK/api.txt")
RATIO=$(awk -v a="$API_RPS" -v b="$BARE_RPS" 'BEGIN { printf "%.1f", (b > 0 ? 100 * a / b : 0) }')
VERDICT=$(awk -v r="$RATIO" -v t="$TARGET_PCT" 'BEGIN { print (r >= t ? "met" : "NOT met") }')

printf '\nGET %s (token auth + Postgres) vs bare actix-web handler, same process, same run\n' "$LIST_PATH"
printf 'wrk -t%s -c%s -d%s --latency; %s cores; %s\n\n' "$THREADS" "$CONNECTIONS" "$DURATION" "$(nproc)" "$(date -u '+%Y-%m-%d %H:%M UTC')"
printf '%-22s %14s %12s %10s\n' endpoint 'requests/s' 'p99 (ms)' failed
printf '%-22s %14s %12s %10s\n' 'bare GET /bare' "$BARE_RPS" "$BARE_P99" "$BARE_FAIL"
printf '%-22s %14s %12s %10s\n' 'api GET /sessions' "$API_RPS" "$API_P99" "$API_FAIL"
if [[ -n $DB_TPS ]]; then
    printf '%-22s %14s %12s %10s\n' 'list query (pgbench)' "$DB_TPS" '-' '-'
fi
printf '\nratio api/bare requests/s: %s %% (target >= %s %%: %s)\n' "$RATIO" "$TARGET_PCT" "$VERDICT"
if [[ -n $DB_TPS ]]; then
    awk -v d="$DB_TPS" -v b="$BARE_RPS" -v a="$API_RPS" 'BEGIN {
        printf "database ceiling: the query alone runs %.0f times/s = %.1f %% of bare; the api reaches %.1f %% of that ceiling\n", d, 100 * d / b, 100 * a / d }'
fi
if ((BARE_FAIL + API_FAIL > 0)); then
    printf 'warning: wrk counted failed requests; the figures include them\n'
fi
