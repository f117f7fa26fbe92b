#!/usr/bin/env bash
# A throwaway PostgreSQL 15 (Debian's postgresql-15) on loopback, for the tests and the bench.
#   scripts/postgres.sh start <folder> [port]   creates the cluster in <folder> when it is not there yet,
#                                               starts it, prints DATABASE_URL=postgres://postgres@127.0.0.1:<port>/postgres
#                                               (port: a free one the system picks when not given)
#   scripts/postgres.sh stop <folder>           stops it (the folder stays; rm -rf it to throw the data away)
# Trust authentication on 127.0.0.1 only: a test cluster, never a deployment. TLS is on (a self-signed
# certificate) when openssl is there, so ?sslmode=require can be tested; plain connections work too. Installs postgresql-15 with
# apt-get when its binaries are missing. PostgreSQL refuses to run as root: as root, initdb and pg_ctl
# run as the postgres user Debian's package creates.
set -euo pipefail
cmd=${1:-}
dir=${2:-}
port=${3:-}
bin=${POSTGRES_BIN:-/usr/lib/postgresql/15/bin}
if [ -z "$dir" ] || { [ "$cmd" != start ] && [ "$cmd" != stop ]; }; then
	echo "usage: $0 start <folder> [port] | stop <folder>" >&2
	exit 2
fi
sudo=
[ "$(id -u)" -ne 0 ] && sudo=sudo
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}

if [ "$cmd" = stop ]; then
	if [ -f "$dir/data/postmaster.pid" ]; then as_owner "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop" >/dev/null; fi
	exit 0
fi

if [ ! -x "$bin/initdb" ]; then
	echo "installing postgresql-15 (its binaries are not in $bin)" >&2
	($sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql-15) >/dev/null ||
		{ echo "could not install postgresql-15; install it (apt-get install postgresql-15) or set DATABASE_URL" >&2; exit 1; }
fi
# already running (started by an earlier call): the same URL again
if [ -f "$dir/port" ] && as_owner "'$bin/pg_ctl' -D '$dir/data' status" >/dev/null 2>&1; then
	echo "DATABASE_URL=postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
	exit 0
fi
if [ -z "$port" ]; then
	# a port nothing listens on now; pg_ctl fails below, clearly, in the rare case another process takes it first
	port=$(bun -e 'const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }); console.log(s.port); s.stop(true)')
fi
mkdir -p "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
if [ ! -d "$dir/data" ]; then
	as_owner "'$bin/initdb' -D '$dir/data' -A trust -U postgres --no-sync" >/dev/null
	# a self-signed certificate, so a URL with ?sslmode=require is tested against real TLS
	if command -v openssl >/dev/null; then
		as_owner "cd '$dir/data' && openssl req -new -x509 -days 3650 -nodes -subj /CN=127.0.0.1 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -keyout server.key -out server.crt 2>/dev/null && chmod 600 server.key && echo 'ssl = on' >> postgresql.conf"
	fi
fi
# the socket goes into the folder too (Debian's default, /var/run/postgresql, is root's to create)
if ! as_owner "'$bin/pg_ctl' -D '$dir/data' -w -t 30 -o '-p $port -k $dir -c listen_addresses=127.0.0.1' -l '$dir/log' start" >/dev/null; then
	echo "PostgreSQL did not start; its log:" >&2
	tail -n 20 "$dir/log" >&2
	exit 1
fi
echo "$port" >"$dir/port"
echo "DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
