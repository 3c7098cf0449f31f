#!/usr/bin/env bash
# Make sure Postgres, Redis and RabbitMQ answer on 127.0.0.1 (their default ports).
# Idempotent: on the project's machines they already run and this takes ~1 s.
# On a machine without them it installs the Debian packages and starts them by
# hand: there is no systemd, and Debian packages never start services on install.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- PostgreSQL ---------------------------------------------------------------
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
pg_sql() { psql -w -X -q -A -t -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

if ! command -v pg_isready >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    # Debian's postinst creates the "main" cluster.
    apt_install postgresql postgresql-client
fi
if ! pg_up; then
    version="$(basename "$(printf "%s\n" /etc/postgresql/*/ | sort -V | tail -n 1)")"
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
        log "pg_ctlcluster start failed (maybe still starting); waiting anyway"
fi
wait_for 60 "PostgreSQL on 127.0.0.1:5432" pg_up || die "PostgreSQL does not answer"

# Tests connect as postgres@127.0.0.1 without a password. A fresh Debian install
# asks for one on TCP, so on such a (throwaway CI/dev) machine trust localhost.
if ! pg_sql -c 'select 1' >/dev/null 2>&1; then
    hba="$(runuser -u postgres -- psql -X -A -t -c 'show hba_file')"
    log "enabling trust auth for localhost in $hba (dev/CI machine)"
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    runuser -u postgres -- psql -X -q -c 'select pg_reload_conf()' >/dev/null
    wait_for 10 "passwordless login as postgres" pg_sql -c 'select 1' ||
        die "cannot log in to PostgreSQL as postgres@127.0.0.1"
fi

# #[sqlx::test] and the test kit create a database per test: need CREATEDB (or superuser).
if [ "$(pg_sql -c "select rolsuper or rolcreatedb from pg_roles where rolname = current_user")" != t ]; then
    log "granting CREATEDB to postgres"
    runuser -u postgres -- psql -X -q -c 'ALTER ROLE postgres CREATEDB'
fi
log "PostgreSQL ready"

# ---- Redis --------------------------------------------------------------------
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

command -v redis-server >/dev/null || apt_install redis-server
if ! redis_up; then
    log "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    # Test instance: nothing is kept on disk.
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_for 30 "Redis on 127.0.0.1:6379" redis_up || die "Redis does not answer"
log "Redis ready"

# ---- RabbitMQ -----------------------------------------------------------------
# The AMQP listener opens only once the node has fully booted, so a TCP check on
# 5672 is a readiness check that does not depend on the node name.
rabbit_up() { tcp_open 127.0.0.1 5672; }

command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
if ! rabbit_up; then
    log "starting RabbitMQ (takes 10-30 s)"
    # The Debian wrapper switches to the rabbitmq user; -detached returns at once.
    rabbitmq-server -detached
fi
wait_for 180 "RabbitMQ on 127.0.0.1:5672" rabbit_up || {
    tail -n 30 /var/log/rabbitmq/*.log 2>/dev/null | tail -n 30 >&2 || true
    die "RabbitMQ does not answer"
}
log "RabbitMQ ready"
