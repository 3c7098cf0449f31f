#!/usr/bin/env bash
# Build the session sandbox image (deploy/sandbox/) without any container registry:
#
#   1. Docker engine and host tools (scripts/start-dockerd.sh; debootstrap, zstd from apt)
#   2. base image  local/bookworm-minbase:<recipe-hash>
#        debootstrap --variant=minbase bookworm → trim → tar | docker import
#        (the rootfs tarball is cached, so a rerun or a fresh engine skips debootstrap)
#   3. Claude Code binary (scripts/install-claude-cli.sh, pinned version) and the
#      sandbox-agent binary (cargo build --release -p sandbox-agent)
#   4. sandbox image  local/claude-sandbox:<inputs-hash> (+ :latest)
#        docker build of deploy/sandbox/Dockerfile with BASE_IMAGE = the image from step 2;
#        skipped when that tag exists, loaded from a cached `docker save` archive when one
#        exists for the hash
#   5. optional: docker save | zstd (or gzip) for CI caching
#
# The inputs hash covers the Dockerfile, both settings files, the Claude Code version, the
# sandbox-agent binary and the base image's content (its layer digests and config, not its image id, which changes on every
# `docker import` of the same tarball). Same inputs → same tag → nothing to do.
#
# Usage: scripts/build-sandbox-image.sh [--save PATH] [--save-cache] [--force] [--refresh-base]
#   --save PATH     also write the image to PATH (`docker save`, zstd; gzip when PATH ends in .gz)
#   --save-cache    also write it to the cache folder, where later runs load it from
#   --force         rebuild the sandbox image even if the tag or a cached archive exists
#   --refresh-base  run debootstrap again (picks up Debian point releases and security fixes)
# Environment:
#   REMOTE_CLAUDE_CACHE_DIR     cache root (default ~/.cache/remote-claude); ours is <it>/sandbox/
#   REMOTE_CLAUDE_SANDBOX_IMAGE image name (default local/claude-sandbox)
#   REMOTE_CLAUDE_SANDBOX_SLIM  1 (default): no docs/man/locales in the base, also for packages
#                               installed later; 0 keeps them
#   REMOTE_CLAUDE_DEBIAN_MIRROR           default http://deb.debian.org/debian
#   REMOTE_CLAUDE_DEBIAN_SECURITY_MIRROR  default http://deb.debian.org/debian-security
#   REMOTE_CLAUDE_CLI_VERSION   read by scripts/install-claude-cli.sh (the pinned CLI version)
# Output: progress and timings on stderr; the final image tag on stdout.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; }

SAVE_PATH="" SAVE_CACHE=0 FORCE=0 REFRESH_BASE=0
while [ $# -gt 0 ]; do
    case "$1" in
    --save)
        [ $# -ge 2 ] || die "--save needs a path"
        SAVE_PATH="$2"
        shift
        ;;
    --save=*) SAVE_PATH="${1#--save=}" ;;
    --save-cache) SAVE_CACHE=1 ;;
    --force) FORCE=1 ;;
    --refresh-base) REFRESH_BASE=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done

SRC="$REMOTE_CLAUDE_ROOT/deploy/sandbox"
CACHE="$REMOTE_CLAUDE_CACHE_DIR/sandbox"
IMAGE="${REMOTE_CLAUDE_SANDBOX_IMAGE:-local/claude-sandbox}"
BASE_REPO=local/bookworm-minbase
SLIM="${REMOTE_CLAUDE_SANDBOX_SLIM:-1}"
MIRROR="${REMOTE_CLAUDE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${REMOTE_CLAUDE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
SUITE=bookworm
# The files of deploy/sandbox that go into the build context (and into the inputs hash).
CONTEXT_FILES=(Dockerfile managed-settings.default.json claude.json.template)

# ---- progress and timing helpers ------------------------------------------------------------
TIMINGS=()
now_ms() { echo $(($(date +%s%N) / 1000000)); }
T_TOTAL=$(now_ms)
step() {
    STEP_NAME="$1"
    STEP_T0=$(now_ms)
    section "$1"
}
step_done() { # [NOTE]
    local ms=$(($(now_ms) - STEP_T0))
    local line
    line="$(printf '%-32s %7.1f s  %s' "$STEP_NAME" "$((ms / 100))e-1" "${1:-}")"
    TIMINGS+=("$line")
    log "done in $(printf '%.1f' "$((ms / 100))e-1") s${1:+ ($1)}"
}
short_hash() { sha256sum | cut -c1-12; }
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
human_size() { numfmt --to=si --suffix=B --format='%.1f' "$1"; }

