#!/usr/bin/env bash
# Starts PostgreSQL as user postgres; on an empty data directory, first
# creates the cluster with POSTGRES_USER (password POSTGRES_PASSWORD) as its
# superuser and the database POSTGRES_DB, as the official image does.
set -euo pipefail

if [ "$(id -u)" = 0 ]; then
    # A fresh volume may be root's: hand it over, then run as postgres.
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    exec runuser -u postgres -- "$0" "$@"
fi

user=${POSTGRES_USER:-postgres}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
    initdb --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    database=${POSTGRES_DB:-$user}
    if [ "$database" != postgres ]; then
        echo "CREATE DATABASE \"$database\" OWNER \"$user\"" |
            postgres --single -D "$PGDATA" -c listen_addresses='' postgres >/dev/null
    fi
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
