#!/bin/bash
# bench/cluster.sh: shmchatd as one network of 1, 2 or 3 nodes on this
# machine, through one Redis, against plain shmchatd (no cluster group):
# the same workloads with the clients spread over every node (shmbench
# --ports: client i on node i % N), several rounds, the configurations
# alternating within each round. Prints Markdown tables of the medians
# (docs/benchmarks.md, "Several nodes through Redis").
#
# Each run gets a fresh Redis (UNIX socket, no persistence) and fresh
# nodes, started one after the other, each waited for until its log says
# it is in the network. shmbench measures the nodes' CPU (all of them
# added up) and Redis's CPU (--aux-pid) over the send phase; this script
# reads Redis's memory (INFO memory used_memory) and the network log's
# length and size (XLEN, MEMORY USAGE) before and after the run. The RESULT
# lines, with those figures appended, go to results.txt in the output
# directory, with the logs.
#
# Usage: bench/cluster.sh [OPTION]...   (--help for the options)
set -u

me=cluster.sh
build=.
rounds=2
configs="plain 1 2 3"
only="a b d d10 l e"
outdir=
tables_only=0
conc=8
rate=20

usage() {
	cat <<'EOF'
Usage: bench/cluster.sh [OPTION]...
Runs the workloads against plain shmchatd and against networks of 1, 2 and
3 shmchatd nodes sharing one redis-server, ROUNDS rounds, and prints
Markdown tables of the medians.

  --build-dir DIR     holds server/shmchatd and bench/shmbench (default: .)
  --rounds N          rounds (default 2)
  --configs "LIST"    from: plain (no cluster group), 1, 2, 3 (nodes)
                      (default "plain 1 2 3")
  --only "LIST"       workloads, from: a b d d10 l e (default all)
  --concurrency C     registrations in flight in (e) (default 8)
  --rate R            messages/s per sender in (d) (default 20)
  --out DIR           keep results and logs there (default: a new temp dir)
  --tables-only       run nothing: print the tables of DIR/results.txt
  -h, --help          this help

Workloads (N clients in one channel, spread over the nodes):
  a  N=12, all send, closed loop, 64 in flight (M=5000)  deliveries/s
  b  N=99, all send, closed loop, 64 in flight (M=300)   deliveries/s
  d  N=150, S=50 at --rate msg/s each (M=100: 5 s)       latency, overall
                                                         and cross-node
  d10 N=100, S=10 at --rate msg/s each (M=100)           the same, a fifth
                                                         of the deliveries
  l  N=6, all at --rate msg/s each (M=100)               the same, nearly idle:
                                                         the path's own latency
  e  2000 clients register, --concurrency at a time      registrations/s
Redis CPU is per 1,000 messages sent (a, b, d) or per registration (e);
Redis memory is the growth of used_memory over the run (registrations,
JOINs and messages), per 1,000 messages sent.
EOF
}

die() { echo "$me: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--build-dir) build=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--configs) configs=$2; shift ;;
	--only) only=$2; shift ;;
	--concurrency) conc=$2; shift ;;
	--rate) rate=$2; shift ;;
	--out) outdir=$2; shift ;;
	--tables-only) tables_only=1 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 64 ;;
	esac
	shift
done

