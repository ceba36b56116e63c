#!/usr/bin/env bash
# Makes sure the servers the test suite talks to are installed and running on 127.0.0.1:
#   PostgreSQL (Debian's `postgresql`) on 5432 with a superuser `shipshape`/`shipshape`,
#   Redis (Debian's `redis-server`) on 6379.
# Idempotent: installs only what is missing, starts only what is stopped. Needs root (or sudo)
# the first time on a fresh Debian machine; after that it only checks.
set -euo pipefail

PGUSER_NAME=${SHIPSHAPE_TEST_PGUSER:-shipshape}
PGPASS=${SHIPSHAPE_TEST_PGPASSWORD:-shipshape}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
pg_ready() { PGPASSWORD="$PGPASS" psql -h 127.0.0.1 -U "$PGUSER_NAME" -d postgres -Atqc 'select 1' >/dev/null 2>&1; }
redis_ready() { command -v redis-cli >/dev/null && [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

if pg_ready && redis_ready; then exit 0; fi

missing=()
command -v pg_lsclusters >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "services: installing ${missing[*]} from Debian's packages"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! pg_ready; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
    as_root pg_createcluster "$version" main >/dev/null
  fi
  # Bind to loopback only; the suite never needs more. Debian's postgresql.conf reads conf.d/.
  echo "listen_addresses = '127.0.0.1'" | as_root tee "/etc/postgresql/$version/main/conf.d/shipshape-tests.conf" >/dev/null
  as_root pg_ctlcluster "$version" main start 2>/dev/null || as_root pg_ctlcluster "$version" main restart
  for _ in $(seq 1 30); do as_root runuser -u postgres -- pg_isready -q -h 127.0.0.1 && break; sleep 0.5; done
  as_root runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -d postgres <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PGUSER_NAME') THEN
    CREATE ROLE $PGUSER_NAME LOGIN SUPERUSER PASSWORD '$PGPASS';
  ELSE
    ALTER ROLE $PGUSER_NAME LOGIN SUPERUSER PASSWORD '$PGPASS';
  END IF;
END \$\$;
SQL
fi

if ! redis_ready; then
  as_root redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null
  for _ in $(seq 1 30); do redis_ready && break; sleep 0.2; done
fi

pg_ready || { echo "services: PostgreSQL is not answering on 127.0.0.1:5432" >&2; exit 1; }
redis_ready || { echo "services: Redis is not answering on 127.0.0.1:6379" >&2; exit 1; }
echo "services: PostgreSQL and Redis are up on 127.0.0.1"
