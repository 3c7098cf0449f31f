#!/usr/bin/env bash
# Start the Docker engine (overlay2) in the background and wait until it answers.
# Idempotent: exits at once when /var/run/docker.sock already answers /_ping.
# These machines have no systemd, so dockerd is started by hand; see
# docs environment.md Part A §2 for why overlay2 and no other flags.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SOCK=/var/run/docker.sock
LOG=/var/log/dockerd.log

command -v curl >/dev/null || apt_install curl ca-certificates
ping_docker() { curl -fsS --max-time 2 --unix-socket "$SOCK" http://localhost/_ping; }

if ping_docker >/dev/null 2>&1; then
    log "Docker engine already running"
    exit 0
fi

# Debian's docker.io brings dockerd, containerd and runc (a docker CLI alone is not enough).
command -v dockerd >/dev/null || apt_install docker.io

if pid="$(pgrep -x dockerd)"; then
    # Started by someone else and still booting: just wait for it.
    pid="${pid%%$'\n'*}"
    log "dockerd already started (pid $pid), waiting for it"
else
    log "starting dockerd (log: $LOG)"
    # setsid + nohup: the daemon must outlive this CI step's shell.
    # Never pass --storage-driver here AND in /etc/docker/daemon.json: dockerd then exits at once.
    flags=(--storage-driver=overlay2)
    if [ -f /etc/docker/daemon.json ] && grep -q '"storage-driver"' /etc/docker/daemon.json; then
        flags=()
    fi
    setsid nohup dockerd "${flags[@]}" >>"$LOG" 2>&1 </dev/null &
    pid=$!
fi

if ! wait_for_pid "$pid" 60 "dockerd" ping_docker; then
    tail -n 30 "$LOG" >&2 || true
    die "dockerd did not become ready"
fi
log "Docker engine ready ($(curl -fsS --unix-socket "$SOCK" http://localhost/version | grep -o '"Version":"[^"]*"' | head -n 1))"
