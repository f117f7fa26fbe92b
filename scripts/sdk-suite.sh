#!/usr/bin/env bash
# Runs the real DreamLake SDK's remote test suite against a fresh server: the compiled binary when
# given as $1, else the source. The SDK's checkout is $DREAMLAKE_SDK, else ../shared/clients/dreamlake-py
# (test/support/setup.ts sdkCheckout). Prints pytest's summary line and exits non-zero when a test
# failed, errored or was skipped (a skip has tested nothing).
#   scripts/sdk-suite.sh [binary] [test files…]   (default: the whole remote suite, 39 tests)
#   SDK_SUITE_AS=team-key scripts/sdk-suite.sh …   the same as a team member's API key, writing into the team
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
checkout=$(bun "$root/test/support/sdk.ts" --checkout) || exit 1
server=(bun "$root/src/index.ts")
if [ $# -gt 0 ] && [ -n "$1" ]; then server=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"); fi
shift || true
files=("$@")
[ ${#files[@]} -eq 0 ] && files=(test/test_session.py test/test_logging.py test/test_parameters.py test/test_tracks.py test/test_files.py test/test_integration.py)
# Debian's python3, which the apt packages (python3-pytest, python3-httpx, …) belong to, not a pyenv one ahead in PATH
python=/usr/bin/python3
[ -x "$python" ] || python=python3

work=$(mktemp -d)
cleanup() {
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# a fresh data folder, the stand-in identity provider, a port the system picks
mkdir -p "$work/server"
(cd "$work/server" && exec "${server[@]}" serve --dev --port 0 --log-format json >"$work/server.log" 2>&1) &
pid=$!
url=
for _ in $(seq 1 100); do
	url=$(grep -o '"url":"http[^"]*"' "$work/server.log" 2>/dev/null | head -n 1 | cut -d'"' -f4)
	[ -n "$url" ] && break
	sleep 0.1
done
url=${url%/}
if [ -z "$url" ]; then echo "the server did not start:"; cat "$work/server.log"; exit 1; fi

vuer=$(cd "$work/server" && "${server[@]}" dev-token sdk-suite) || { echo "dev-token failed"; exit 1; }
# the exchange with Python's standard library: the machine may have no curl
token=$(URL="$url" VUER="$vuer" "$python" -c '
import json, os, urllib.request
request = urllib.request.Request(os.environ["URL"] + "/auth/exchange", method="POST", headers={"Authorization": "Bearer " + os.environ["VUER"]})
print(json.load(urllib.request.urlopen(request))["dreamlake_token"])') || { echo "exchange failed"; exit 1; }

# SDK_SUITE_AS=team-key: the suite runs as CI would in a lab, with an API key of a team member: a
# second person creates the team "lab", adds the first as a member, who makes a member key; the
# SDK's default namespace (GET /auth/me) is then the team's, and every episode lands there
if [ "${SDK_SUITE_AS:-}" = team-key ]; then
	owner_vuer=$(cd "$work/server" && "${server[@]}" dev-token sdk-suite-owner) || { echo "dev-token failed"; exit 1; }
	token=$(URL="$url" MEMBER="$token" OWNER_VUER="$owner_vuer" "$python" -c '
import json, os, urllib.request
url = os.environ["URL"]
def call(method, path, token, body=None):
    request = urllib.request.Request(url + path, method=method, data=None if body is None else json.dumps(body).encode(), headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))
owner = call("POST", "/auth/exchange", os.environ["OWNER_VUER"])["dreamlake_token"]
call("POST", "/namespaces", owner, {"slug": "lab", "name": "The Lab"})
member = call("GET", "/auth/me", os.environ["MEMBER"])["username"]
call("POST", "/namespaces/lab/members", owner, {"username": member, "role": "member"})
print(call("POST", "/namespaces/lab/api-keys", os.environ["MEMBER"], {"name": "sdk suite", "role": "member"})["secret"])') || { echo "the team and its key could not be made"; exit 1; }
fi

cp -r "$checkout/." "$work/sdk"
cd "$work/sdk"
mkdir -p "$work/home"
PYTHONPATH=src PYTHONDONTWRITEBYTECODE=1 HOME="$work/home" DREAMLAKE_URL="$url" DREAMLAKE_API_KEY="$token" \
	"$python" -m pytest -m remote -p no:cacheprovider -q -rfEs --timeout 120 "${files[@]}" 2>&1 | tee "$work/pytest.log"
status=${PIPESTATUS[0]}
summary=$(tail -n 1 "$work/pytest.log")
if grep -q '"level":"error"' "$work/server.log"; then echo "the server logged errors:"; grep '"level":"error"' "$work/server.log"; status=1; fi
if echo "$summary" | grep -qE '[0-9]+ (skipped|deselected|error)'; then
	case "$summary" in *skipped*|*error*) echo "skipped or errored tests count as failures"; status=1 ;; esac
fi
if [ "${SDK_SUITE_AS:-}" = team-key ] && [ "$status" -eq 0 ]; then
	# everything the suite wrote is in the team's namespace: the key's, and no one else's
	where=$(URL="$url" KEY="$token" "$python" -c '
import json, os, urllib.request
request = urllib.request.Request(os.environ["URL"] + "/namespaces/lab", headers={"Authorization": "Bearer " + os.environ["KEY"]})
print(json.load(urllib.request.urlopen(request))["episodes"])')
	echo "episodes in the team namespace lab: $where"
	[ "${where:-0}" -gt 0 ] || { echo "the suite wrote nothing into the team namespace"; status=1; }
fi
exit "$status"
