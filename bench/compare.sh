#!/bin/bash
# bench/compare.sh: run the same workloads against shmchatd and ngircd, side
# by side, several rounds, and print the medians and the ratio
# shmchatd/ngircd of every figure as Markdown (docs/benchmarks.md).
#
# Every run gets a fresh server on a loopback port with a temporary
# configuration, and the servers alternate within each round. shmbench (the
# load generator, bench/shmbench.c) prints one RESULT line per run; they all
# go to results.txt in the output directory, with the servers' logs.
#
# A workload name with a T after it (aT, bT, hT) runs the same workload over
# TLS: both servers then also listen with TLS, on a throw-away ECDSA P-256
# certificate made here (openssl req) and removed at the end.
#
# A third "server", bench/relay (the trivial single-process relay, this
# machine's floor), runs the workloads of --relay-workloads (default: d), so
# that shmchatd's latency can be set against the floor in the same run.
# Nothing is pinned to a CPU unless --pin: then the server (every process of
# it) runs on CPU 0 and shmbench on CPU 1 (taskset).
#
# Usage: bench/compare.sh [OPTION]...   (--help for the options)
set -u

me=compare.sh
build=.
shmchatd=
shmbench=
ngircd=
relay=
rounds=3
only="a a16 b b16 c d e f f2 g gj"
servers="shmchatd ngircd relay"
relay_runs="d"
pin=0
outdir=
port_base=
quick=0
big=10000
big_timeout=300
ngircd_big_rounds=0
do_perf=0
churn=10
retries=2
tables_only=0
window=64
conc=8
join_conc=64

usage() {
	cat <<'EOF'
Usage: bench/compare.sh [OPTION]...
Runs the benchmark workloads against shmchatd and ngircd on loopback ports,
ROUNDS rounds each, and prints Markdown tables of the medians with the
ratio shmchatd/ngircd.

  --build-dir DIR       build directory holding bench/shmbench and
                        server/shmchatd (default: .)
  --shmchatd PATH       the shmchatd binary (default: DIR/server/shmchatd)
  --shmbench PATH       the load generator (default: DIR/bench/shmbench)
  --ngircd PATH         the ngircd binary (default: ngircd from PATH)
  --relay PATH          the trivial relay (default: DIR/bench/relay)
  --rounds N            rounds per workload and server (default 3)
  --only "LIST"         workloads to run, from: a a16 b b16 c d e f f2 g gj h
                        (g: g1 g1000 gbig; gj: gj1000 gjbig, each may be
                        named alone), and aT bT hT ... for the same over
                        TLS, aC bC cC dC for the same with every client
                        asking for message-tags, server-time and
                        echo-message (default: a a16 b b16 c d e f f2 g gj)
  --tls                 the TLS comparison: --only "a aT b bT h hT"
  --servers "LIST"      among shmchatd, ngircd and relay (default all three;
                        the relay runs only --relay-workloads)
  --relay-workloads "LIST"  workloads the relay runs (default: d)
  --pin                 the server on CPU 0, shmbench on CPU 1 (taskset);
                        default: unpinned, the scheduler places both
  --big N               clients of (f) and of the largest (g) (default 10000)
  --big-timeout SEC     time limit of one run with --big clients (default 300)
  --ngircd-big-rounds N rounds of ngircd's (f) and gjbig when --big is over
                        2000 (default 0: its JOIN phase alone takes 14
                        minutes at 10,000 clients; f2 compares both at 2,000)
  --window W            messages in flight per sender, (a)-(c) (default 64;
                        a16 and b16 always run with 16)
  --concurrency C       connections being registered at once (default 8:
                        ngircd listens with a backlog of 10)
  --join-concurrency J  JOINs in flight (default 64)
  --churn SEC           length of (h) (default 10)
  --quick               a smoke run: fewer messages, 1,000 clients for (f)/(g)
  --perf                perf stat on each server during (b), round 1
  --retries N           re-run a run disturbed by other work on the machine
                        (over 10 % of its CPU) up to N times (default 2)
  --out DIR             keep results and logs there (default: a new temp dir)
  --tables-only         run nothing: print the tables of DIR/results.txt
                        (with --out DIR; the other options as for that run)
  --port-base P         shmchatd listens on P, ngircd on P+1, their TLS
                        listeners on P+2 and P+3, the relay on P+4
                        (default: free ports)
  -h, --help            this help

Workloads (N clients in one channel, S senders, M messages per sender):
  a  N=10, all send, closed loop (M=20000)       throughput
     (a16: the same with 16 messages in flight per sender)
  b  N=100, all send, closed loop (M=1000)       throughput
     (b16: the same with 16 messages in flight per sender)
  c  N=1000, S=10, closed loop (M=1000)          throughput
  d  N=100, S=10 at 20 msg/s each (M=100, 5 s)   latency under moderate load
  e  connection storm: 2000 clients register     registrations/s
  f  N=--big in the channel, 5 broadcasts        time until all N-1 have one
     (f2: the same with 2,000 clients, to compare with ngircd)
  g  N=1, 1000 and --big idle clients (no JOIN)  memory (PSS)
  gj N=1000 and --big clients, each joining the  memory (PSS), and the time
     channel as soon as it is registered,        until all are registered
     --concurrency at a time, then idle          and joined (big channel join)
  h  connect, register, QUIT, again, for --churn   cycles/s; over TLS (hT)
     seconds, --concurrency at a time              each is a full handshake
  xT the workload x over TLS (shmbench --tls): a, b and h are the ones
     measured (docs/benchmarks.md); every server here has a TLS listener
EOF
}

