#!/usr/bin/env bash
# Writes the Docker secret files that compose.prod.yaml expects, with random passwords, and the
# connection URLs derived from them (so the datastores and the services always agree).
#
# Usage: deploy/prod/gen-secrets.sh [DIR]
#   DIR defaults to $SECRETS_DIR, else deploy/secrets in this repository.
#   OIDC_CLIENT_SECRET=... in the environment fills oidc_client_secret (else a placeholder).
#   ANTHROPIC_API_KEY=... fills anthropic_api_key (else a placeholder).
#
# Idempotent: an existing file is never overwritten, so re-running only adds what is missing.
# To rotate a secret, delete its file AND everything derived from it (for example
# postgres_password and database_url) and re-run; note that Postgres and RabbitMQ read their
# passwords only when their data volume is first initialised (rotate those inside the
# datastore too: ALTER ROLE / rabbitmqctl change_password).
#
# Files are 0644 inside a 0700 directory: plain Compose mounts secrets as bind mounts that keep
# the file mode, and the containers run as different non-root users who must read them; the
# directory mode keeps other host users out.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${1:-${SECRETS_DIR:-$here/../secrets}}"

umask 022
mkdir -p "$dir"
chmod 0700 "$dir"

# Hex only: safe inside URLs and config files without escaping.
rand() { od -An -N"${1:-24}" -tx1 /dev/urandom | tr -d ' \n'; }

# write NAME CONTENT: create $dir/NAME atomically unless it exists. No trailing newline for
# single values (some consumers do not trim); config files end with one.
write() {
  local f="$dir/$1"
  if [ -e "$f" ]; then
    echo "kept    $f"
    return 0
  fi
  printf '%s' "$2" >"$f.tmp"
  chmod 0644 "$f.tmp"
  mv "$f.tmp" "$f"
  echo "created $f"
}

value() { tr -d '\r\n' <"$dir/$1"; }
conf_value() { sed -n "s/^$2[[:space:]]*=\{0,1\}[[:space:]]*//p" "$dir/$1" | head -n 1 | tr -d '\r\n'; }

# Postgres
write postgres_password "$(rand)"
write database_url "postgres://rc:$(value postgres_password)@postgres:5432/remote_claude"

# Redis (`requirepass` in a config file given to redis-server)
write redis_conf "requirepass $(rand)
"
write redis_url "redis://:$(conf_value redis_conf requirepass)@redis:6379/0"

# RabbitMQ (a conf.d file with the default user, applied when the node is first created)
write rabbitmq_conf "default_user = rc
default_pass = $(rand)
"
write amqp_url "amqp://rc:$(conf_value rabbitmq_conf default_pass)@rabbitmq:5672/%2f"

# S3 (MinIO root credentials, also used by the services)
write s3_access_key "rc$(rand 8)"
write s3_secret_key "$(rand)"

# The api's token for file-service's internal API
write file_service_token "$(rand)"
# ... and for session-manager's (terminals)
write session_manager_token "$(rand)"

# Grafana admin (user "admin")
write grafana_admin_password "$(rand 16)"

# OIDC client secret: issued by the identity provider.
write oidc_client_secret "${OIDC_CLIENT_SECRET:-CHANGE_ME}"
if [ "$(value oidc_client_secret)" = "CHANGE_ME" ]; then
  echo "WARNING: $dir/oidc_client_secret is a placeholder: put the client secret from your identity provider there." >&2
fi

# The organisation's Anthropic API key (read only by session-manager's model proxy).
write anthropic_api_key "${ANTHROPIC_API_KEY:-CHANGE_ME}"
if [ "$(value anthropic_api_key)" = "CHANGE_ME" ]; then
  echo "WARNING: $dir/anthropic_api_key is a placeholder: put the organisation's Anthropic API key there." >&2
fi

# Keys the api and the worker must share, as a config file they both load (RC_CONFIG_FILE):
# the HMAC key of signed approval links (the worker mints them for push notifications, the api
# verifies them) and the VAPID key of Web Push (the worker signs, the api hands browsers the
# public half). The VAPID key is the raw P-256 scalar, base64url: the 32 bytes after the
# 7-byte header of OpenSSL's SEC1 DER encoding.
# PUSH_SUBJECT=mailto:... is the contact push services may write to.
vapid_key() {
  openssl ecparam -name prime256v1 -genkey -noout -outform DER | tail -c +8 | head -c 32 |
    base64 | tr '+/' '-_' | tr -d '=\n'
}
write rc_keys_toml "# Written by deploy/prod/gen-secrets.sh. To rotate the link key, add a new one FIRST
# in the list and drop the old one after approvals.link_ttl_secs.
[approvals]
link_keys = [{ id = \"k$(date -u +%Y%m%d)\", secret = \"$(rand 32)\" }]

[push]
vapid_private_key = \"$(vapid_key)\"
subject = \"${PUSH_SUBJECT:-mailto:admin@localhost}\"
"
if grep -q 'mailto:admin@localhost' "$dir/rc_keys_toml"; then
  echo "WARNING: push.subject in $dir/rc_keys_toml is a placeholder: put a contact address there (PUSH_SUBJECT=mailto:...)." >&2
fi

# TLS certificate and key for TLS_MODE=files (PEM). Empty placeholders otherwise, because
# Compose wants every declared secret file to exist.
for f in tls_cert tls_key; do
  if [ ! -e "$dir/$f" ]; then
    : >"$dir/$f"
    chmod 0644 "$dir/$f"
    echo "created $dir/$f (empty placeholder; fill it for TLS_MODE=files)"
  fi
done
