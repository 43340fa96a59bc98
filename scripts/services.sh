# Makes sure PostgreSQL and Redis answer on the test addresses.
# Sourced by scripts/test; see the README's "Running on PostgreSQL and Redis".

: "${CREDIT_DECISIONS_TEST_DATABASE_URL:=postgres://postgres@127.0.0.1:5432/postgres}"
: "${CREDIT_DECISIONS_TEST_REDIS_URL:=redis://127.0.0.1:6379}"
export CREDIT_DECISIONS_TEST_DATABASE_URL CREDIT_DECISIONS_TEST_REDIS_URL

say() { echo "scripts/test: $*" >&2; }

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

apt_install() {
    say "installing $* from Debian's packages"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# host and port of a URL like scheme://user@host:port/db
url_host() { echo "$1" | sed -E 's#^[a-z]+://([^@/]*@)?([^:/]+).*#\2#'; }
url_port() { echo "$1" | sed -E 's#^[a-z]+://([^@/]*@)?[^:/]+:?([0-9]*).*#\2#'; }

# Whether something listens at host:port (bash's /dev/tcp: no client needed).
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

postgres_answers() {
    port_open "$(url_host "$CREDIT_DECISIONS_TEST_DATABASE_URL")" \
        "$(url_port "$CREDIT_DECISIONS_TEST_DATABASE_URL")"
}

ensure_postgres() {
    postgres_answers && return 0
    local fresh_install=no
    if ! command -v pg_ctlcluster >/dev/null; then
        if ! can_install; then
            say "PostgreSQL does not answer at $CREDIT_DECISIONS_TEST_DATABASE_URL and is not installed."
            say "Install and start it (Debian: sudo apt-get install postgresql), or set"
            say "CREDIT_DECISIONS_TEST_DATABASE_URL to a server whose user may create databases."
            exit 1
        fi
        apt_install postgresql
        fresh_install=yes
    fi
    local version
    version=$(ls /etc/postgresql | sort -n | tail -1)
    if [ "$fresh_install" = yes ]; then
        # A fresh Debian cluster asks for a password over TCP; the tests
        # connect as postgres without one, so trust local TCP connections.
        local hba="/etc/postgresql/$version/main/pg_hba.conf"
        sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
    fi
    if pg_lsclusters -h | grep -q "^$version main .* down "; then
        say "starting PostgreSQL $version (cluster main)"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        wait_for postgres_answers && return 0
    fi
    # No server of ours answers at the test address (none installed as a
    # service, or one on another network): run a cluster for the tests.
    local port cluster=credit_decisions_test
    port=$(url_port "$CREDIT_DECISIONS_TEST_DATABASE_URL")
    if ! pg_lsclusters -h | grep -q "^$version $cluster "; then
        say "creating PostgreSQL cluster $version/$cluster on port $port (trust auth, local only)"
        pg_createcluster "$version" "$cluster" --port "$port" --socketdir /tmp \
            -- --auth=trust --username=postgres >/dev/null
    fi
    say "starting PostgreSQL $version/$cluster"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start || true
    wait_for postgres_answers && return 0
    say "PostgreSQL did not come up at $CREDIT_DECISIONS_TEST_DATABASE_URL"
    exit 1
}

# Retries a check for up to 30 seconds.
wait_for() {
    for _ in $(seq 60); do "$@" && return 0; sleep 0.5; done
    return 1
}

redis_answers() {
    local host port
    host=$(url_host "$CREDIT_DECISIONS_TEST_REDIS_URL")
    port=$(url_port "$CREDIT_DECISIONS_TEST_REDIS_URL")
    timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port && printf 'PING\r\n' >&3 && read -r reply <&3 && [[ \$reply == +PONG* ]]" 2>/dev/null
}

ensure_redis() {
    redis_answers && return 0
    if ! command -v redis-server >/dev/null; then
        if ! can_install; then
            say "Redis does not answer at $CREDIT_DECISIONS_TEST_REDIS_URL and is not installed."
            say "Install and start it (Debian: sudo apt-get install redis-server), or set"
            say "CREDIT_DECISIONS_TEST_REDIS_URL to a Redis the tests may write to."
            exit 1
        fi
        apt_install redis-server
    fi
    say "starting Redis on port $(url_port "$CREDIT_DECISIONS_TEST_REDIS_URL")"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$(url_port "$CREDIT_DECISIONS_TEST_REDIS_URL")" \
        --save "" --appendonly no --dir /tmp --logfile /tmp/credit-decisions-redis.log \
        --pidfile /tmp/credit-decisions-redis.pid
    wait_for redis_answers && return 0
    say "Redis did not come up at $CREDIT_DECISIONS_TEST_REDIS_URL"
    exit 1
}