die() { echo "$me: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--build-dir) build=$2; shift ;;
	--shmchatd) shmchatd=$2; shift ;;
	--shmbench) shmbench=$2; shift ;;
	--ngircd) ngircd=$2; shift ;;
	--relay) relay=$2; shift ;;
	--relay-workloads) relay_runs=$2; shift ;;
	--pin) pin=1 ;;
	--rounds) rounds=$2; shift ;;
	--only) only=$2; shift ;;
	--servers) servers=$2; shift ;;
	--big) big=$2; shift ;;
	--big-timeout) big_timeout=$2; shift ;;
	--ngircd-big-rounds) ngircd_big_rounds=$2; shift ;;
	--window) window=$2; shift ;;
	--concurrency) conc=$2; shift ;;
	--join-concurrency) join_conc=$2; shift ;;
	--quick) quick=1 ;;
	--perf) do_perf=1 ;;
	--tls) only="a aT b bT h hT" ;;
	--churn) churn=$2; shift ;;
	--retries) retries=$2; shift ;;
	--out) outdir=$2; shift ;;
	--tables-only) tables_only=1 ;;
	--port-base) port_base=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 64 ;;
	esac
	shift
done

srcdir=$(cd "$(dirname "$0")/.." && pwd)
[ -n "$shmchatd" ] || shmchatd=$build/server/shmchatd
[ -n "$shmbench" ] || shmbench=$build/bench/shmbench
[ -n "$ngircd" ] || ngircd=$(command -v ngircd || true)
[ -n "$relay" ] || relay=$build/bench/relay
for s in $servers; do
	case $s in
	shmchatd) [ -x "$shmchatd" ] || die "no shmchatd at $shmchatd (make, or --shmchatd PATH)" ;;
	ngircd) [ -n "$ngircd" ] && [ -x "$ngircd" ] ||
		die "ngircd not found: apt-get install ngircd (or --ngircd PATH, or --servers shmchatd)" ;;
	relay) [ -x "$relay" ] || die "no relay at $relay (make, or --relay PATH, or --servers \"shmchatd ngircd\")" ;;
	*) die "unknown server '$s'" ;;
	esac
done
[ -x "$shmbench" ] || die "no shmbench at $shmbench (make, or --shmbench PATH)"
command -v ss >/dev/null || die "ss (iproute2) is needed to see when a server listens"
shmchatd=$(cd "$(dirname "$shmchatd")" && pwd)/$(basename "$shmchatd")
shmbench=$(cd "$(dirname "$shmbench")" && pwd)/$(basename "$shmbench")
[ -x "$relay" ] && relay=$(cd "$(dirname "$relay")" && pwd)/$(basename "$relay")
# --pin: the server's tree on CPU 0, the load generator on CPU 1
pin_srv=() pin_bench=()
if [ "$pin" = 1 ] && [ "$tables_only" = 0 ]; then
	command -v taskset >/dev/null || die "--pin needs taskset (util-linux)"
	[ "$(nproc)" -ge 2 ] || die "--pin needs 2 CPUs"
	pin_srv=(taskset -c 0) pin_bench=(taskset -c 1)
fi
[ "$quick" = 1 ] && big=1000

# more descriptors: 10,000 clients need as many sockets in shmbench and in
# the server (root may raise the hard limit; otherwise take what it allows)
ulimit -Hn 65536 2>/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)
[ "$nofile" -ge $((big + 100)) ] ||
	echo "$me: warning: ulimit -n is $nofile, too few for $big clients" >&2

if [ "$tables_only" = 1 ]; then
	[ -n "$outdir" ] && [ -f "$outdir/results.txt" ] || die "--tables-only needs --out DIR with a results.txt"
elif [ -z "$outdir" ]; then
	outdir=$(mktemp -d /tmp/shmbench.XXXXXX) || die "mktemp failed"
else
	mkdir -p "$outdir" || die "cannot create $outdir"
fi
outdir=$(cd "$outdir" && pwd)
# ngircd drops root for "nobody": its PID file goes to a directory it may write
mkdir -p "$outdir/run" && chmod 755 "$outdir" && chmod 1777 "$outdir/run"
results=$outdir/results.txt
if [ "$tables_only" = 1 ]; then
	# how that run placed its processes, and how many rounds it ran
	grep -q '^# cpus=pinned' "$results" && pin=1
	rounds=$(awk '$4 == "RESULT" && $3 > m { m = $3 } END { print m + 0 }' "$results")
else
	if [ "$pin" = 1 ]; then echo "# cpus=pinned" >"$results"; else echo "# cpus=unpinned" >"$results"; fi
fi

port_free() { [ -z "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }
if [ -z "$port_base" ]; then
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 20000))
		if port_free $p && port_free $((p + 1)) && port_free $((p + 2)) &&
			port_free $((p + 3)) && port_free $((p + 4)); then port_base=$p; break; fi
	done
	[ -n "$port_base" ] || die "no free port pair found"
