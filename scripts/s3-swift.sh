#!/usr/bin/env bash
# A throwaway S3-compatible object store on loopback for the tests and the bench: OpenStack Swift
# from Debian's packages (one node, one replica, its disk a plain folder) behind Swift's own S3 API
# (s3api) with its test auth (tempauth). Run as root on Debian; installs the packages if missing.
#
#   scripts/s3-swift.sh start <folder> [port] [bucket]   prints the FILE_STORAGE and S3_* settings
#   scripts/s3-swift.sh stop <folder>                     ends the processes it started there
#
#   eval "$(scripts/s3-swift.sh start /tmp/s3 18300 dreamlake | sed 's/^/export /')"
#
# Ports on 127.0.0.1: <port> the S3 endpoint (the proxy), +1..+3 the object, container and
# account servers, +4 memcached (tempauth keeps its tokens there), +5 (UDP) the log receiver.
# Swift logs to syslog only (/dev/log, else UDP): a small receiver writes <folder>/log/swift.log.
set -euo pipefail

cmd=${1:-}; dir=${2:-}
[[ $cmd =~ ^(start|stop)$ && -n $dir ]] || { echo "usage: $0 start|stop <folder> [port] [bucket]" >&2; exit 2; }
port=${3:-18300}
bucket=${4:-dreamlake}
mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
pids=$dir/pids
# tempauth's user test:tester; the access key has no ':' (Bun's presigned URLs do not encode it),
# so the proxy maps this alias to the user (s3_key_alias.py below)
access_key=dreamlake-test
secret_key=dreamlake-test-secret
region=us-east-1

# each line "<pid> <start time>": stop never signals a process that reused a recorded pid
started_at() { cut -d' ' -f22 "/proc/$1/stat" 2>/dev/null || true; }
stop() {
	[ -f "$pids" ] || return 0
	local pid at
	while read -r pid at; do [ "$(started_at "$pid")" = "$at" ] && kill "$pid" 2>/dev/null || true; done <"$pids"
	for _ in $(seq 30); do
		local alive=0
		while read -r pid at; do [ "$(started_at "$pid")" = "$at" ] && alive=1; done <"$pids"
		[ $alive = 0 ] && break
		sleep 0.1
	done
	while read -r pid at; do [ "$(started_at "$pid")" = "$at" ] && kill -9 "$pid" 2>/dev/null || true; done <"$pids"
	rm -f "$pids"
}
[ "$cmd" = stop ] && { stop; exit 0; }

# curl signs S3 requests itself (--aws-sigv4); s3api wants the payload hash header, curl 7.88 omits it
s3() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 --user "$access_key:$secret_key" --aws-sigv4 "aws:amz:$region:s3" \
		-H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' "$@"
}
settings() {
	echo "FILE_STORAGE=s3://$bucket/"
	echo "S3_ENDPOINT=http://127.0.0.1:$port"
	echo "S3_REGION=$region"
	echo "S3_ACCESS_KEY_ID=$access_key"
	echo "S3_SECRET_ACCESS_KEY=$secret_key"
}
# the bucket, made with curl: Bun's S3 client cannot create one (409: it exists already)
ready() { [[ $(s3 -X PUT "http://127.0.0.1:$port/$bucket") =~ ^(200|409)$ ]]; }

stop # what an earlier start in this folder left running
if ! [ -x /usr/bin/swift-proxy-server ] || ! [ -x /usr/bin/memcached ] || ! command -v curl >/dev/null; then
	# no recommends: they bring keystone and barbican clients; under systemd the packages also
	# enable services of their own, which this store does not use
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		swift swift-proxy swift-object swift-container swift-account memcached curl) >"$dir/apt.log" 2>&1 ||
		{ cat "$dir/apt.log" >&2; exit 1; }
fi
mkdir -p "$dir/srv/d1" "$dir/log"
user=$(id -un) # the servers drop privileges to this user, who owns the folder