# Compress stdin to FILE: zstd, or gzip when FILE ends in .gz. Written beside FILE and renamed,
# so an interrupted run never leaves a truncated archive under the final name.
compress_to() {
    local file="$1" tmp="$1.partial.$$"
    case "$file" in
    *.gz) gzip -1 >"$tmp" ;;
    *) zstd -q -T0 -3 -o "$tmp" ;;
    esac
    mv -f "$tmp" "$file"
}
decompress() {
    case "$1" in
    *.gz) gzip -dc "$1" ;;
    *) zstd -q -dc "$1" ;;
    esac
}

# Temporary files live in the cache folder: same filesystem as the cached claude binary (so the
# build context can hard-link it) and plenty of space for a rootfs.
TMP_PATHS=()
# Remove a temporary tree. An interrupted debootstrap can leave proc/sys mounted inside its
# target: unmount whatever is mounted below the tree first, and never cross into a mount.
remove_tree() {
    local mnt
    awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r mnt; do umount -l "$mnt" || true; done
    rm -rf --one-file-system "$1"
}
cleanup() {
    local p
    for p in "${TMP_PATHS[@]}"; do remove_tree "$p"; done
    rm -f "$CACHE"/*.partial.$$
}
trap cleanup EXIT

# ---- 1. engine and tools ----------------------------------------------------------------------
step "1/5 Docker engine and tools"
# stdout is reserved for the final tag: the helpers' apt output goes to stderr.
"$REMOTE_CLAUDE_ROOT/scripts/start-dockerd.sh" >&2
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v zstd >/dev/null || missing+=(zstd)
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}" >&2; fi
mkdir -p "$CACHE"
# One build at a time per cache folder (two runs would debootstrap and build the same thing).
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
    log "another build holds $CACHE/.lock, waiting (up to 30 min)"
    flock -w 1800 9 || die "timed out waiting for $CACHE/.lock"
fi
for f in "${CONTEXT_FILES[@]}"; do [ -f "$SRC/$f" ] || die "missing $SRC/$f"; done
# A syntax error in the settings would only show up as a CLI warning inside a session.
if command -v python3 >/dev/null; then
    for f in managed-settings.default.json claude.json.template; do
        python3 -m json.tool "$SRC/$f" >/dev/null || die "$SRC/$f is not valid JSON"
    done
fi
step_done

# ---- 2. base image ----------------------------------------------------------------------------
step "2/5 base image (debootstrap)"
ARCH="$(dpkg --print-architecture)"
IMPORT_CHANGES=(
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    --change 'CMD ["/bin/bash"]'
)

# Runs on a fresh debootstrap tree: apt sources, no recommends, optional slimming, no caches.
trim_rootfs() {
    local root="$1"
    cat >"$root/etc/apt/sources.list" <<EOF_SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF_SOURCES
    cat >"$root/etc/apt/apt.conf.d/90remote-claude" <<'EOF_APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF_APT
    if [ "$SLIM" = 1 ]; then
        # Same exclusions as Debian's official -slim images; dpkg honours them for every
        # package installed later (the Dockerfile's apt layer), the rm below for those present.
        cat >"$root/etc/dpkg/dpkg.cfg.d/90remote-claude-slim" <<'EOF_DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF_DPKG
        find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
        find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
        rm -rf "$root"/usr/share/{man,groff,info,lintian,linda,locale}/*
    fi
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb \
        "$root"/var/cache/apt/*.bin "$root"/tmp/* "$root"/var/tmp/*
    find "$root/var/log" -type f -delete
    # debootstrap copies these from the build host; Docker provides its own at run time.
    : >"$root/etc/resolv.conf"
    : >"$root/etc/hostname"
}

# The recipe hash names the base tag and its cached tarball: it changes when anything that
# shapes the rootfs changes, including the code of trim_rootfs itself.
BASE_KEY="$(
    {
        echo "$SUITE minbase $ARCH $MIRROR $SECURITY_MIRROR slim=$SLIM"
        printf '%s\n' "${IMPORT_CHANGES[@]}"
        declare -f trim_rootfs
    } | short_hash
)"
BASE_TAG="$BASE_REPO:$BASE_KEY"
ROOTFS_TAR="$CACHE/bookworm-minbase-$BASE_KEY.tar.zst"

if [ "$REFRESH_BASE" = 1 ]; then
    log "--refresh-base: discarding the cached rootfs"
    rm -f "$ROOTFS_TAR"
fi
if [ "$REFRESH_BASE" = 0 ] && image_exists "$BASE_TAG"; then
    base_note="tag exists, reused"
    log "$BASE_TAG already in the engine"
else
    if [ -f "$ROOTFS_TAR" ]; then
        base_note="imported from the cached rootfs"
        log "using cached rootfs $ROOTFS_TAR ($(human_size "$(stat -c %s "$ROOTFS_TAR")"))"
    else
        base_note="debootstrap + import"
        ROOTFS="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
        TMP_PATHS+=("$ROOTFS")
        log "debootstrap --variant=minbase $SUITE ($ARCH) from $MIRROR (network-bound, 25-60 s)"
        t0=$(now_ms)
        debootstrap --variant=minbase --arch="$ARCH" "$SUITE" "$ROOTFS" "$MIRROR" >&2
        log "debootstrap finished in $((($(now_ms) - t0) / 1000)) s; trimming"
        trim_rootfs "$ROOTFS"
        log "rootfs: $(du -sh "$ROOTFS" | cut -f1); packing $ROOTFS_TAR"
        # --numeric-owner: ownership must not depend on the host's user names.
        tar -C "$ROOTFS" --numeric-owner -cf - . | compress_to "$ROOTFS_TAR"
        remove_tree "$ROOTFS"
        # Older recipes' tarballs are dead weight now.
        find "$CACHE" -maxdepth 1 -name 'bookworm-minbase-*.tar.zst' \
            -not -name "${ROOTFS_TAR##*/}" -delete
    fi
    log "docker import → $BASE_TAG"
    decompress "$ROOTFS_TAR" |
        docker import "${IMPORT_CHANGES[@]}" \
            --message "debootstrap --variant=minbase $SUITE, recipe $BASE_KEY" \
            - "$BASE_TAG" >/dev/null