fi
port_s=$port_base
port_n=$((port_base + 1))
port_st=$((port_base + 2))
port_nt=$((port_base + 3))
port_r=$((port_base + 4))
# any workload over TLS: both servers get a TLS listener too
use_tls=0
for w in $only; do case $w in *T) use_tls=1 ;; esac; done
tlsdir=
if [ "$use_tls" = 1 ] && [ "$tables_only" = 0 ]; then
	command -v openssl >/dev/null || die "openssl (the command) is needed for the TLS workloads"
	tlsdir=$(mktemp -d /tmp/shmbench-tls.XXXXXX) || die "mktemp failed"
	# readable by ngircd, which may read it after dropping root
	chmod 755 "$tlsdir"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj /CN=bench.test -keyout "$tlsdir/key.pem" -out "$tlsdir/cert.pem" \
		>"$outdir/openssl.log" 2>&1 || { rm -rf "$tlsdir"; die "openssl req failed, see $outdir/openssl.log"; }
	# ngircd (GnuTLS) makes DH parameters at start when it has none: a
	# named group instead, at once
	openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 \
		-out "$tlsdir/dh.pem" >>"$outdir/openssl.log" 2>&1 ||
		{ rm -rf "$tlsdir"; die "openssl genpkey (DH) failed, see $outdir/openssl.log"; }
	chmod 644 "$tlsdir"/*.pem
	# until cleanup() below takes over
	trap 'rm -rf "$tlsdir"' EXIT
fi
qkey=$((0x53420000 + ($$ % 65536)))

cat >"$outdir/shmchatd.conf" <<EOF
# shmchatd for bench/compare.sh
listen = [ "127.0.0.1:$port_s" ];
max_clients = $((big + 2000));
log_level = "warning";
sendq = 8388608;
motd = "shmchat benchmark";
ping_interval = 3600;
registration_timeout = 600;
admin = { queue_key = $qkey; group = "root"; };
EOF
[ -n "$tlsdir" ] && cat >>"$outdir/shmchatd.conf" <<EOF
listen_tls = [ "127.0.0.1:$port_st" ];
tls = { certificate = "$tlsdir/cert.pem"; key = "$tlsdir/key.pem"; };
EOF
mkdir -p "$outdir/ngircd.conf.d"
cat >"$outdir/ngircd.conf" <<EOF
# ngircd for bench/compare.sh: loopback only, no limits, no flood penalty
[Global]
	Name = bench.test
	Info = shmchat benchmark
	AdminInfo1 = benchmark
	AdminInfo2 = benchmark
	AdminEMail = bench@bench.test
	Listen = 127.0.0.1
	Ports = $port_n
	MotdPhrase = "ngircd benchmark"
	PidFile = $outdir/run/ngircd.pid
[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	MaxNickLength = 30
	MaxPenaltyTime = 0
	PingTimeout = 3600
	PongTimeout = 3600
[Options]
	DNS = no
	Ident = no
	PAM = no
	IncludeDir = $outdir/ngircd.conf.d
EOF
[ -n "$tlsdir" ] && cat >>"$outdir/ngircd.conf" <<EOF
[SSL]
	CertFile = $tlsdir/cert.pem
	KeyFile = $tlsdir/key.pem
	DHFile = $tlsdir/dh.pem
	Ports = $port_nt
EOF
if [[ " $servers " == *" ngircd "* ]]; then
	"$ngircd" --configtest -f "$outdir/ngircd.conf" >"$outdir/ngircd-configtest.txt" 2>&1 ||
		die "ngircd --configtest failed, see $outdir/ngircd-configtest.txt"
	grep -q "MaxPenaltyTime = 0" "$outdir/ngircd-configtest.txt" ||
		echo "$me: warning: this ngircd ignores MaxPenaltyTime: flood penalties stay on" >&2
fi
if [[ " $servers " == *" shmchatd "* ]]; then
	"$shmchatd" -t -c "$outdir/shmchatd.conf" >"$outdir/shmchatd-configtest.txt" 2>&1 ||
		die "shmchatd rejects its configuration, see $outdir/shmchatd-configtest.txt"
fi

# ------------------------------------------------------------ servers
srv_pid=
stop_server() {
	[ -n "$srv_pid" ] || return 0
	kill -TERM "$srv_pid" 2>/dev/null
	# shmchatd tells its workers to go and reaps them (up to 10 s)
	for _ in $(seq 300); do
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- -"$srv_pid" 2>/dev/null
	wait "$srv_pid" 2>/dev/null
	# whatever was left of its process group, gone
	for _ in $(seq 100); do
		pgrep -g "$srv_pid" >/dev/null 2>&1 || break
		sleep 0.1
	done
	srv_pid=
}
cleanup() {
	[ -n "${perf_pid:-}" ] && kill -INT "$perf_pid" 2>/dev/null
	stop_server
	[ -n "$tlsdir" ] && rm -rf "$tlsdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME [tls]: sets srv_pid and srv_port (the TLS listener's
# with tls)
start_server() {
	local name=$1 log=$outdir/$1.log
	case $name in
	shmchatd)
		srv_port=$port_s
		[ "${2:-}" = tls ] && srv_port=$port_st
		setsid "${pin_srv[@]}" "$shmchatd" -c "$outdir/shmchatd.conf" </dev/null >>"$log" 2>&1 &
		;;
	ngircd)
		srv_port=$port_n
		[ "${2:-}" = tls ] && srv_port=$port_nt
		setsid "${pin_srv[@]}" "$ngircd" -n -f "$outdir/ngircd.conf" </dev/null >>"$log" 2>&1 &
		;;
	relay)
		srv_port=$port_r
		setsid "${pin_srv[@]}" "$relay" --port "$port_r" --max-clients $((big + 2000)) \
			</dev/null >>"$log" 2>&1 &
		;;
	esac
	srv_pid=$!
	for _ in $(seq 200); do
		kill -0 "$srv_pid" 2>/dev/null || { srv_pid=; return 1; }
		port_free "$srv_port" || return 0
		sleep 0.05
	done
	return 1
}

# ------------------------------------------------------------ workloads
m_a=20000 m_b=1000 m_c=1000 m_d=100
[ "$quick" = 1 ] && m_a=5000 m_b=300 m_c=300 m_d=40
common="-c $conc --join-concurrency $join_conc"
wl_args() {
	case $1 in
	a) echo "-n 10 -m $m_a -w $window $common -t 120" ;;
	a16) echo "-n 10 -m $m_a -w 16 $common -t 120" ;;
	b) echo "-n 100 -m $m_b -w $window $common -t 120" ;;
	b16) echo "-n 100 -m $m_b -w 16 $common -t 120" ;;
	c) echo "-n 1000 -s 10 -m $m_c -w $window $common -t 180" ;;
	d) echo "-n 100 -s 10 -r 20 -m $m_d $common -t 120" ;;
	e) echo "-n 2000 --storm $common -t 120" ;;
	f) echo "-n $big --broadcast -m 5 --mem $common -t $big_timeout" ;;
	f2) echo "-n 2000 --broadcast -m 5 --mem $common -t 300" ;;
	g1) echo "-n 1 --idle --no-join $common -t 60" ;;
	g1000) echo "-n 1000 --idle --no-join $common -t 120" ;;
	gbig) echo "-n $big --idle --no-join $common -t $big_timeout" ;;
	gj1000) echo "-n 1000 --idle --join-on-register $common -t 120" ;;
	gjbig) echo "-n $big --idle --join-on-register $common -t $big_timeout" ;;
	h) echo "--churn $churn $common" ;;
	*T) echo "$(wl_args "${1%T}") --tls" ;;
	*C) echo "$(wl_args "${1%C}") --caps message-tags,server-time,echo-message" ;;
	esac
}
wl_title() {
	case $1 in
	a) echo "(a) 10 clients, all sending, window $window" ;;
	a16) echo "(a) 10 clients, all sending, window 16" ;;
	b) echo "(b) 100 clients, all sending, window $window" ;;
	b16) echo "(b) 100 clients, all sending, window 16" ;;
	c) echo "(c) 1,000 clients, 10 senders, window $window" ;;
	d) echo "(d) 100 clients, 10 senders at 20 msg/s" ;;
	e) echo "(e) connection storm, 2,000 clients" ;;
	f) echo "(f) $big clients, one broadcast" ;;
	f2) echo "(f) 2,000 clients, one broadcast" ;;
	g1) echo "(g) 1 idle client" ;;
	g1000) echo "(g) 1,000 idle clients" ;;
	gbig) echo "(g) $big idle clients" ;;
	gj1000) echo "(g) 1,000 idle clients in one channel, joined $conc at a time" ;;
	gjbig) echo "(g) $big idle clients in one channel, joined $conc at a time" ;;
	h) echo "(h) connect, register, QUIT, $conc at a time, ${churn} s" ;;
	*T) echo "$(wl_title "${1%T}") over TLS" ;;
	*C) echo "$(wl_title "${1%C}"), with message-tags, server-time, echo-message" ;;
	esac
}
runs=()
for w in $only; do
	case $w in
	a|a16|b|b16|c|d|e|f|f2|h|g1|g1000|gbig|gj1000|gjbig) runs+=("$w") ;;
	aT|bT|cT|dT|eT|f2T|hT|aC|bC|cC|dC) runs+=("$w") ;;
	g) runs+=(g1); [ "$big" != 1000 ] && runs+=(g1000); runs+=(gbig) ;;
	gj) [ "$big" != 1000 ] && runs+=(gj1000); runs+=(gjbig) ;;
	*) die "unknown workload '$w' (a a16 b b16 c d e f f2 g gj h; aT bT cT dT eT f2T hT over TLS; aC bC cC dC with IRCv3 tags)" ;;
	esac
done

# one_run SERVER WORKLOAD ROUND: appends "SERVER WORKLOAD ROUND RESULT ..."
one_run() {
	local srv=$1 w=$2 r=$3 try line perf_out kind=
	case $w in *T) kind=tls ;; esac
	for try in $(seq 0 "$retries"); do
		if ! start_server "$srv" $kind; then
			echo "$me: $srv did not start, see $outdir/$srv.log" >&2
			stop_server
			echo "$srv $w $r RESULT status=server_failed" >>"$results"
			return
		fi
		perf_pid=
		if [ "$do_perf" = 1 ] && { [ "$w" = b ] || [ "$w" = bT ]; } && [ "$r" = 1 ] &&
			[ "$try" = 0 ] && command -v perf >/dev/null; then
			perf_out=$outdir/perf-stat-$srv-$w.txt
			# every process of the server (a fork server too): workers
			# forked later inherit the counters
			perf stat -e task-clock,context-switches,cpu-migrations \
				-p "$(pgrep -d, -g "$srv_pid")" -o "$perf_out" >/dev/null 2>&1 &
			perf_pid=$!
			sleep 0.3
		fi
		# shellcheck disable=SC2046
		line=$("${pin_bench[@]}" "$shmbench" -p "$srv_port" -P "$srv_pid" --label "$srv/$w/$r" \
			$(wl_args "$w") 2>>"$outdir/shmbench.log" | tee -a "$outdir/shmbench.log" |
			grep '^RESULT' | tail -n 1)
		if [ -n "$perf_pid" ]; then
			kill -INT "$perf_pid" 2>/dev/null
			wait "$perf_pid" 2>/dev/null
			perf_pid=
		fi
		stop_server
		[ -n "$line" ] || line="RESULT status=no_result"
		local frac
		frac=$(sed -n 's/.* other_frac=\([0-9.]*\).*/\1/p' <<<"$line")
		if [ -n "$frac" ] && [ "$try" -lt "$retries" ] &&
			awk -v f="$frac" 'BEGIN { exit !(f > 0.10) }'; then
			echo "$me: $srv $w round $r disturbed (other work took ${frac} of the machine), again" >&2
			echo "$srv $w $r DISTURBED $line" >>"$results"
			continue
		fi
		break
	done
	echo "$srv $w $r $line" >>"$results"
	printf '%-8s %-5s round %s: %s\n' "$srv" "$w" "$r" \
		"$(grep -o 'status=[a-z_]*\|deliv_per_s=[0-9]*\|lat_p99_us=[0-9.]*\|reg_per_s=[0-9]*\|cycles_per_s=[0-9]*\|c001_p99_ms=[0-9.]*\|bcast_ms=[0-9.]*\|total_pss_kb=[0-9]*\|lost=[0-9]*\|tls=[^ ]*' <<<"$line" | tr '\n' ' ')" >&2
}