# Swift reads swift.conf from /etc/swift only; the servers are started with set_swift_dir(<folder>)
cat >"$dir/swift.conf" <<EOF
[swift-hash]
swift_hash_path_suffix = dreamlake-test
[storage-policy:0]
name = Policy-0
default = yes
EOF
# workers = 0: one process each; mount_check off and no fallocate: the disk is a plain folder
common() {
	printf '[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = %s\nworkers = 0\nuser = %s\nswift_dir = %s\ndevices = %s/srv\nmount_check = false\ndisable_fallocate = true\nlog_udp_host = 127.0.0.1\nlog_udp_port = %s\nlog_name = %s\n' \
		"$1" "$user" "$dir" "$dir" $((port + 5)) "$2"
}
offset=1
for name in object container account; do
	{ common $((port + offset)) "$name-server"; printf '[pipeline:main]\npipeline = %s-server\n[app:%s-server]\nuse = egg:swift#%s\n' "$name" "$name" "$name"; } >"$dir/$name-server.conf"
	offset=$((offset + 1))
done
# the proxy: s3api turns S3 requests into Swift's; slo stores its multipart uploads (required),
# copy serves CopyObject, cache is tempauth's memcache client
{ common "$port" proxy-server; cat <<EOF
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api s3_key_alias tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$((port + 4))
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:s3api]
use = egg:swift#s3api
location = $region
[filter:s3_key_alias]
paste.filter_factory = s3_key_alias:filter_factory
alias = $access_key
maps_to = test:tester
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = $secret_key .admin
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
EOF
} >"$dir/proxy-server.conf"

# s3api names the Swift account after the access key (/v1/<key>/…) and tempauth checks the
# signature against the key of the user so named: the alias becomes test:tester in both places
cat >"$dir/s3_key_alias.py" <<'EOF'
def filter_factory(global_conf, **conf):
    alias, user = conf["alias"], conf["maps_to"]

    def make_filter(app):
        def s3_key_alias(env, start_response):
            details = env.get("s3api.auth_details")
            if details and details.get("access_key") == alias:
                details["access_key"] = user
                path, old = env["PATH_INFO"], "/v1/" + alias
                if path == old or path.startswith(old + "/"):
                    env["PATH_INFO"] = "/v1/" + user + path[len(old):]
            return app(env, start_response)
        return s3_key_alias
    return make_filter
EOF

py=/usr/bin/python3 # Debian's, which has python3-swift
# one device, one replica, 2^8 partitions; rebuilt each start so they carry the ports
$py - "$dir" "$port" <<'EOF'
import os, sys
from swift.common.ring import RingBuilder
folder, port = sys.argv[1], int(sys.argv[2])
for offset, name in ((1, "object"), (2, "container"), (3, "account")):
    builder = RingBuilder(8, 1, 1)
    builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": port + offset, "device": "d1", "weight": 1.0})
    builder.rebalance()
    builder.get_ring().save(os.path.join(folder, name + ".ring.gz"))
EOF

: >"$pids"
record() { echo "$1 $(started_at "$1")" >>"$pids"; }
$py -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
out = open(sys.argv[2], "ab", 0)
while True: out.write(s.recv(65536).rstrip(b"\0\n") + b"\n")
' $((port + 5)) "$dir/log/swift.log" </dev/null >>"$dir/log/receiver.out" 2>&1 &
record $!
/usr/bin/memcached -l 127.0.0.1 -p $((port + 4)) -U 0 -m 64 -u "$user" </dev/null >>"$dir/log/memcached.out" 2>&1 &
record $!
for server in account container object proxy; do
	PYTHONPATH=$dir $py -c '
import runpy, sys
from swift.common import utils
utils.set_swift_dir(sys.argv[1])
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
' "$dir" "/usr/bin/swift-$server-server" "$dir/$server-server.conf" </dev/null >>"$dir/log/$server.out" 2>&1 &
	record $!
done
for _ in $(seq 300); do # 30 s
	if ready; then settings; exit 0; fi
	while read -r pid at; do kill -0 "$pid" 2>/dev/null || break 2; done <"$pids" # one died: its log says why
	sleep 0.1
done
echo "Swift's S3 API did not answer on 127.0.0.1:$port; logs in $dir/log:" >&2
tail -n 20 "$dir"/log/*.out >&2 || true
stop
exit 1
