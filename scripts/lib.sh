# shellcheck shell=bash
# Shared helpers for the scripts in this folder. Source it, don't run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Repository root (this file lives in <root>/scripts).
REMOTE_CLAUDE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Cache folder outside the clone, so repeated CI runs on one machine reuse
# tool binaries and build output while a fresh machine still works.
REMOTE_CLAUDE_CACHE_DIR="${REMOTE_CLAUDE_CACHE_DIR:-$HOME/.cache/remote-claude}"
export REMOTE_CLAUDE_ROOT REMOTE_CLAUDE_CACHE_DIR

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
section() { printf '\n==== %s ====\n' "$*" >&2; }

# wait_for SECONDS DESCRIPTION CMD...
# Runs CMD every 0.2 s until it succeeds or SECONDS have passed (never waits forever).
wait_for() {
    local timeout=$1 what=$2
    shift 2
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            log "timed out after ${timeout}s waiting for $what"
            return 1
        fi
        sleep 0.2
    done
}

# wait_for_pid PID SECONDS DESCRIPTION CMD...
# Like wait_for, but gives up at once when process PID has exited (fail fast
# instead of waiting out the whole bound for a daemon that already died).
wait_for_pid() {
    local pid=$1 timeout=$2 what=$3
    shift 3
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$what: process $pid exited during startup"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            log "timed out after ${timeout}s waiting for $what"
            return 1
        fi
        sleep 0.2
    done
}

# tcp_open HOST PORT: true when something accepts TCP connections there.
tcp_open() { timeout 2 bash -c ">/dev/tcp/$1/$2" 2>/dev/null; }

# apt_install PKG...: install Debian packages non-interactively. Another
# process may hold the dpkg lock (unattended jobs, a parallel script), so wait
# for it instead of failing. `apt-get update` runs once per script run.
_RC_APT_UPDATED=""
apt_install() {
    local apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q)
    if [ -z "$_RC_APT_UPDATED" ]; then
        DEBIAN_FRONTEND=noninteractive "${apt[@]}" update
        _RC_APT_UPDATED=1
    fi
    log "apt install $*"
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install --no-install-recommends "$@"
}

# Prefer our own cached tool binaries (s3s-fs, sqlx) over nothing.
case ":$PATH:" in
*":$REMOTE_CLAUDE_CACHE_DIR/tools/bin:"*) ;;
*) export PATH="$REMOTE_CLAUDE_CACHE_DIR/tools/bin:$HOME/.cargo/bin:$PATH" ;;
esac
