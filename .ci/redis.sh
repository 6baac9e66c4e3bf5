#!/usr/bin/env bash
# Run a command with a throwaway Redis server, then stop it and delete its files.
#
#   bash .ci/redis.sh make test
#
# Installs Debian's `redis-server` package when no server is installed (as root), starts a
# private server on 127.0.0.1 at a free port with no persistence, exports
# POWERSTRIP_TEST_REDIS_URL and runs the command. The server is stopped and its directory
# removed at exit, whatever happened; the command's exit status is the script's.
# POWERSTRIP_TEST_REDIS_CTL names a script that stops (`CTL stop`) and starts again (`CTL
# start`) the same server, on the same port, for tests of a Redis restart. When
# POWERSTRIP_TEST_REDIS_URL is already set, the command runs against that server instead.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

if [[ -n "${POWERSTRIP_TEST_REDIS_URL:-}" ]]; then
    echo "redis: using the server at POWERSTRIP_TEST_REDIS_URL" >&2
    exec "$@"
fi

if ! command -v redis-server >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "redis: no Redis server installed; run: sudo apt-get install redis-server" >&2
        exit 1
    fi
    echo "redis: installing Debian's redis-server package" >&2
    apt-get update -qq
    # The package's own service may fail to start where no init system runs; ours does not
    # need it, so only a missing binary (checked below) fails the run.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null \
        || echo "redis: apt-get reported an error; checking for the server binary" >&2
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "redis: the redis-server package installed no server binary" >&2
        exit 1
    fi
fi

WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/powerstrip-redis.XXXXXX")
chmod 700 "$WORKDIR"
PIDFILE="$WORKDIR/redis.pid"

cleanup() {
    local status=$?
    if [[ -f "$PIDFILE" ]]; then
        kill "$(cat "$PIDFILE")" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$(cat "$PIDFILE" 2>/dev/null)" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -rf "$WORKDIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')

# No snapshots and no append-only file: the server is thrown away. The CTL script starts
# and stops it the same way (the password travels in its config file, not in a command line).
CONFIG="$WORKDIR/redis.conf"
cat >"$CONFIG" <<CONF
bind 127.0.0.1
port $PORT
dir $WORKDIR
save ""
appendonly no
requirepass $PASSWORD
daemonize yes
pidfile $PIDFILE
logfile $WORKDIR/server.log
databases 64
CONF
chmod 600 "$CONFIG"
CTL="$WORKDIR/ctl.sh"
cat >"$CTL" <<CTLSCRIPT
#!/usr/bin/env bash
set -euo pipefail
wait_for() {
    for _ in \$(seq 100); do
        if redis-cli -h 127.0.0.1 -p $PORT -a "$PASSWORD" --no-auth-warning ping 2>/dev/null \\
            | grep -q PONG; then
            [[ "\$1" == up ]] && return 0
        else
            [[ "\$1" == down ]] && return 0
        fi
        sleep 0.1
    done
    echo "redis: did not come \$1" >&2
    return 1
}
case "\${1:-}" in
    stop) kill "\$(cat "$PIDFILE")"; wait_for down ;;
    start) redis-server "$CONFIG"; wait_for up ;;
    *) echo "usage: \$0 stop|start" >&2; exit 2 ;;
esac
CTLSCRIPT
chmod 700 "$CTL"
"$CTL" start
export POWERSTRIP_TEST_REDIS_CTL="$CTL"

export POWERSTRIP_TEST_REDIS_URL="redis://default:$PASSWORD@127.0.0.1:$PORT/0"
echo "redis: $(redis-server --version | cut -d' ' -f1-3) on 127.0.0.1:$PORT" >&2

# Not exec: the EXIT trap must still stop the server.
"$@"
