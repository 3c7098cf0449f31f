#!/usr/bin/env bash
# Captures one turn of real Claude Code stream-json output as a fixture.
#
#   capture.sh NAME PROMPT [extra claude args...]
#
# Needs tools/fake-anthropic listening on $FAKE_URL (default http://127.0.0.1:18090:
# `cargo run -p fake-anthropic -- --port 18090`) and the pinned CLI ($CLAUDE, default the
# scripts/install-claude-cli.sh location). The prompt picks the fake model's behaviour
# (tools/fake-anthropic/src/scenario.rs). Runs in a fresh HOME and working directory holding a
# three-line notes.txt; writes $OUT/NAME.jsonl (default: ../fixtures). Set EXTRA_ENV for
# additional environment (e.g. EXTRA_ENV=CLAUDE_CODE_MAX_RETRIES=1).
set -euo pipefail
name=$1; prompt=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/../fixtures}
claude=${CLAUDE:-$HOME/.cache/remote-claude/claude-cli/2.1.328/claude}
work=$(mktemp -d); home=$(mktemp -d)
trap 'rm -rf "$work" "$home"' EXIT
printf 'line one\nline two\nline three\n' > "$work/notes.txt"
line=$(python3 -c 'import json,sys; print(json.dumps({"type":"user","message":{"role":"user","content":sys.argv[1]}}))' "$prompt")
cd "$work"
# shellcheck disable=SC2086 # EXTRA_ENV is a list of NAME=value words
echo "$line" | env ${EXTRA_ENV:-} HOME="$home" ANTHROPIC_BASE_URL="${FAKE_URL:-http://127.0.0.1:18090}" \
  ANTHROPIC_API_KEY=dummy CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 \
  DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 \
  timeout 120 "$claude" -p --input-format stream-json --output-format stream-json --verbose \
  --include-partial-messages --permission-mode acceptEdits --model claude-sonnet-4-5 "$@" \
  > "$out/$name.jsonl" || echo "$name: claude exited $? (expected for error scenarios)" >&2
echo "$name: $(wc -l < "$out/$name.jsonl") lines"
