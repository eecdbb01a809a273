#!/bin/bash
# tests/cluster/two-nodes.sh: two shmchatd nodes and one Redis on this
# machine, a shmchat client on each, chatting (make check-cluster-demo).
#
# Starts a private redis-server on a UNIX socket in a temporary directory,
# two shmchatd nodes of one network (ports 127.0.0.1:P and P+1, their own
# admin queue keys), waits until both have joined the network (their log
# says so), then: a listener on node 2 (shmchat --listen --json) and a
# sender on node 1 (shmchat in script mode) in one channel; the line sent
# on node 1 must reach the client on node 2. Shows `shmchatctl cluster`.
# Everything it started is stopped and removed at the end.
#
#   two-nodes.sh [BUILD_DIR]     (default: the current directory)
set -euo pipefail
build=$(readlink -f "${1:-.}")
shmchatd=$build/server/shmchatd
shmchat=$build/client/shmchat
shmchatctl=$build/ctl/shmchatctl
for b in "$shmchatd" "$shmchat" "$shmchatctl"; do
	[ -x "$b" ] || { echo "two-nodes.sh: $b not built" >&2; exit 64; }
done
command -v redis-server >/dev/null || { echo "two-nodes.sh: redis-server not installed (tools/install-deps --test)" >&2; exit 77; }

dir=$(mktemp -d /tmp/shmchat-cluster.XXXXXX)
chmod 755 "$dir"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$dir"
}
trap cleanup EXIT

# a free port pair on loopback
port=$(python3 -c 'import socket
for p in range(20000, 30000, 2):
    ok = True
    for q in (p, p + 1):
        s = socket.socket()
        try: s.bind(("127.0.0.1", q))
        except OSError: ok = False
        s.close()
    if ok: print(p); break')

redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 777 \
	--save '' --appendonly no >"$dir/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -qi "ready to accept" "$dir/redis.log" && break; sleep 0.1; done
grep -qi "ready to accept" "$dir/redis.log" || { cat "$dir/redis.log"; exit 1; }

for n in 1 2; do
	cat >"$dir/node$n.conf" <<EOF
listen = [ "127.0.0.1:$((port + n - 1))" ];
admin = { queue_key = $((0x53430000 + RANDOM * 4 + n)); group = "root"; };
cluster = { redis = "unix:$dir/redis.sock"; node_name = "node$n"; key_prefix = "demo$$:"; };
EOF
	"$shmchatd" -c "$dir/node$n.conf" 2>"$dir/node$n.log" &
	pids+=($!)
	for _ in $(seq 100); do
		grep -qE "first node of the network|joined the network" "$dir/node$n.log" && break
		sleep 0.1
	done
	grep -qE "first node of the network|joined the network" "$dir/node$n.log" ||
		{ cat "$dir/node$n.log"; exit 1; }
	echo "node$n: $(grep -oE "first node of the network|joined the network" "$dir/node$n.log")"
done

"$shmchat" -s "127.0.0.1:$((port + 1))" -n bob -c '#demo' --listen --json >"$dir/bob.json" 2>"$dir/bob.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '"type":"join"' "$dir/bob.json" 2>/dev/null && break; sleep 0.1; done
echo "hello from node 1" | "$shmchat" -s "127.0.0.1:$port" -n alice -c '#demo'
for _ in $(seq 100); do grep -q "hello from node 1" "$dir/bob.json" && break; sleep 0.1; done
"$shmchatctl" -c "$dir/node1.conf" cluster
if grep -q "hello from node 1" "$dir/bob.json"; then
	echo "bob on node2 got: $(grep "hello from node 1" "$dir/bob.json")"
	echo "two-nodes.sh: PASS"
else
	echo "two-nodes.sh: FAIL: bob on node2 did not get alice's line" >&2
	cat "$dir/bob.json" "$dir/bob.err" "$dir/node1.log" "$dir/node2.log" >&2
	exit 1
fi