# has_tls SERVER: whether compare.sh can give it a TLS listener
has_tls() {
	case $1 in
	shmchatd) return 0 ;;
	# Debian's is built with GnuTLS: "+SSL" in its version line
	ngircd) "$ngircd" --version 2>/dev/null | head -n1 | grep -q '+SSL' ;;
	*) return 1 ;;
	esac
}

start=$(date +%s)
echo "$me: results and logs in $outdir" >&2
[ "$tables_only" = 1 ] && runs_todo=() || runs_todo=("${runs[@]}")
# round by round through the workloads, so that a machine that drifts over
# minutes weighs on every workload alike (b against bC, a against aT)
for r in $(seq "$rounds"); do
	for w in "${runs_todo[@]}"; do
		order=$servers
		# alternate which server goes first
		[ $((r % 2)) = 0 ] && order=$(tr ' ' '\n' <<<"$servers" | tac | tr '\n' ' ')
		for srv in $order; do
			case $w in *T)
				if ! has_tls "$srv"; then
					[ "$r" = 1 ] && echo "$me: $srv has no TLS here: $w skipped for it" >&2
					continue
				fi ;;
			esac
			# the relay: only the workloads it is there for
			[ "$srv" = relay ] && [[ " $relay_runs " != *" $w "* ]] && continue
			# ngircd's JOIN phase at 10,000 clients takes minutes
			if [ "$srv" = ngircd ] && { [ "$w" = f ] || [ "$w" = gjbig ]; } &&
				[ "$big" -gt 2000 ] && [ "$r" -gt "$ngircd_big_rounds" ]; then
				continue
			fi
			one_run "$srv" "$w" "$r"
		done
	done
