#!/bin/bash
# Container liveness probe for the Remote Claude services (used by the image's HEALTHCHECK).
#
# No curl in the runtime image: this speaks plain HTTP/1.1 over bash's /dev/tcp, which needs
# nothing beyond bash (present in debian:bookworm-slim and in a debootstrap minbase image).
#
# Usage: rc-healthcheck [PATH]      (PATH defaults to /healthz; /readyz also works)
# The port follows the service's own configuration variable, so RC_<SECTION>__PORT overrides
# are honoured. SERVICE_NAME is set by the Dockerfile.
set -u

path="${1:-/healthz}"
case "${SERVICE_NAME:-}" in
  api)             port="${RC_API__PORT:-8080}" ;;
  session-manager) port="${RC_SESSION_MANAGER__PORT:-8081}" ;;
  worker)          port="${RC_WORKER__PORT:-8082}" ;;
  file-service)    port="${RC_FILE_SERVICE__PORT:-8083}" ;;
  *) echo "rc-healthcheck: unknown SERVICE_NAME '${SERVICE_NAME:-}'" >&2; exit 1 ;;
esac

# Connect (fails fast with "connection refused" while the service is not listening yet).
if ! exec 3<>"/dev/tcp/127.0.0.1/${port}"; then
  echo "rc-healthcheck: cannot connect to 127.0.0.1:${port}" >&2
  exit 1
fi
printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: rc-healthcheck\r\nConnection: close\r\n\r\n' "$path" >&3

status=""
IFS= read -r -t 5 status <&3 || true
exec 3<&- 3>&-
case "$status" in
  "HTTP/1."?" 2"*) exit 0 ;;
esac
echo "rc-healthcheck: GET ${path} on port ${port}: ${status:-no response}" >&2
exit 1