fi
docker tag "$BASE_TAG" "$BASE_REPO:latest"
step_done "$base_note"

# ---- 3. Claude Code binary --------------------------------------------------------------------
step "3/5 Claude Code CLI"
CLAUDE_BIN="$("$REMOTE_CLAUDE_ROOT/scripts/install-claude-cli.sh")"
[ -x "$CLAUDE_BIN" ] || die "install-claude-cli.sh gave no executable ($CLAUDE_BIN)"
CLAUDE_VERSION="$(DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
    "$CLAUDE_BIN" --version </dev/null | awk '{print $1; exit}')"
[ -n "$CLAUDE_VERSION" ] || die "could not read the version of $CLAUDE_BIN"
log "Claude Code $CLAUDE_VERSION ($CLAUDE_BIN)"
# The agent is built on this host for the image's Debian 12 (same glibc as the build host's
# bookworm); release profile: it is the sandbox's PID-1 child and runs for the session's life.
log "cargo build --release -p sandbox-agent"
(cd "$REMOTE_CLAUDE_ROOT" && cargo build --release --locked -p sandbox-agent >&2)
AGENT_BIN="$(cd "$REMOTE_CLAUDE_ROOT" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/sandbox-agent"
[ -x "$AGENT_BIN" ] || die "no sandbox-agent binary at $AGENT_BIN"
AGENT_SHA="$(sha256sum "$AGENT_BIN" | cut -d' ' -f1)"
log "sandbox-agent ${AGENT_SHA:0:12} ($(human_size "$(stat -c %s "$AGENT_BIN")"))"
step_done "$CLAUDE_VERSION, agent ${AGENT_SHA:0:12}"

# ---- 4. sandbox image -------------------------------------------------------------------------
step "4/5 sandbox image"
# Content identity of the base: layer digests (sha256 of the imported tar) and the config fields
# that matter. Named fields, not `{{json .Config}}`: clients of different versions print that
# differently (Docker CLI 20.10 and 28 gave different hashes for the same image).
BASE_IDENTITY="$(docker image inspect -f '{{json .RootFS.Layers}} {{json .Config.Env}}
{{json .Config.Cmd}} {{json .Config.Entrypoint}} {{json .Config.User}} {{json .Config.WorkingDir}}' \
    "$BASE_TAG")"
INPUTS_HASH="$(
    {
        for f in "${CONTEXT_FILES[@]}"; do
            printf '== %s\n' "$f"
            cat "$SRC/$f"
        done
        printf '== claude %s\n== agent %s\n== base %s\n' "$CLAUDE_VERSION" "$AGENT_SHA" "$BASE_IDENTITY"
    } | short_hash
)"
TAG="$IMAGE:$INPUTS_HASH"
ARCHIVE="$CACHE/claude-sandbox-$INPUTS_HASH.tar.zst"
log "inputs hash $INPUTS_HASH → $TAG"

if [ "$FORCE" = 0 ] && image_exists "$TAG"; then
    image_note="up to date, build skipped"
    log "$TAG already exists: nothing to build"
elif [ "$FORCE" = 0 ] && [ -f "$ARCHIVE" ]; then
    image_note="loaded from the cached archive"
    log "loading cached archive $ARCHIVE ($(human_size "$(stat -c %s "$ARCHIVE")"))"
    decompress "$ARCHIVE" | docker load >&2
    image_exists "$TAG" || die "$ARCHIVE did not contain $TAG"