tables() {
	python3 - "$1" <<'EOF'
import sys, statistics
rows = []
for line in open(sys.argv[1]):
    if not line.startswith("RESULT "):
        continue
    kv = dict(t.split("=", 1) for t in line.split()[1:] if "=" in t)
    rows.append(kv)
def med(rs, k):
    v = [float(r[k]) for r in rs if k in r and r[k] not in ("-", "")]
    if not v:
        return None
    return statistics.median(v), min(v), max(v)
def fmt(m, nd=0, spread=True):
    if m is None:
        return "-"
    f = "{:,.%df}" % nd
    s = f.format(m[0])
    if spread and m[1] != m[2]:
        s += " (" + f.format(m[1]) + "-" + f.format(m[2]) + ")"
    return s
order = ["plain", "1", "2", "3"]
cfgs = sorted({r["cfg"] for r in rows}, key=lambda c: order.index(c) if c in order else 9)
name = {"plain": "shmchatd, no cluster", "1": "1 node", "2": "2 nodes", "3": "3 nodes"}
def sel(c, w):
    return [r for r in rows if r["cfg"] == c and r["workload"] == w]
def kmsg(rs, k):
    # a Redis figure over the run, per 1,000 messages sent
    v = [float(r[k]) * 1000 / float(r["sent"]) for r in rs
         if k in r and float(r.get("sent", 0)) > 0]
    return (statistics.median(v), min(v), max(v)) if v else None
ok = lambda rs: "" if all(r["status"] == "ok" for r in rs) else " (!)"
for w, title in (("a", "a: N=12, all send, closed loop"), ("b", "b: N=99, all send, closed loop")):
    if not any(r["workload"] == w for r in rows):
        continue
    print("\n%s (median of %s rounds, min-max)\n" % (title, max(len(sel(c, w)) for c in cfgs)))
    print("| | deliveries/s | p50 µs | p99 µs | cross-node p50 µs | cross-node p99 µs | nodes' CPU ns/delivery | Redis CPU µs / 1,000 msgs | Redis memory B / 1,000 msgs | log length after |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for c in cfgs:
        rs = sel(c, w)
        if rs:
            print("| %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (name.get(c, c), ok(rs),
                fmt(med(rs, "deliv_per_s")), fmt(med(rs, "lat_p50_us")), fmt(med(rs, "lat_p99_us")),
                fmt(med(rs, "xnode_p50_us")), fmt(med(rs, "xnode_p99_us")),
                fmt(med(rs, "srv_ns_per_deliv")), fmt(med(rs, "aux_us_per_kmsg")),
                fmt(kmsg(rs, "redis_mem_delta")), fmt(med(rs, "xlen_after"))))
for w in ("d", "d10", "l"):
    rs0 = [r for r in rows if r["workload"] == w]
    if not rs0:
        continue
    print("\n%s: N=%s, S=%s at %s msg/s each, 100 each (median, min-max)\n" % (w, rs0[0]["clients"], rs0[0]["senders"], rs0[0]["rate"]))
    print("| | deliveries/s | p50 µs | p99 µs | max µs | cross-node p50 µs | cross-node p99 µs | cross-node max µs | nodes' CPU s | Redis CPU µs / 1,000 msgs | Redis memory B / 1,000 msgs | log bytes / entry | log length after | masters' wait µs / slice | Redis wait µs / slice |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for c in cfgs:
        rs = sel(c, w)
        if not rs:
            continue
        per = [float(r["log_bytes"]) / float(r["xlen_after"]) for r in rs
               if float(r.get("xlen_after", 0)) > 0]
        print("| %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (name.get(c, c), ok(rs),
            fmt(med(rs, "deliv_per_s")), fmt(med(rs, "lat_p50_us")), fmt(med(rs, "lat_p99_us")), fmt(med(rs, "lat_max_us")),
            fmt(med(rs, "xnode_p50_us")), fmt(med(rs, "xnode_p99_us")), fmt(med(rs, "xnode_max_us")),
            fmt(med(rs, "srv_cpu_s"), 2), fmt(med(rs, "aux_us_per_kmsg")),
            fmt(kmsg(rs, "redis_mem_delta")),
            fmt((statistics.median(per), min(per), max(per)) if per else None),
            fmt(med(rs, "xlen_after")), fmt(med(rs, "master_wait_us")), fmt(med(rs, "redis_wait_us"))))
if any(r["workload"] == "e" for r in rows):
    print("\ne: 2000 clients register (median, min-max)\n")
    print("| | registrations/s | each p99 ms | nodes' CPU µs / registration | Redis CPU µs / registration | log length after |")
    print("|---|---|---|---|---|---|")
    for c in cfgs:
        rs = sel(c, "e")
        if rs:
            print("| %s%s | %s | %s | %s | %s | %s |" % (name.get(c, c), ok(rs),
                fmt(med(rs, "reg_per_s")), fmt(med(rs, "reg_p99_ms"), 1),
                fmt(med(rs, "srv_us_per_reg")), fmt(med(rs, "aux_us_per_reg")),
                fmt(med(rs, "xlen_after"))))
busy = [float(r["other_frac"]) for r in rows if "other_frac" in r]
if busy:
    print("\nOther work on the machine during the runs: median %.0f %%, max %.0f %% of its CPU."
          % (statistics.median(busy) * 100, max(busy) * 100))
EOF
}

