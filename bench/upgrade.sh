#!/bin/bash
# upgrade.sh: how long an upgrade in place (shmchatctl upgrade) pauses
# shmchatd with N clients connected: from the moment the old image stops
# serving to the new image's READY, as the new image measures it and
# shmchatctl prints it ("upgraded from X to Y (paused N ms)"). The clients
# (bench/shmbench --idle) stay connected throughout; any of them dropped
# fails the run.
#
#   bench/upgrade.sh [--build-dir DIR] [--clients "100 1000 10000"]
#                    [--rounds N] [--join] [--port P]
#
# --join: the clients are in one channel (N^2/2 JOIN lines first: slow
# above a few thousand). Prints one line per client count: the pauses of
# every round and their median. Needs nothing else running (measure on a
# quiet machine).
set -u

build=$(cd "$(dirname "$0")/.." && pwd)
clients="100 1000 10000"
rounds=3
join=0
port=24260

while [ $# -gt 0 ]; do
	case $1 in
	--build-dir) build=$(cd "$2" && pwd); shift ;;
	--clients) clients=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--join) join=1 ;;
	--port) port=$2; shift ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "upgrade.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

shmchatd=$build/server/shmchatd
ctl=$build/ctl/shmchatctl
shmbench=$build/bench/shmbench
for x in "$shmchatd" "$ctl" "$shmbench"; do
	[ -x "$x" ] || { echo "upgrade.sh: no $x (make, make -C bench or make bench)" >&2; exit 2; }
done

dir=$(mktemp -d /tmp/shmchat-upgrade.XXXXXX)
# the server reads its configuration again as its unprivileged user
chmod 755 "$dir"
srv=
bench=
cleanup() {
	[ -n "$bench" ] && kill "$bench" 2>/dev/null
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	[ -n "$srv" ] && while kill -0 "$srv" 2>/dev/null; do sleep 0.1; done
	rm -rf "$dir"
}
trap cleanup EXIT

median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "| clients | pauses (ms) | median (ms) |"
echo "|---:|---|---:|"
for n in $clients; do
	key=$(( 0x53550000 + (RANDOM % 65536) ))
	cat > "$dir/shmchatd.conf" <<EOF
listen = [ "127.0.0.1:$port" ];
max_clients = $((n + 200));
log_level = "notice";
ping_interval = 3600;
registration_timeout = 600;
admin = { queue_key = $key; group = "root"; };
EOF
	"$shmchatd" -c "$dir/shmchatd.conf" 2> "$dir/shmchatd.log" &
	srv=$!
	for _ in $(seq 50); do grep -q ready "$dir/shmchatd.log" && break; sleep 0.1; done
	joinopt=--no-join
	[ "$join" = 1 ] && joinopt=
	# connected for as long as the rounds take, at most an hour
	"$shmbench" -p "$port" -n "$n" -c 8 --idle $joinopt -P "$srv" --settle-ms 3600000 \
		-t 3700 > "$dir/shmbench.log" 2>&1 &
	bench=$!
	while ! grep -q "phase settle" "$dir/shmbench.log"; do
		kill -0 "$bench" 2>/dev/null || { echo "upgrade.sh: shmbench failed:" >&2;
			cat "$dir/shmbench.log" >&2; exit 1; }
		sleep 0.5
	done
	pauses=
	for r in $(seq "$rounds"); do
		out=$("$ctl" -c "$dir/shmchatd.conf" -t 60 upgrade "$shmchatd" 2>&1) ||
			{ echo "upgrade.sh: upgrade failed: $out" >&2; exit 1; }
		p=$(echo "$out" | sed -n 's/.*(paused \([0-9]*\) ms).*/\1/p')
		pauses="$pauses $p"
	done
	# every client still there
	live=$("$ctl" -c "$dir/shmchatd.conf" status | awk '$1 == "connections:" {print $2}')
	[ "$live" = "$n" ] || { echo "upgrade.sh: $live of $n clients left after the upgrades" >&2; exit 1; }
	echo "| $n | ${pauses# } | $(echo "$pauses" | median) |"
	kill "$bench" 2>/dev/null; wait "$bench" 2>/dev/null; bench=
	kill "$srv"; wait "$srv" 2>/dev/null; srv=
done