else
    image_note="built"
    # --force replaces an image under the same tag; drop the old one afterwards if untagged.
    OLD_ID="$(docker image inspect -f '{{.Id}}' "$TAG" 2>/dev/null || true)"
    CTX="$(mktemp -d "$CACHE/context.XXXXXX")"
    TMP_PATHS+=("$CTX")
    for f in "${CONTEXT_FILES[@]}"; do cp "$SRC/$f" "$CTX/$f"; done
    # Hard link: no 370 MB copy (cp when the cache folder spans file systems).
    ln "$CLAUDE_BIN" "$CTX/claude" 2>/dev/null || cp "$CLAUDE_BIN" "$CTX/claude"
    chmod 0755 "$CTX/claude"
    cp "$AGENT_BIN" "$CTX/sandbox-agent"
    chmod 0755 "$CTX/sandbox-agent"
    # BuildKit when the client has it (buildx plugin, or built into clients before 23.0),
    # otherwise the classic builder. Neither pulls: the base is in the local store.
    client_major="$(docker version -f '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)"
    if docker buildx version >/dev/null 2>&1 || [ "${client_major:-99}" -lt 23 ]; then
        builder=(env DOCKER_BUILDKIT=1 docker build --progress=plain)
    else
        builder=(env DOCKER_BUILDKIT=0 docker build --rm --force-rm)
    fi
    REVISION="$(git -C "$REMOTE_CLAUDE_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
    log "docker build (${builder[1]}) from $BASE_TAG; apt needs the default bridge with NAT"
    "${builder[@]}" \
        --build-arg BASE_IMAGE="$BASE_TAG" \
        --build-arg CLAUDE_VERSION="$CLAUDE_VERSION" \
        --label remote-claude.inputs-hash="$INPUTS_HASH" \
        --label org.opencontainers.image.version="$INPUTS_HASH" \
        --label org.opencontainers.image.created="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        --label org.opencontainers.image.revision="$REVISION" \
        -t "$TAG" "$CTX" >&2
    old_tags="$(docker image inspect -f '{{len .RepoTags}}' "${OLD_ID:-none}" 2>/dev/null || true)"
    if [ "$old_tags" = 0 ]; then
        docker rmi "$OLD_ID" >/dev/null 2>&1 || log "old image ${OLD_ID:7:12} still in use; kept"
    fi
fi
docker tag "$TAG" "$IMAGE:latest"
step_done "$image_note"

# ---- 5. archives ------------------------------------------------------------------------------
if [ -n "$SAVE_PATH" ] || [ "$SAVE_CACHE" = 1 ]; then
    step "5/5 save archive"
    if [ "$SAVE_CACHE" = 1 ]; then
        if [ -f "$ARCHIVE" ] && [ "$FORCE" = 0 ]; then
            log "cache archive $ARCHIVE already exists"
        else
            log "docker save $TAG → $ARCHIVE"
            docker save "$TAG" | compress_to "$ARCHIVE"
            find "$CACHE" -maxdepth 1 -name 'claude-sandbox-*.tar.zst' \
                -not -name "${ARCHIVE##*/}" -delete
        fi
    fi
    if [ -n "$SAVE_PATH" ]; then
        mkdir -p "$(dirname "$SAVE_PATH")"
        if [ -f "$ARCHIVE" ] && [[ "$SAVE_PATH" != *.gz ]]; then
            log "copying the cache archive (same image) to $SAVE_PATH"
            cp "$ARCHIVE" "$SAVE_PATH.partial.$$" && mv -f "$SAVE_PATH.partial.$$" "$SAVE_PATH"
        else
            log "docker save $TAG → $SAVE_PATH"
            docker save "$TAG" | compress_to "$SAVE_PATH"
        fi
        log "wrote $SAVE_PATH ($(human_size "$(stat -c %s "$SAVE_PATH")"))"
        log "restore with: zstd -dc FILE | docker load   (gzip -dc for .gz)"
    fi
    step_done
fi

# ---- summary ----------------------------------------------------------------------------------
SIZE="$(docker image inspect -f '{{.Size}}' "$TAG")"
ID="$(docker image inspect -f '{{.Id}}' "$TAG")"
section "summary"
printf '%s\n' "${TIMINGS[@]}" >&2
log "total $(printf '%.1f' "$((($(now_ms) - T_TOTAL) / 100))e-1") s"
log "image $TAG (also $IMAGE:latest), ${ID:7:12}, $(human_size "$SIZE")"
log "Claude Code $CLAUDE_VERSION, base $BASE_TAG"
printf '%s\n' "$TAG"