done
elapsed=$(( $(date +%s) - start ))

# ------------------------------------------------------------ tables
# val SERVER WORKLOAD KEY: the median over the rounds ("-" if none)
val() {
	grep "^$1 $2 [0-9]* RESULT" "$results" | grep -o " $3=[^ ]*" | cut -d= -f2 |
		grep -E '^-?[0-9.]+$' | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "-";
			else if (NR % 2) print v[(NR + 1) / 2];
			else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# sumv SERVER WORKLOAD KEY: the sum over the rounds
sumv() {
	grep "^$1 $2 [0-9]* RESULT" "$results" | grep -o " $3=[^ ]*" | cut -d= -f2 |
		awk '{ s += $1; n++ } END { if (n) print s; else print "-" }'
}
nrounds() { grep -c "^$1 $2 [0-9]* RESULT" "$results"; }
statuses() {
	grep "^$1 $2 [0-9]* RESULT" "$results" | grep -o ' status=[^ ]*' | cut -d= -f2 |
		sort | uniq -c | awk '{ printf "%s%s×%s", (NR > 1 ? ", " : ""), $2, $1 }'
}
# fmt VALUE SCALE DECIMALS
fmt() {
	[ "$1" = - ] && { echo -; return; }
	awk -v v="$1" -v s="$2" -v d="$3" 'BEGIN {
		x = v * s; if (d == 0) { s = sprintf("%.0f", x);
			# thousands separators
			n = length(s); o = ""; for (i = 1; i <= n; i++) { o = o substr(s, i, 1);
				if ((n - i) % 3 == 0 && i < n && substr(s, 1, 1) != "-") o = o "," } print o }
		else printf "%." d "f\n", x }'
}
ratio() {
	if [ "$1" = - ] || [ "$2" = - ]; then echo -; return; fi
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f\n", a / b }'
}
# the relay's column, when it ran anything
show_relay=0
grep -q '^relay [^ ]* [0-9]* RESULT' "$results" && show_relay=1
# xc: the empty relay cell that ends a row without a relay figure
xc=
[ "$show_relay" = 1 ] && xc=" |"
# maxv SERVER WORKLOAD KEY: the largest over the rounds
maxv() {
	grep "^$1 $2 [0-9]* RESULT" "$results" | grep -o " $3=[^ ]*" | cut -d= -f2 |
		grep -E '^-?[0-9.]+$' | sort -g | tail -n 1 | grep . || echo -
}
# valx SERVER WORKLOAD KEY [max]: the median, or with max the largest
valx() { if [ "${4:-}" = max ]; then maxv "$1" "$2" "$3"; else val "$1" "$2" "$3"; fi; }
# row WORKLOAD LABEL KEY SCALE DECIMALS [noratio|ratio [max]]
row() {
	local s n r x=
	s=$(valx shmchatd "$1" "$3" "${7:-}")
	n=$(valx ngircd "$1" "$3" "${7:-}")
	r=$(ratio "$s" "$n")
	[ "${6:-}" = noratio ] && r=
	if [ "$show_relay" = 1 ]; then
		x=$(valx relay "$1" "$3" "${7:-}")
		if [ "$(nrounds relay "$1")" = 0 ]; then x=" |"; else x=" $(fmt "$x" "$4" "$5") |"; fi
	fi
	echo "| $2 | $(fmt "$s" "$4" "$5") | $(fmt "$n" "$4" "$5") | $r |$x"
}
# lost + reordered over all rounds, per server
lossrow() {
	local x=
	[ "$show_relay" = 1 ] && x=" $( [ "$(nrounds relay "$1")" = 0 ] || echo "$(sumv relay "$1" lost) + $(sumv relay "$1" reordered)") |"
	echo "| lost + reordered, all rounds | $(sumv shmchatd "$1" lost) + $(sumv shmchatd "$1" reordered) | $(sumv ngircd "$1" lost) + $(sumv ngircd "$1" reordered) | |$x"
}
# a figure made of two runs: (KEY of W2 - KEY of W1) / (N2 - N1)
growth() {
	local srv=$1 key=$2 a b
	a=$(val "$srv" g1 "$key")
	b=$(val "$srv" gbig "$key")
	if [ "$a" = - ] || [ "$b" = - ]; then echo -; return; fi
	awk -v a="$a" -v b="$b" -v n="$big" 'BEGIN { printf "%.2f\n", (b - a) / (n - 1) }'
}

srcver=unknown
# a worktree's .git is a file: git itself knows, when it is there
if command -v git >/dev/null && git -C "$srcdir" rev-parse --git-dir >/dev/null 2>&1; then
	srcver="$(git -C "$srcdir" rev-parse --short=12 HEAD) ($(git -C "$srcdir" symbolic-ref -q HEAD || echo detached))"
	[ -n "$(git -C "$srcdir" status --porcelain --untracked-files=no 2>/dev/null)" ] &&
		srcver="$srcver, with changes"
elif [ -f "$srcdir/.git/HEAD" ]; then
	head=$(cat "$srcdir/.git/HEAD")
	case $head in
	"ref: "*)
		ref=${head#ref: }
		if [ -f "$srcdir/.git/$ref" ]; then
			srcver="$(cut -c1-12 "$srcdir/.git/$ref") ($ref)"
		elif [ -f "$srcdir/.git/packed-refs" ]; then
			srcver="$(awk -v r="$ref" '$2 == r { print substr($1, 1, 12) }' "$srcdir/.git/packed-refs") ($ref)"
		fi ;;
	*) srcver=$(cut -c1-12 <<<"$head") ;;
	esac
fi

