# Sourced by scripts/test: the key-store tests need a PostgreSQL server beside whatever database the suite runs on.
# Uses the one on 127.0.0.1:5432 (or TEST_POSTGRES_URL) when it answers; otherwise installs Debian's postgresql
# when missing and starts a throwaway server (trust auth, loopback only, a free port) that stops when the tests end.

postgres_answers() {  # postgres_answers HOST PORT
  python3 -c "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2).close()" "$1" "$2" \
    2>/dev/null
}

start_throwaway_postgres() {
  apt_install postgresql
  local bin dir port owner=()
  bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -1)
  dir=$(mktemp -d)
  port=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  if [ "$(id -u)" -eq 0 ]; then  # initdb refuses root: the server runs as the package's postgres user
    chown postgres "$dir"
    owner=(runuser -u postgres --)
  fi
  "${owner[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1
  "${owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >/dev/null
  THROWAWAY_POSTGRES=("${owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop)
  THROWAWAY_POSTGRES_DIR=$dir
  export TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
  echo "started a throwaway PostgreSQL on 127.0.0.1:$port for the key-store tests"
}

stop_throwaway_postgres() {
  if [ -n "${THROWAWAY_POSTGRES_DIR:-}" ]; then
    "${THROWAWAY_POSTGRES[@]}" >/dev/null 2>&1 || true
    rm -rf "$THROWAWAY_POSTGRES_DIR"
  fi
}

if [ -z "${TEST_POSTGRES_URL:-}" ] && { [ -n "${TEST_THROWAWAY_POSTGRES:-}" ] || ! postgres_answers 127.0.0.1 5432; }; then
  start_throwaway_postgres
fi
