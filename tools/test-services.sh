#!/usr/bin/env bash
# Make sure the database servers the test suite talks to are installed, running and have a
# `vistack` account that may create `vistack_test_*` databases. Idempotent.
#
# The tests never assume a service is already up: `make test` and `.ci/run` call this first.
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

install() {
    echo "test-services: installing $* with apt-get"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

wait_for() {  # wait_for <what> <command...>
    local what=$1; shift
    for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
    echo "test-services: $what did not come up" >&2
    return 1
}

# Independent readers of the config drive ISOs the cloud writes (tests/unit/test_compute_iso9660.py)
command -v isoinfo >/dev/null 2>&1 || install genisoimage
command -v xorriso >/dev/null 2>&1 || install xorriso

# MariaDB
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || install mariadb-server
if ! mariadb-admin ping >/dev/null 2>&1; then
    echo "test-services: starting MariaDB"
    $SUDO mkdir -p /run/mysqld && $SUDO chown mysql:mysql /run/mysqld
    $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
    wait_for MariaDB mariadb-admin ping
fi
$SUDO mariadb -uroot <<'SQL'
CREATE USER IF NOT EXISTS 'vistack'@'localhost' IDENTIFIED BY 'vistack';
CREATE USER IF NOT EXISTS 'vistack'@'127.0.0.1' IDENTIFIED BY 'vistack';
GRANT ALL PRIVILEGES ON `vistack\_test\_%`.* TO 'vistack'@'localhost';
GRANT ALL PRIVILEGES ON `vistack\_test\_%`.* TO 'vistack'@'127.0.0.1';
SQL

# PostgreSQL
command -v pg_ctlcluster >/dev/null 2>&1 || install postgresql
version=$(ls /etc/postgresql | sort -V | tail -n 1)
if ! pg_isready -q -h 127.0.0.1; then
    echo "test-services: starting PostgreSQL $version"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for PostgreSQL pg_isready -q -h 127.0.0.1
fi
as_postgres psql -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vistack') THEN
    CREATE ROLE vistack LOGIN PASSWORD 'vistack' CREATEDB;
  END IF;
END $$;
SQL
echo "test-services: MariaDB and PostgreSQL ready"