{
echo "### Results of $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- shmchatd: $("$shmchatd" --version 2>/dev/null | head -n1), source $srcver"
[ -n "$ngircd" ] && echo "- ngircd: $("$ngircd" --version 2>/dev/null | head -n1)"
[ "$show_relay" = 1 ] && echo "- relay: bench/relay, the trivial single-process relay (this machine's floor), on: $(grep -o '^relay [^ ]*' "$results" | cut -d' ' -f2 | sort -u | tr '\n' ' ' | sed 's/ $//')"
echo "- machine: $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
if [ "$pin" = 1 ]; then
	echo "- CPUs: pinned, the server (all its processes) on CPU 0, shmbench on CPU 1 (--pin)"
else
	echo "- CPUs: unpinned, the scheduler places the server and shmbench (no --pin)"
fi
echo "- $rounds round(s), medians; window $window (a16, b16: 16), registration concurrency $conc, JOIN concurrency $join_conc$([ "$quick" = 1 ] && echo ", --quick")$([ "$tables_only" = 1 ] || echo "; $elapsed s in all")"
echo "- ratio = shmchatd / ngircd: above 1 is better for rates, below 1 for times and memory"
echo
if [ "$show_relay" = 1 ]; then
	echo "| figure | shmchatd | ngircd | ratio | relay |"
	echo "|---|---:|---:|---:|---:|"
else
	echo "| figure | shmchatd | ngircd | ratio |"
	echo "|---|---:|---:|---:|"
fi
for w in "${runs[@]}"; do
	x=
	[ "$show_relay" = 1 ] && x=" $(statuses relay "$w") |"
	echo "| **$(wl_title "$w")** | $(statuses shmchatd "$w") | $(statuses ngircd "$w") | |$x"
	case $w in
	a|a16|b|b16|c|aT|bT|cT|aC|bC|cC)
		row "$w" "deliveries/s" deliv_per_s 1 0
		row "$w" "latency p50 (ms)" lat_p50_us 0.001 2
		row "$w" "latency p99 (ms)" lat_p99_us 0.001 2
		row "$w" "server CPU (cores)" srv_cores 1 2
		row "$w" "server CPU per delivery (ns)" srv_ns_per_deliv 1 0
		row "$w" "shmbench CPU (s)" bench_cpu_s 1 2 noratio
		lossrow "$w"
		;;
	d|dT|dC)
		row "$w" "latency p50 (ms)" lat_p50_us 0.001 3
		row "$w" "latency p90 (ms)" lat_p90_us 0.001 3
		row "$w" "latency p99 (ms)" lat_p99_us 0.001 3
		row "$w" "latency p99, worst round (ms)" lat_p99_us 0.001 3 ratio max
		row "$w" "latency max (ms)" lat_max_us 0.001 3
		row "$w" "server CPU (cores)" srv_cores 1 3
		lossrow "$w"
		;;
	e|eT)
		row "$w" "registrations/s" reg_per_s 1 0
		row "$w" "registration p50 (ms)" reg_p50_ms 1 2
		row "$w" "registration p99 (ms)" reg_p99_ms 1 2
		row "$w" "server CPU (cores)" srv_cores 1 2
		row "$w" "server CPU per registration (us)" srv_us_per_reg 1 0
		;;
	h|hT)
		row "$w" "cycles/s$([ "$w" = hT ] && echo " (= full handshakes/s)")" cycles_per_s 1 0
		row "$w" "connect() to 001, p50 (ms)" c001_p50_ms 1 2
		row "$w" "connect() to 001, p99 (ms)" c001_p99_ms 1 2
		row "$w" "server CPU (cores)" srv_cores 1 2
		row "$w" "server CPU per cycle (us)" srv_us_per_cycle 1 0
		row "$w" "shmbench CPU (s)" bench_cpu_s 1 2 noratio
		echo "| failed connections, all rounds | $(sumv shmchatd "$w" failed) | $(sumv ngircd "$w" failed) | |$xc"
		;;
	f|f2|f2T)
		[ "$(nrounds ngircd "$w")" = 0 ] && [[ " $servers " == *" ngircd "* ]] &&
			echo "| ngircd not run: --ngircd-big-rounds 0 (its JOIN phase takes minutes) | | | |$xc"
		row "$w" "broadcast to all, median of 5 (ms)" bcast_ms 1 1
		row "$w" "broadcast to all, slowest of 5 (ms)" bcast_max_ms 1 1
		row "$w" "receiver latency p50 (ms)" lat_p50_us 0.001 1
		row "$w" "server processes" srv_procs 1 0 noratio
		row "$w" "leaf processes (workers, admin)" workers 1 0 noratio
		row "$w" "setup: registration (s)" reg_s 1 1 noratio
		row "$w" "setup: JOIN phase (s)" join_s 1 1 noratio
		;;
	g1|g1000|gbig|gj1000|gjbig)
		[ "$w" = gjbig ] && [ "$(nrounds ngircd "$w")" = 0 ] && [[ " $servers " == *" ngircd "* ]] &&
			echo "| ngircd not run: --ngircd-big-rounds 0 (its joins take minutes) | | | |$xc"
		case $w in gj*)
			row "$w" "$([ "$w" = gjbig ] && echo "big channel join" || echo "channel join"): all registered and joined, $conc at a time (s)" regjoin_s 1 1
		esac
		row "$w" "master PSS (kB)" master_pss_kb 1 0
		row "$w" "leaf processes (workers, admin)" workers 1 0 noratio
		row "$w" "worker PSS, average (kB)" worker_pss_avg_kb 1 1 noratio
		row "$w" "worker PSS, largest (kB)" worker_pss_max_kb 1 0 noratio
		row "$w" "fork server / helper PSS (kB)" helper_pss_kb 1 0 noratio
		row "$w" "total PSS (kB)" total_pss_kb 1 0
		;;
	esac
done
# TLS against plain, per server: what the encryption costs each
tls_pairs=
for w in a b c d e f2 h; do
	[[ " ${runs[*]} " == *" $w "* ]] && [[ " ${runs[*]} " == *" ${w}T "* ]] &&
		tls_pairs="$tls_pairs $w"
