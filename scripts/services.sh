# Makes sure PostgreSQL and Redis answer on the test addresses.
# Sourced by scripts/test; see the README's "Running on PostgreSQL and Redis".

: "${CREDIT_DECISIONS_TEST_DATABASE_URL:=postgres://postgres@127.0.0.1:5432/postgres}"
: "${CREDIT_DECISIONS_TEST_REDIS_URL:=redis://127.0.0.1:6379}"
# The scaling tests' Redis Cluster (three primaries, three replicas) and the
# PgBouncer in front of the test PostgreSQL: started here on ports of their
# own unless these point at ones that already run.
: "${CREDIT_DECISIONS_TEST_REDIS_CLUSTER_URL:=redis-cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103}"
: "${CREDIT_DECISIONS_TEST_PGBOUNCER_URL:=postgres://postgres@127.0.0.1:6433/postgres}"
export CREDIT_DECISIONS_TEST_DATABASE_URL CREDIT_DECISIONS_TEST_REDIS_URL
export CREDIT_DECISIONS_TEST_REDIS_CLUSTER_URL CREDIT_DECISIONS_TEST_PGBOUNCER_URL

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

ensure_redis_installed() {
    command -v redis-server >/dev/null && return 0
    if ! can_install; then
        say "Redis is not installed, and the tests need a Redis and a Redis Cluster."
        say "Install it (Debian: sudo apt-get install redis-server), or set"
        say "CREDIT_DECISIONS_TEST_REDIS_URL and CREDIT_DECISIONS_TEST_REDIS_CLUSTER_URL to ones the tests may write to."
        exit 1
    fi
    apt_install redis-server
}

ensure_redis() {
    redis_answers && return 0
    ensure_redis_installed
    say "starting Redis on port $(url_port "$CREDIT_DECISIONS_TEST_REDIS_URL")"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$(url_port "$CREDIT_DECISIONS_TEST_REDIS_URL")" \
        --save "" --appendonly no --dir /tmp --logfile /tmp/credit-decisions-redis.log \
        --pidfile /tmp/credit-decisions-redis.pid
    wait_for redis_answers && return 0
    say "Redis did not come up at $CREDIT_DECISIONS_TEST_REDIS_URL"
    exit 1
}

# The first node of a cluster URL, as host:port.
first_cluster_node() { echo "${1#redis-cluster://}" | cut -d, -f1 | sed -E 's#^[^@]*@##'; }

cluster_answers() {
    local node
    node=$(first_cluster_node "$CREDIT_DECISIONS_TEST_REDIS_CLUSTER_URL")
    redis-cli -h "${node%:*}" -p "${node##*:}" cluster info 2>/dev/null | grep -q '^cluster_state:ok'
}

ensure_redis_cluster() {
    cluster_answers && return 0
    ensure_redis_installed
    local dir=/tmp/credit-decisions-cluster ports="7101 7102 7103 7104 7105 7106" port nodes=()
    # Whatever half-made cluster an earlier run left is started afresh.
    for port in $ports; do
        [ -f "$dir/$port.pid" ] && kill "$(cat "$dir/$port.pid")" 2>/dev/null || true
    done
    sleep 0.5
    rm -rf "$dir" && mkdir -p "$dir"
    say "starting a Redis Cluster (3 primaries, 3 replicas) on ports $ports"
    for port in $ports; do
        # A short node timeout: a killed primary's replica takes over in
        # seconds rather than the default 15.
        redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --cluster-enabled yes \
            --cluster-config-file "$dir/nodes-$port.conf" --cluster-node-timeout 2000 \
            --save "" --appendonly no --dir "$dir" --logfile "$dir/$port.log" \
            --pidfile "$dir/$port.pid"
        nodes+=("127.0.0.1:$port")
    done
    for port in $ports; do
        wait_for redis-cli -p "$port" ping >/dev/null
    done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log"
    wait_for cluster_answers && return 0
    say "the Redis Cluster did not come up; see $dir"
    exit 1
}

pgbouncer_answers() {
    port_open "$(url_host "$CREDIT_DECISIONS_TEST_PGBOUNCER_URL")" \
        "$(url_port "$CREDIT_DECISIONS_TEST_PGBOUNCER_URL")"
}

# PgBouncer in transaction pooling in front of the test PostgreSQL, every
# database passed through. It runs as the postgres user, which owns its files.
ensure_pgbouncer() {
    pgbouncer_answers && return 0
    if ! command -v pgbouncer >/dev/null; then
        if ! can_install; then
            say "PgBouncer does not answer at $CREDIT_DECISIONS_TEST_PGBOUNCER_URL and is not installed."
            say "Install it (Debian: sudo apt-get install pgbouncer), or set"
            say "CREDIT_DECISIONS_TEST_PGBOUNCER_URL to a PgBouncer in transaction pooling mode."
            exit 1
        fi
        apt_install pgbouncer
    fi
    local dir=/tmp/credit-decisions-pgbouncer
    mkdir -p "$dir"
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=$(url_host "$CREDIT_DECISIONS_TEST_DATABASE_URL") port=$(url_port "$CREDIT_DECISIONS_TEST_DATABASE_URL")

[pgbouncer]
listen_addr = $(url_host "$CREDIT_DECISIONS_TEST_PGBOUNCER_URL")
listen_port = $(url_port "$CREDIT_DECISIONS_TEST_PGBOUNCER_URL")
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 20
; sqlx asks for this at every connection; PostgreSQL's default is fine.
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    echo '"postgres" ""' >"$dir/userlist.txt"
    say "starting PgBouncer (transaction pooling) on port $(url_port "$CREDIT_DECISIONS_TEST_PGBOUNCER_URL")"
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres "$dir"
        runuser -u postgres -- pgbouncer -d "$dir/pgbouncer.ini"
    else
        pgbouncer -d "$dir/pgbouncer.ini"
    fi
    wait_for pgbouncer_answers && return 0
    say "PgBouncer did not come up; see $dir/pgbouncer.log"
    exit 1
}
