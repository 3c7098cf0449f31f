#!/usr/bin/env bash
# Install the pinned native Claude Code CLI into the cache folder and print
# the binary's path on stdout (logs go to stderr), e.g.
#   CLAUDE_BIN="$(scripts/install-claude-cli.sh)"
#
# Layout: $REMOTE_CLAUDE_CACHE_DIR/claude-cli/<version>/claude, plus the symlink
# $REMOTE_CLAUDE_CACHE_DIR/claude-cli/claude -> <version>/claude that tests and the local
# run use. Idempotent: an installed binary that reports the pinned version is
# reused without touching the network.
#
# Where the binary comes from: the npm package @anthropic-ai/claude-code is
# only a wrapper whose postinstall copies the native executable out of a
# per-platform optional dependency (@anthropic-ai/claude-code-linux-x64, ...).
# We fetch that platform package directly with `npm pack`: npm checks the
# tarball against the registry's integrity hash, and no install scripts run.
# The result is the self-contained Bun executable the sandbox image copies
# (docs: environment.md §4; it needs glibc only, no node at run time).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The version docs/claude-cli.md was verified against; bump both together and
# re-run the probes described there.
CLAUDE_VERSION="${REMOTE_CLAUDE_CLI_VERSION:-2.1.328}"
CLI_DIR="$REMOTE_CLAUDE_CACHE_DIR/claude-cli"
BIN="$CLI_DIR/$CLAUDE_VERSION/claude"
LINK="$CLI_DIR/claude"

# `claude --version` prints "2.1.328 (Claude Code)". The DISABLE_* variables
# keep even this trivial call off the network.
reports_version() {
    local out
    out="$(env DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
        timeout 60 "$1" --version </dev/null 2>/dev/null)" || return 1
    [[ "$out" == "$CLAUDE_VERSION "* ]]
}

platform() {
    local arch libc=""
    case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "unsupported CPU $(uname -m) (Claude Code ships x64 and arm64)" ;;
    esac
    [ "$(uname -s)" = Linux ] || die "this script installs the Linux build only"
    # Alpine & co. need the musl build; glibc systems the plain one.
    if ldd --version 2>&1 | grep -qi musl; then libc=-musl; fi
    printf 'linux-%s%s' "$arch" "$libc"
}

if [ -x "$BIN" ] && reports_version "$BIN"; then
    ln -sfn "$CLAUDE_VERSION/claude" "$LINK"
    log "Claude Code $CLAUDE_VERSION already installed"
    printf '%s\n' "$BIN"
    exit 0
fi

command -v npm >/dev/null || die "npm is required (Debian: apt-get install npm)"
PKG="@anthropic-ai/claude-code-$(platform)@$CLAUDE_VERSION"

mkdir -p "$CLI_DIR/$CLAUDE_VERSION"
# Download into a private directory next to the target, then rename: two
# concurrent runs cannot leave a half-written binary behind.
TMP="$(mktemp -d "$CLI_DIR/.download.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

log "downloading $PKG from npm (~100 MB, one-time)"
tarball="$(cd "$TMP" && npm pack --silent --no-fund --no-audit "$PKG" | tail -n 1)"
[ -f "$TMP/$tarball" ] || die "npm pack did not produce a tarball for $PKG"
tar -xzf "$TMP/$tarball" -C "$TMP" package/claude
chmod 0755 "$TMP/package/claude"
reports_version "$TMP/package/claude" ||
    die "downloaded binary does not report version $CLAUDE_VERSION"

mv -f "$TMP/package/claude" "$BIN"
ln -sfn "$CLAUDE_VERSION/claude" "$LINK"
log "installed Claude Code $CLAUDE_VERSION at $BIN"
printf '%s\n' "$BIN"
