#!/usr/bin/env bash
# Builds the service binaries (and the frontend, if there is one) on THIS host and stages them
# for a `PREBUILT=1` image build, which then needs no Rust or Node image: only a base image
# such as local/bookworm-minbase:latest (imported from a debootstrap root, no registry).
#
# Usage: deploy/docker/stage-prebuilt.sh [SERVICE...]     (default: all four)
#
# The binaries must run on the image's base: build on Debian 12 (bookworm) or older glibc.
# Then, for example:
#   docker build -f deploy/docker/Dockerfile.service --target service \
#     --build-arg SERVICE=worker --build-arg PORT=8082 --build-arg PREBUILT=1 \
#     --build-arg BASE_IMAGE=local/bookworm-minbase:latest \
#     --build-arg RUST_IMAGE=local/bookworm-minbase:latest \
#     --build-arg NODE_IMAGE=local/bookworm-minbase:latest -t remote-claude/worker:dev .
# or, for the whole dev stack: PREBUILT=1 BASE_IMAGE=... RUST_IMAGE=... NODE_IMAGE=... \
#   docker-compose -f compose.yaml build
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

services=("$@")
if [ "${#services[@]}" -eq 0 ]; then
  services=(api session-manager worker file-service)
fi

packages=()
for s in "${services[@]}"; do
  packages+=(-p "$s")
done
SQLX_OFFLINE=true cargo build --release --locked "${packages[@]}"

target_dir="${CARGO_TARGET_DIR:-target}"
for s in "${services[@]}"; do
  install -D -m 0755 "$target_dir/release/$s" "deploy/docker/bin/$s"
  echo "staged deploy/docker/bin/$s"
done

# The api image serves frontend/dist: build it here too when the frontend exists.
if [ -f frontend/package.json ]; then
  (
    cd frontend
    if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
    npm run build
  )
  echo "built frontend/dist"
fi
