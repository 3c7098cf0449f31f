#!/usr/bin/env bash
# Start an S3-compatible server (s3s-fs, the MinIO stand-in; see
# docs environment.md "S3-compatible storage") on 127.0.0.1:${REMOTE_CLAUDE_S3_PORT:-9000}
# with access key rcdev / secret rcdevsecret. Idempotent: does nothing when
# the port already answers. The binary is built once into the cache folder
# (~5 min) and reused by later runs.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

S3_PORT="${REMOTE_CLAUDE_S3_PORT:-9000}"
S3_DATA="$REMOTE_CLAUDE_CACHE_DIR/s3-data"
S3_BIN="$REMOTE_CLAUDE_CACHE_DIR/tools/bin/s3s-fs"
S3_LOG="$REMOTE_CLAUDE_CACHE_DIR/s3s-fs.log"

# s3s-fs resolves object paths through the process's working directory: once that directory
# is deleted (a CI clone removed after the run that started the server) every request answers
# 500. Such a server is replaced; new ones start in the data directory, which outlives them.
if tcp_open 127.0.0.1 "$S3_PORT"; then
    stale=""
    for pid in $(pgrep -f "^$S3_BIN " || true); do
        if [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == *" (deleted)" ]]; then
            stale="$stale $pid"
        fi
    done
    if [[ -z $stale ]]; then
        log "S3 already listening on 127.0.0.1:$S3_PORT"
        exit 0
    fi
    log "restarting s3s-fs (pid$stale): its working directory was deleted"
    # shellcheck disable=SC2086 # several pids, one word each
    kill $stale
    for _ in $(seq 50); do
        tcp_open 127.0.0.1 "$S3_PORT" || break
        sleep 0.1
    done
    ! tcp_open 127.0.0.1 "$S3_PORT" || die "the old s3s-fs still holds port $S3_PORT"
fi

if [ ! -x "$S3_BIN" ]; then
    # 0.15+ needs rustc 1.96; --locked keeps the dependency set that is known to build.
    log "building s3s-fs 0.14.1 into $REMOTE_CLAUDE_CACHE_DIR/tools (one-time, ~5 min)"
    cargo install s3s-fs@0.14.1 --features binary --locked --root "$REMOTE_CLAUDE_CACHE_DIR/tools"
fi

mkdir -p "$S3_DATA"
# setsid + nohup: the server must outlive the shell that started it; started from the data
# directory (see above).
(cd "$S3_DATA" && exec setsid nohup "$S3_BIN" --host 127.0.0.1 --port "$S3_PORT" \
    --access-key rcdev --secret-key rcdevsecret "$S3_DATA" \
    >>"$S3_LOG" 2>&1 </dev/null) &
pid=$!

# s3s-fs serves as soon as it listens; a TCP check keeps its log free of the
# "Signature is required" errors that unsigned HTTP probes would cause.
if ! wait_for_pid "$pid" 20 "s3s-fs on port $S3_PORT" tcp_open 127.0.0.1 "$S3_PORT"; then
    tail -n 20 "$S3_LOG" >&2 || true
    die "s3s-fs did not start (log: $S3_LOG)"
fi
log "S3 ready on http://127.0.0.1:$S3_PORT (pid $pid, data $S3_DATA)"
