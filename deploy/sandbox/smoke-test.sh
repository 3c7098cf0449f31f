#!/usr/bin/env bash
# Start the sandbox image hardened, the way session-manager will (--network none, no
# capabilities, read-only root, tmpfs /tmp and home, limits, workspace volume, --init, uid 1000),
# check from inside that every property holds, then remove the container and its volume.
#
# Usage: deploy/sandbox/smoke-test.sh [IMAGE]      (default local/claude-sandbox:latest)
# Prints one PASS/FAIL line per check; exits 1 when any check fails. Needs a running engine
# (scripts/start-dockerd.sh) and the image (scripts/build-sandbox-image.sh). No network use.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

IMAGE="${1:-local/claude-sandbox:latest}"
SID="rc-sandbox-smoke-$$"
docker image inspect "$IMAGE" >/dev/null 2>&1 || die "no image $IMAGE (run scripts/build-sandbox-image.sh)"
WANT_VERSION="$(docker image inspect -f '{{index .Config.Labels "remote-claude.claude-version"}}' "$IMAGE")"

cleanup() {
    docker rm -f "$SID" >/dev/null 2>&1 || true
    docker volume rm "$SID-ws" >/dev/null 2>&1 || true
}
trap cleanup EXIT

section "start $IMAGE hardened, --network none"
# The flags of environment.md §0/§5, with --network none instead of the cc-sandbox network.
# shellcheck disable=SC2054 # the commas belong to the mount options
run_flags=(
    --init --user 1000:1000
    --cap-drop ALL --security-opt no-new-privileges --read-only
    --tmpfs /tmp:rw,nosuid,nodev,size=256m
    --tmpfs /home/agent:rw,nosuid,nodev,size=256m,uid=1000,gid=1000,mode=0700
    --pids-limit 256 --memory 2g --memory-swap 2g --cpus 1
    --network none
    --mount "type=volume,source=$SID-ws,target=/workspace"
)
log "docker run -d --name $SID ${run_flags[*]} $IMAGE"
t0=$(date +%s%N)
docker run -d --name "$SID" "${run_flags[@]}" "$IMAGE" >/dev/null
wait_for 20 "container $SID" docker exec "$SID" true || die "container did not start"
log "running after $((($(date +%s%N) - t0) / 1000000)) ms"

FAILED=0
# check NAME EXPECTED-EXTENDED-REGEX SHELL-COMMAND [host]: runs the command inside the container
# as uid 1000 (or, with "host", on this machine), joins its output lines and matches the regex.
check() {
    local name="$1" want="$2" got
    local runner=(docker exec "$SID" bash -c)
    if [ "${4:-}" = host ]; then runner=(bash -c); fi
    got="$("${runner[@]}" "$3" 2>&1 | tr '\n' ' ' | sed 's/ *$//')" || true
    if [[ "$got" =~ $want ]]; then
        printf 'PASS  %-30s %s\n' "$name" "$got"
    else
        printf 'FAIL  %-30s %s   (wanted /%s/)\n' "$name" "$got" "$want"
        FAILED=$((FAILED + 1))
    fi
}
# What `claude -p` reports as its permission mode. The API is unreachable on purpose (port 9 on
# the container's own loopback, no retries): the init line comes before the first API call.
claude_mode() {
    printf '%s' "ANTHROPIC_BASE_URL=http://127.0.0.1:9 ANTHROPIC_API_KEY=sk-ant-smoke CLAUDE_CODE_MAX_RETRIES=0 \
timeout 30 claude -p hi $* --output-format stream-json --verbose </dev/null 2>/dev/null \
| grep -o '\"permissionMode\":\"[a-zA-Z]*\"' | head -n 1"
}

section "checks (inside the container)"
check "user" '^uid=1000\(agent\) gid=1000\(agent\)' 'id'
check "capabilities" '^CapPrm:	0+ CapEff:	0+ CapBnd:	0+$' \
    "grep -E '^Cap(Prm|Eff|Bnd):' /proc/self/status"
check "no_new_privs, seccomp" '^NoNewPrivs:	1 Seccomp:	2' \
    "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status"
check "root filesystem read-only" 'Read-only file system' 'touch /probe'
check "/workspace writable" '^ok$' 'touch /workspace/.p && rm /workspace/.p && echo ok'
# shellcheck disable=SC2016 # expands inside the container
check "\$HOME writable (tmpfs)" '^/home/agent ok$' 'touch ~/.p && rm ~/.p && echo "$HOME ok"'
check "/tmp noexec tmpfs" 'noexec' "grep ' /tmp ' /proc/mounts"
check "network interfaces" '^lo$' "awk -F: 'NR > 2 { gsub(/ /, \"\", \$1); print \$1 }' /proc/net/dev"
check "pids limit" '^256$' 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max'
check "memory limit" '^2147483648$' \
    'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'
check "claude --version" "^${WANT_VERSION//./\\.} \\(Claude Code\\)$" 'claude --version'
check "git" '^git version 2\.' 'git --version'
check "ripgrep" '^ripgrep [0-9]' 'rg --version | head -n 1'
check "managed settings owner/mode" '^root:root 555 /etc/claude-code root:root 444 /etc/claude-code/managed-settings.json$' \
    "stat -c '%U:%G %a %n' /etc/claude-code /etc/claude-code/managed-settings.json"
check "managed settings not writable" '^not writable$' \
    'test -w /etc/claude-code/managed-settings.json && echo writable || echo not writable'
# Without --read-only too: ownership and modes alone must keep uid 1000 out.
check "settings, writable root" '^(.*Permission denied.*){3}$' \
    "docker run --rm --network none --user 1000:1000 $(printf %q "$IMAGE") bash -c \
'echo x >> /etc/claude-code/managed-settings.json; rm -f /etc/claude-code/managed-settings.json; \
touch /etc/claude-code/managed-settings.d/x.json' 2>&1" host
check "onboarding template" '^root:root 444 .*"hasCompletedOnboarding": true' \
    "stat -c '%U:%G %a' /etc/remote-claude/claude.json.template; cat /etc/remote-claude/claude.json.template"
check "policy: bypass refused" '^"permissionMode":"default"$' "$(claude_mode --dangerously-skip-permissions)"
check "policy: auto mode refused" '^"permissionMode":"default"$' "$(claude_mode --permission-mode auto)"
check "policy: acceptEdits allowed" '^"permissionMode":"acceptEdits"$' "$(claude_mode --permission-mode acceptEdits)"

section "result"
if [ "$FAILED" -gt 0 ]; then die "$FAILED check(s) failed"; fi
log "all checks passed; removing $SID and volume $SID-ws"