if [ "$tables_only" = 1 ]; then
	[ -n "$outdir" ] && [ -f "$outdir/results.txt" ] || die "--tables-only needs --out DIR with results.txt"
	tables "$outdir/results.txt"
	exit 0
fi

shmchatd=$(readlink -f "$build/server/shmchatd")
shmbench=$(readlink -f "$build/bench/shmbench")
[ -x "$shmchatd" ] || die "no shmchatd at $build/server/shmchatd (make)"
[ -x "$shmbench" ] || die "no shmbench at $build/bench/shmbench (make)"
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
	die "redis-server and redis-cli are needed (apt-get install redis-server)"
command -v python3 >/dev/null || die "python3 is needed for the tables"
[ -n "$outdir" ] || outdir=$(mktemp -d /tmp/shmchat-cluster-bench.XXXXXX)
mkdir -p "$outdir"
outdir=$(readlink -f "$outdir")
# the nodes drop root to nobody: they must reach the socket and their files
chmod 755 "$outdir"
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true

pids=()
stop_all() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	pids=()
	rm -f "$outdir/redis.sock"
}
trap 'stop_all; exit 130' INT TERM
trap 'stop_all' EXIT

# three free ports on loopback, in a row
port=$(python3 -c 'import socket
for p in range(21000, 31000, 3):
    ok = True
    for q in (p, p + 1, p + 2):
        s = socket.socket()
        try: s.bind(("127.0.0.1", q))
        except OSError: ok = False
        s.close()
    if ok: print(p); break')
[ -n "$port" ] || die "no free ports"

rcli() { redis-cli -s "$outdir/redis.sock" "$@"; }
redis_pid=
prefix=
# start Redis and N nodes (N=0: one plain shmchatd); sets ports, srvpids
start_net() {
	local n=$1 tag=$2 i
	ports=()
	srvpids=()
	redis_pid=
	prefix="bench$$:"
	if [ "$n" -gt 0 ]; then
		redis-server --port 0 --unixsocket "$outdir/redis.sock" --unixsocketperm 777 \
			--save '' --appendonly no >"$outdir/$tag-redis.log" 2>&1 &
		redis_pid=$!
		pids+=("$redis_pid")
		for _ in $(seq 100); do grep -qi "ready to accept" "$outdir/$tag-redis.log" && break; sleep 0.05; done
		grep -qi "ready to accept" "$outdir/$tag-redis.log" || return 1
	fi
	for i in $(seq 1 $((n > 0 ? n : 1))); do
		cat >"$outdir/$tag-node$i.conf" <<EOF
# shmchatd node $i for bench/cluster.sh
listen = [ "127.0.0.1:$((port + i - 1))" ];
max_clients = 4000;
log_level = "notice";
sendq = 8388608;
motd = "shmchat benchmark";
ping_interval = 3600;
registration_timeout = 600;
admin = { queue_key = $((0x53440000 + ($$ % 4096) * 8 + i)); group = "root"; };
EOF
		[ "$n" -gt 0 ] && cat >>"$outdir/$tag-node$i.conf" <<EOF
cluster = { redis = "unix:$outdir/redis.sock"; node_name = "n$i"; key_prefix = "$prefix"; };
EOF
		: >"$outdir/$tag-node$i.log"
		"$shmchatd" -c "$outdir/$tag-node$i.conf" 2>"$outdir/$tag-node$i.log" &
		srvpids+=($!)
		pids+=($!)
		ports+=($((port + i - 1)))
		# ready: in the network, or (plain) listening
		for _ in $(seq 200); do
			if [ "$n" -gt 0 ]; then
				grep -qE "first node of the network|joined the network" "$outdir/$tag-node$i.log" && break
			else
				ss -Hltn "sport = :$((port + i - 1))" | grep -q . && break
			fi
			sleep 0.05
		done
		kill -0 "${srvpids[-1]}" 2>/dev/null || return 1
	done
	[ "$n" -gt 0 ] && ! grep -qE "first node of the network|joined the network" "$outdir/$tag-node$n.log" && return 1
	# every node listening before the first client
	for i in $(seq 1 $((n > 0 ? n : 1))); do
		for _ in $(seq 100); do ss -Hltn "sport = :$((port + i - 1))" | grep -q . && break; sleep 0.05; done
	done
	return 0
}

# time spent runnable but waiting for a CPU, per time slice, of the masters
# and of Redis (/proc/PID/schedstat: run ns, wait ns, slices): on a busy
# machine every process hop of a message's path waits about this long
declare -A w0 s0
wait_mark() {
	local p x y z
	for p in "$@"; do read -r x y z <"/proc/$p/schedstat" && w0[$p]=$y s0[$p]=$z; done
}
wait_per_slice() {
	local p x y z w=0 s=0
	for p in "$@"; do
		read -r x y z <"/proc/$p/schedstat" || continue
		w=$((w + y - ${w0[$p]:-y})); s=$((s + z - ${s0[$p]:-z}))
	done
	echo $((s > 0 ? w / s / 1000 : 0))
}

redis_mem() { rcli INFO memory | tr -d '\r' | sed -n 's/^used_memory://p'; }

run_one() {
	local cfg=$1 round=$2 w=$3 n tag args mem0=0 mem1=0 xlen0=0 xlen1=0 logb=0 line
	n=$cfg
	[ "$cfg" = plain ] && n=0
	tag="r$round-$cfg-$w"
	case $w in
	a) args=(-n 12 -m 5000 -w 64) ;;
	b) args=(-n 99 -m 300 -w 64 -t 300) ;;
	d) args=(-n 150 -s 50 -r "$rate" -m 100) ;;
	d10) args=(-n 100 -s 10 -r "$rate" -m 100) ;;
	l) args=(-n 6 -s 6 -r "$rate" -m 100) ;;
	e) args=(--storm -n 2000 -c "$conc" -t 300) ;;
	*) die "unknown workload $w" ;;
	esac
	if ! start_net "$n" "$tag"; then
		echo "$me: $tag: the network did not start, see $outdir/$tag-*.log" >&2
		stop_all
		return
	fi
	local pargs=() p
	pargs+=(--ports "$(IFS=,; echo "${ports[*]}")")
	for p in "${srvpids[@]}"; do pargs+=(-P "$p"); done
	if [ -n "$redis_pid" ]; then
		pargs+=(--aux-pid "$redis_pid")
		mem0=$(redis_mem)
		xlen0=$(rcli XLEN "${prefix}log")
	fi
	wait_mark "${srvpids[@]}" $redis_pid
	line=$("$shmbench" -q "${args[@]}" "${pargs[@]}" --label "$tag" 2>>"$outdir/$tag-shmbench.err" | grep '^RESULT')
	if [ -n "$redis_pid" ]; then
		mem1=$(redis_mem)
		xlen1=$(rcli XLEN "${prefix}log")
		logb=$(rcli MEMORY USAGE "${prefix}log" SAMPLES 0)
	fi
	local extra=" master_wait_us=$(wait_per_slice "${srvpids[@]}")"
	[ -n "$redis_pid" ] && extra+=" redis_wait_us=$(wait_per_slice "$redis_pid")"
	[ -n "$redis_pid" ] && extra+=" redis_mem_before=$mem0 redis_mem_after=$mem1 redis_mem_delta=$((mem1 - mem0)) xlen_before=$xlen0 xlen_after=$xlen1 log_bytes=${logb:-0}"
	echo "$line cfg=$cfg round=$round workload=$w$extra load=$(cut -d' ' -f1 /proc/loadavg)" |
		tee -a "$outdir/results.txt"
	stop_all
}

echo "$me: results in $outdir; ports $port-$((port + 2)); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq 1 "$rounds"); do
	for w in $only; do
		# alternate: every other round runs the configurations backwards
		list=$configs
		[ $((r % 2)) = 0 ] && list=$(echo "$configs" | tr ' ' '\n' | tac | tr '\n' ' ')
		for c in $list; do
			run_one "$c" "$r" "$w"
		done
	done
done
tables "$outdir/results.txt"
