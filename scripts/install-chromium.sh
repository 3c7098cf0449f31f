#!/usr/bin/env bash
# Debian's Chromium for the browser end-to-end tests (services/api/tests/e2e drives it through
# frontend/e2e with npm's playwright-core; no browser download from Playwright). Prints the
# browser's path on stdout (logs go to stderr), e.g.
#   REMOTE_CLAUDE_CHROMIUM="$(scripts/install-chromium.sh)"
# Idempotent: a Chromium that starts is reused without touching the network.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN="${REMOTE_CLAUDE_CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$BIN" ]; then
    [ "$BIN" = /usr/bin/chromium ] || die "$BIN (REMOTE_CLAUDE_CHROMIUM) is not an executable"
    log "installing Debian's chromium"
    apt_install chromium >&2
fi
version="$("$BIN" --headless --no-sandbox --version 2>/dev/null)" || die "$BIN does not start"
log "$version ($BIN)"
echo "$BIN"
