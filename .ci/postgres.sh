#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server, then stop and delete it.
#
#   bash .ci/postgres.sh make test
#
# Installs Debian's `postgresql` package when no PostgreSQL server is installed (as root), starts a
# private cluster in a temporary directory (as the `postgres` user when run as root), listening on
# 127.0.0.1 at a free port, creates a role and a database, exports POWERSTRIP_TEST_POSTGRES_URL
# and runs the command. The cluster is stopped and its directory removed at exit, whatever
# happened; the command's exit status is the script's. POWERSTRIP_TEST_POSTGRES_CTL names a
# script that stops (`CTL stop`) and starts again (`CTL start`) the same cluster, on the same
# port, for tests of a database restart. When POWERSTRIP_TEST_POSTGRES_URL is
# already set, the command runs against that server instead and nothing is started.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

if [[ -n "${POWERSTRIP_TEST_POSTGRES_URL:-}" ]]; then
    echo "postgres: using the server at POWERSTRIP_TEST_POSTGRES_URL" >&2
    exec "$@"
fi

find_bindir() {
    # The newest installed server version's binaries (Debian keeps them out of PATH).
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
        echo "$dir"
    fi
}

BINDIR=$(find_bindir)
if [[ -z "$BINDIR" ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "postgres: no PostgreSQL server installed; run: sudo apt-get install postgresql" >&2
        exit 1
    fi
    echo "postgres: installing Debian's postgresql package" >&2
    apt-get update -qq
    # The package's own cluster may fail to start where no init system runs; ours does not
    # need it, so only missing binaries (checked below) fail the run.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
        || echo "postgres: apt-get reported an error; checking for the server binaries" >&2
    BINDIR=$(find_bindir)
    if [[ -z "$BINDIR" ]]; then
        echo "postgres: the postgresql package installed no server binaries" >&2
        exit 1
    fi
fi

# initdb refuses to run as root: the cluster belongs to `postgres` when we are root.
if [[ $(id -u) -eq 0 ]]; then
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    AS_OWNER=(runuser -u postgres --)
else
    AS_OWNER=()
fi

WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/powerstrip-pg.XXXXXX")
chmod 700 "$WORKDIR"
if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$WORKDIR"
fi
DATADIR="$WORKDIR/data"
STARTED=0

cleanup() {
    local status=$?
    if [[ $STARTED -eq 1 ]]; then
        "${AS_OWNER[@]}" "$BINDIR/pg_ctl" -D "$DATADIR" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORKDIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port on loopback, so several runs (or a system cluster on 5432) never collide.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')

# Local (socket) connections are trusted for setup; TCP needs the password.
"${AS_OWNER[@]}" "$BINDIR/initdb" -D "$DATADIR" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >"$WORKDIR/initdb.log" 2>&1 \
    || { cat "$WORKDIR/initdb.log" >&2; exit 1; }

# Durability settings off: the cluster is thrown away, and tests run several times faster.
# In the cluster's own configuration, so a plain `pg_ctl start` (the CTL script) restarts it
# as it was.
cat >>"$DATADIR/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$WORKDIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
"${AS_OWNER[@]}" "$BINDIR/pg_ctl" -D "$DATADIR" -l "$WORKDIR/server.log" -w -t 60 start \
    >/dev/null || { cat "$WORKDIR/server.log" >&2; exit 1; }
STARTED=1

# CTL stop|start: the same cluster down and up again, for restart tests.
CTL="$WORKDIR/ctl.sh"
cat >"$CTL" <<CTLSCRIPT
#!/usr/bin/env bash
set -euo pipefail
case "\${1:-}" in
    stop) exec ${AS_OWNER[*]} "$BINDIR/pg_ctl" -D "$DATADIR" -m fast -w stop ;;
    start) exec ${AS_OWNER[*]} "$BINDIR/pg_ctl" -D "$DATADIR" -l "$WORKDIR/server.log" -w -t 60 start ;;
    *) echo "usage: \$0 stop|start" >&2; exit 2 ;;
esac
CTLSCRIPT
chmod 755 "$CTL"
export POWERSTRIP_TEST_POSTGRES_CTL="$CTL"

"${AS_OWNER[@]}" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORKDIR" -p "$PORT" -U postgres \
    -d postgres <<SQL
CREATE ROLE powerstrip LOGIN PASSWORD '$PASSWORD';
CREATE DATABASE powerstrip_test OWNER powerstrip;
SQL

export POWERSTRIP_TEST_POSTGRES_URL="postgresql+psycopg://powerstrip:$PASSWORD@127.0.0.1:$PORT/powerstrip_test"
echo "postgres: $("$BINDIR/postgres" --version) on 127.0.0.1:$PORT (database powerstrip_test)" >&2

# Not exec: the EXIT trap must still stop the server.
"$@"