done
if [ -n "$tls_pairs" ]; then
	echo "| **TLS / plain** | | | |$xc"
	for w in $tls_pairs; do
		case $w in
		a|b|c) k=deliv_per_s; l="deliveries/s" ;;
		d) k=lat_p99_us; l="latency p99" ;;
		e) k=reg_per_s; l="registrations/s" ;;
		f2) k=bcast_ms; l="broadcast (ms)" ;;
		h) k=cycles_per_s; l="cycles/s" ;;
		esac
		s=$(ratio "$(val shmchatd "${w}T" $k)" "$(val shmchatd "$w" $k)")
		n=$(ratio "$(val ngircd "${w}T" $k)" "$(val ngircd "$w" $k)")
		echo "| ($w) $l over TLS / plain | $s | $n | |$xc"
	done
fi
if [[ " ${runs[*]} " == *" gbig "* ]] && [[ " ${runs[*]} " == *" g1 "* ]]; then
	echo "| **(g) growth per client, 1 → $big** | | | |$xc"
	s=$(growth shmchatd master_pss_kb); n=$(growth ngircd master_pss_kb)
	echo "| master PSS per client (kB) | $s | $n | $(ratio "$s" "$n") |$xc"
	s=$(growth shmchatd total_pss_kb); n=$(growth ngircd total_pss_kb)
	echo "| total PSS per client (kB) | $s | $n | $(ratio "$s" "$n") |$xc"
fi
echo

# ------------------------------------------------------------ targets
# issue 16's targets, checked on these runs: shmchatd and ngircd (and the
# relay) in the same run, medians of at least 3 rounds, every round of
# shmchatd free of loss and reordering. A target whose data this run did
# not produce is "not measured", never met.
has() { [[ " ${runs[*]} " == *" $1 "* ]]; }
# bad_rounds SERVER WORKLOAD: rounds not "ok" (a loss, a reorder, a
# disconnect, a timeout, a setup failure)
bad_rounds() { grep "^$1 $2 [0-9]* RESULT" "$results" | grep -vc ' status=ok '; }
# verdict TEXT STATE: STATE is met, missed or "not measured: WHY"
verdict() {
	case $2 in
	met) echo "| $1 | met |" ;;
	missed) echo "| $1 | **missed** |" ;;
	*) echo "| $1 | $2 |" ;;
	esac
}
# judge W CONDITION: met or missed, and the rounds behind it
judge() {
	local bad
	bad=$(bad_rounds shmchatd "$1")
	if [ "$bad" != 0 ]; then
		echo "missed"
	elif awk "BEGIN { exit !($2) }"; then
		echo "met"
	else
		echo "missed"
	fi
}
# rounds_note W: what the verdict rests on
rounds_note() {
	local n bad
	n=$(nrounds shmchatd "$1")
	bad=$(bad_rounds shmchatd "$1")
	printf '%s round(s)' "$n"
	[ "$bad" = 0 ] || printf ', %s not clean (%s)' "$bad" "$(statuses shmchatd "$1")"
	[ "$n" -ge 3 ] || printf ', the target wants medians of 3'
}
# tput_check W FACTOR WINDOW TEXT: deliveries/s against ngircd's
tput_check() {
	local w=$1 f=$2 want=$3 t=$4 s n win
	if ! has "$w" || [ "$(nrounds shmchatd "$w")" = 0 ]; then
		verdict "$t" "not measured: $w not run"; return
	fi
	win=$(val shmchatd "$w" window)
	if [ "$win" != "$want" ]; then
		verdict "$t" "not measured: $w ran with window $win"; return
	fi
	s=$(val shmchatd "$w" deliv_per_s); n=$(val ngircd "$w" deliv_per_s)
	if [ "$s" = - ] || [ "$n" = - ]; then
		verdict "$t" "not measured: $([ "$s" = - ] && echo shmchatd || echo ngircd) has no figure"; return
	fi
	verdict "$t: $(ratio "$s" "$n")× ($(fmt "$s" 1 0) vs $(fmt "$n" 1 0)), lost $(sumv shmchatd "$w" lost), reordered $(sumv shmchatd "$w" reordered); $(rounds_note "$w")" \
		"$(judge "$w" "$s >= $f * $n")"
}
echo "| target (shmchatd, issue 16) | |"
echo "|---|---|"
tput_check a16 2 16 "(a) 10 clients all sending, window 16: ≥ 2× ngircd's deliveries/s"
tput_check a 3 64 "(a) 10 clients all sending, window 64: ≥ 3× ngircd's deliveries/s"
tput_check b16 2 16 "(b) 100 clients all sending, window 16: ≥ 2× ngircd's deliveries/s"
tput_check b 3 64 "(b) 100 clients all sending, window 64: ≥ 3× ngircd's deliveries/s"
tput_check c 3 "$(val shmchatd c window)" "(c) 1,000 clients, 10 senders: ≥ 3× ngircd's deliveries/s"
# (d): p99 ≤ 2 ms in every round, and within 1.25× of the relay's
t="(d) 100 clients, 10 senders at 20 msg/s: p99 ≤ 2 ms in every round"
if ! has d || [ "$(nrounds shmchatd d)" = 0 ]; then
	verdict "$t" "not measured: d not run"
else
	p=$(maxv shmchatd d lat_p99_us)
	if [ "$p" = - ]; then
		verdict "$t" "not measured: no p99 ($(statuses shmchatd d))"
	else
		verdict "$t: worst round $(fmt "$p" 0.001 3) ms, lost $(sumv shmchatd d lost), reordered $(sumv shmchatd d reordered); $(rounds_note d)" \
			"$(judge d "$p <= 2000")"
	fi
fi
t="(d) p99 within 1.25× of the trivial relay's (bench/relay) in the same run"
s=$(val shmchatd d lat_p99_us); x=$(val relay d lat_p99_us)
if ! has d || [ "$s" = - ]; then
	verdict "$t" "not measured: no (d) for shmchatd"
elif [ "$x" = - ]; then
	verdict "$t" "not measured: the relay did not run (d) (--servers, --relay-workloads)"
else
	verdict "$t: $(fmt "$s" 0.001 3) vs $(fmt "$x" 0.001 3) ms = $(ratio "$s" "$x")×; $(rounds_note d)" \
		"$(judge d "$s <= 1.25 * $x")"
fi
t="(e) connection storm, 2,000 clients, $conc in flight, a fresh server each round: ≥ 1.5× ngircd's registrations/s"
s=$(val shmchatd e reg_per_s); n=$(val ngircd e reg_per_s); cc=$(val shmchatd e concurrency)
if ! has e || [ "$s" = - ] || [ "$n" = - ]; then
	verdict "$t" "not measured: $(has e && echo "no figure for $([ "$s" = - ] && echo shmchatd || echo ngircd)" || echo "e not run")"
elif [ "$cc" != 8 ]; then
	verdict "$t" "not measured: ran with $cc in flight, the target is at 8"
else
	verdict "$t: $(ratio "$s" "$n")× ($(fmt "$s" 1 0) vs $(fmt "$n" 1 0)); $(rounds_note e)" \
		"$(judge e "$s >= 1.5 * $n")"
fi
t="(f) 10,000 clients in one channel, one message: all have it within 100 ms (median of 5 broadcasts)"
b=$(val shmchatd f bcast_ms); nc=$(val shmchatd f clients)
if ! has f || [ "$b" = - ]; then
	verdict "$t" "not measured: $(has f && echo "no figure ($(statuses shmchatd f))" || echo "f not run")"
elif [ "$nc" != 10000 ]; then
	verdict "$t" "not measured: (f) ran with $nc clients ($b ms)"
else
	verdict "$t: $b ms; $(rounds_note f)" "$(judge f "$b <= 100")"
fi
t="(f2) 2,000 clients, one message: no slower than ngircd"
s=$(val shmchatd f2 bcast_ms); n=$(val ngircd f2 bcast_ms)
if ! has f2 || [ "$s" = - ] || [ "$n" = - ]; then
	verdict "$t" "not measured: $(has f2 && echo "no figure for $([ "$s" = - ] && echo shmchatd || echo ngircd)" || echo "f2 not run")"
else
	verdict "$t: $s vs $n ms; $(rounds_note f2)" "$(judge f2 "$s <= $n")"
fi
t="big channel join: 10,000 clients connecting 8 at a time, each joining as soon as registered, all joined within 60 s"
j=$(val shmchatd gjbig regjoin_s); nc=$(val shmchatd gjbig clients); cc=$(val shmchatd gjbig concurrency)
if ! has gjbig || [ "$j" = - ]; then
	verdict "$t" "not measured: $(has gjbig && echo "no figure ($(statuses shmchatd gjbig))" || echo "gjbig not run")"
elif [ "$nc" != 10000 ] || [ "$cc" != 8 ]; then
	verdict "$t" "not measured: ran with $nc clients, $cc at a time ($j s)"
else
	verdict "$t: $(fmt "$j" 1 1) s; $(rounds_note gjbig)" "$(judge gjbig "$j <= 60")"
fi
for w in gbig gjbig; do
	[ $w = gbig ] && t="(g) idle registered client, 10,000 clients, no channel: ≤ 32 kB PSS per worker" ||
		t="(g) idle registered client, 10,000 clients joined to one channel: ≤ 32 kB PSS per worker"
	k=$(val shmchatd $w worker_pss_avg_kb); nc=$(val shmchatd $w clients)
	if ! has $w || [ "$k" = - ]; then
		verdict "$t" "not measured: $(has $w && echo "no figure ($(statuses shmchatd $w))" || echo "$w not run")"
	elif [ "$nc" != 10000 ]; then
		verdict "$t" "not measured: ran with $nc clients ($k kB)"
	else
		verdict "$t: $k kB on average; $(rounds_note $w)" "$(judge $w "$k <= 32")"
	fi
done

# checks of earlier issues, when their workloads ran
other=()
for w in aT bT; do
	has $w || continue
	s=$(val shmchatd $w deliv_per_s); n=$(val ngircd $w deliv_per_s)
	l=$(sumv shmchatd $w lost); o=$(sumv shmchatd $w reordered)
	[ "$s" = - ] || [ "$n" = - ] && continue
	other+=("$(verdict "($w) over TLS ≥ 2× ngircd's TLS deliveries/s with no loss: $(ratio "$s" "$n")×, lost $l, reordered $o" \
		"$(judge $w "$s >= 2 * $n")")")
done
# IRCv3: tags cost each recipient a slice of the one line, never a format
if has b && has bC; then
	s=$(val shmchatd bC deliv_per_s); p=$(val shmchatd b deliv_per_s); n=$(val ngircd b deliv_per_s)
	l=$(sumv shmchatd bC lost); o=$(sumv shmchatd bC reordered)
	[ "$s" = - ] || [ "$p" = - ] ||
		other+=("$(verdict "(bC) with message-tags, server-time, echo-message within 10 % of (b): $(ratio "$s" "$p")× of it, lost $l, reordered $o" \
			"$(judge bC "$s >= 0.9 * $p")")")
	[ "$s" = - ] || [ "$n" = - ] ||
		other+=("$(verdict "(bC) ≥ 2× ngircd's (b) deliveries/s: $(ratio "$s" "$n")×" "$(judge bC "$s >= 2 * $n")")")
fi
if [ ${#other[@]} -gt 0 ]; then
	echo
	echo "| other check (shmchatd) | |"
	echo "|---|---|"
	printf '%s\n' "${other[@]}"
fi
disturbed=$(grep -c ' DISTURBED ' "$results")
echo
echo "Runs repeated because other work took over 10 % of the machine: $disturbed."
for f in "$outdir"/perf-stat-*.txt; do
	[ -f "$f" ] || continue
	echo
	echo "perf stat, $(basename "$f" .txt | sed 's/perf-stat-//; s/-/, /') round 1 (setup included):"
	echo
	echo '```'
	grep -E 'task-clock|context-switches|cpu-migrations|elapsed' "$f" | sed 's/^ *//'
	echo '```'
done
} | tee "$outdir/tables.md"
echo "$me: raw results in $results, tables in $outdir/tables.md" >&2
