# shellcheck shell=bash
# tests/e2e/lib.sh: what run.sh and fresh.sh share. A cached Debian 12 root
# file system (debootstrap), per-run copies of it, systemd-nspawn
# containers, commands inside them, cleanup on every exit path, a time
# limit, and TAP-like "ok"/"not ok" lines ending in "N passed, N failed".
#
# Environment:
#   SHMCHAT_E2E_CACHE   cache directory (default /var/cache/shmchat-e2e)
#   SHMCHAT_E2E_MIRROR  Debian mirror for debootstrap (default deb.debian.org)
#   SHMCHAT_E2E_KEEP=1  keep the work directory (not the container) for a look

E2E_CACHE=${SHMCHAT_E2E_CACHE:-/var/cache/shmchat-e2e}
E2E_MIRROR=${SHMCHAT_E2E_MIRROR:-http://deb.debian.org/debian}
E2E_SUITE=bookworm
E2E_CACHE_DAYS=30
E2E_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

e2e_passed=0
e2e_failed=0
e2e_work=""
e2e_nspawn_pid=""
e2e_leader=""
e2e_watchdog_pid=""
e2e_cleanups=()

say() { printf '%s: %s\n' "$E2E_NAME" "$*" >&2; }
step() { printf '# %s\n' "$*"; }

skip() {
	say "SKIP: $*"
	exit 77
}

die() {
	say "ERROR: $*"
	e2e_failed=$((e2e_failed + 1))
	exit 1
}

# check DESCRIPTION COMMAND...: one test; a failure ends the run (later
# checks depend on the state this one proves), after e2e_diagnose
check() {
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		e2e_passed=$((e2e_passed + 1))
		printf 'ok %d - %s\n' $((e2e_passed + e2e_failed)) "$what"
		return 0
	fi
	e2e_failed=$((e2e_failed + 1))
	printf 'not ok %d - %s\n' $((e2e_passed + e2e_failed)) "$what"
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/#   /'
	declare -F e2e_diagnose >/dev/null && e2e_diagnose
	exit 1
}

# retry SECONDS COMMAND...: until it succeeds or the time is up
retry() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.5
	done
}

# ------------------------------------------------------------------ setup

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, systemd-nspawn); run it with sudo"
	[ -r /etc/debian_version ] && command -v apt-get >/dev/null ||
		skip "needs a Debian-like host (apt-get, debootstrap)"
}

# install_host_tools COMMAND=PACKAGE...: what is missing, with apt-get
install_host_tools() {
	local want missing="" p
	for want in "$@"; do
		command -v "${want%%=*}" >/dev/null 2>&1 || missing="$missing ${want#*=}"
	done
	[ -z "$missing" ] && return 0
	say "installing$missing"
	DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq \
		--no-install-recommends $missing >/dev/null ||
		{ timeout 300 apt-get update -qq &&
		  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq \
			--no-install-recommends $missing >/dev/null; } ||
		die "cannot install$missing"
	for p in "$@"; do
		command -v "${p%%=*}" >/dev/null 2>&1 || die "${p%%=*} still missing"
	done
}

# The whole run is bounded: past $1 seconds the script gets SIGTERM and
# cleans up like on any other exit.
start_watchdog() {
	local self=$$
	( sleep "$1" && printf '%s: time limit of %s s reached\n' "$E2E_NAME" "$1" >&2 &&
	  kill -TERM "$self" ) >/dev/null 2>&1 &
	e2e_watchdog_pid=$!
}

# ---------------------------------------------------------------- cleanup

on_cleanup() { e2e_cleanups+=("$*"); }

# kill_tree PID: the process and all its descendants (a stopped one too)
kill_tree() {
	local c
	for c in $(pgrep -P "$1"); do
		kill_tree "$c"
	done
	kill -KILL "$1" 2>/dev/null
	kill -CONT "$1" 2>/dev/null
	return 0
}

# track_bg PID: a background job of the test, killed with all its
# descendants on exit (nsenter parks itself stopped when its child stops)
track_bg() { disown "$1" 2>/dev/null; on_cleanup "kill_tree $1"; }

# unmount everything at or below $1 (deepest first)
umount_below() {
	local dir mp
	dir=$(readlink -f "$1" 2>/dev/null) || return 0
	awk '{ print $5 }' /proc/self/mountinfo | sed 's/\\040/ /g' |
		grep -E "^${dir}(/|\$)" | sort -r |
		while IFS= read -r mp; do umount -l "$mp" 2>/dev/null; done
	return 0
}

# stop the container: orderly poweroff first (nspawn turns SIGTERM into
# one), then SIGKILL to its init, which takes the whole PID namespace along
stop_container() {
	local i
	[ -n "$e2e_nspawn_pid" ] || return 0
	if kill -0 "$e2e_nspawn_pid" 2>/dev/null; then
		kill -TERM "$e2e_nspawn_pid" 2>/dev/null
		for i in $(seq 1 60); do
			kill -0 "$e2e_nspawn_pid" 2>/dev/null || break
			sleep 0.5
		done
	fi
	if kill -0 "$e2e_nspawn_pid" 2>/dev/null; then
		say "container did not power off in 30 s; killing it"
		[ -n "$e2e_leader" ] && kill -KILL "$e2e_leader" 2>/dev/null
		sleep 1
		kill -KILL "$e2e_nspawn_pid" 2>/dev/null
	fi
	wait "$e2e_nspawn_pid" 2>/dev/null
	e2e_nspawn_pid=""
	e2e_leader=""
}

e2e_exit() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	set +e
	for ((i = ${#e2e_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${e2e_cleanups[$i]}"
	done
	stop_container
	if [ -n "$e2e_work" ] && [ -d "$e2e_work" ]; then
		umount_below "$e2e_work"
		if [ "${SHMCHAT_E2E_KEEP:-0}" = 1 ]; then
			say "kept $e2e_work"
		else
			rm -rf --one-file-system "$e2e_work"
		fi
	fi
	[ -n "$e2e_watchdog_pid" ] && kill "$e2e_watchdog_pid" 2>/dev/null
	if [ $rc -ne 77 ]; then
		[ $rc -ne 0 ] && [ $e2e_failed -eq 0 ] && e2e_failed=1
		echo "$E2E_NAME: $e2e_passed passed, $e2e_failed failed"
	fi
	exit $rc
}

e2e_init() {
	trap e2e_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	e2e_work=$(mktemp -d /var/tmp/shmchat-e2e.XXXXXX) || die "mktemp"
	chmod 755 "$e2e_work"
}

# ------------------------------------------------------------ root images

# cache_root: sets E2E_BASE to a Debian 12 minbase root with systemd, made
# by debootstrap once and reused (made again after E2E_CACHE_DAYS days or
# with E2E_REFRESH=1). Never changed once made: every run copies it.
cache_root() {
	local arch root stamp
	arch=$(dpkg --print-architecture)
	root=$E2E_CACHE/$E2E_SUITE-$arch
	stamp=$root.stamp
	mkdir -p "$E2E_CACHE/archives/partial" || die "cannot create $E2E_CACHE"
	exec 8>"$E2E_CACHE/.lock"
	flock -w 1200 8 || die "cache $E2E_CACHE is locked by another run"
	if [ "${E2E_REFRESH:-0}" = 1 ] || [ ! -f "$stamp" ] ||
	   [ -n "$(find "$stamp" -mtime +$E2E_CACHE_DAYS 2>/dev/null)" ]; then
		say "debootstrap $E2E_SUITE into $root (cached for later runs)"
		rm -f "$stamp"
		umount_below "$root.new"
		rm -rf --one-file-system "$root.new" "$root"
		on_cleanup "umount_below '$root.new'; rm -rf --one-file-system '$root.new'"
		timeout 1200 debootstrap --variant=minbase \
			--include=systemd,systemd-sysv,dbus \
			"$E2E_SUITE" "$root.new" "$E2E_MIRROR" >"$E2E_CACHE/debootstrap.log" 2>&1 ||
			{ tail -n 20 "$E2E_CACHE/debootstrap.log" >&2
			  die "debootstrap failed (log: $E2E_CACHE/debootstrap.log)"; }
		umount_below "$root.new"
		rm -f "$root.new/etc/hostname"
		: >"$root.new/etc/machine-id"
		mv "$root.new" "$root" || die "cannot move $root.new"
		date -u +%FT%TZ >"$stamp"
	fi
	exec 8>&-
	E2E_BASE=$root
}

# new_root DIR: a fresh copy of the cached root, with the /etc/hosts the
# Debian installer writes (debootstrap writes none: no "localhost")
new_root() {
	cache_root
	cp -a --reflink=auto "$E2E_BASE" "$1" || die "cannot copy $E2E_BASE"
	[ -e "$1/etc/hosts" ] || printf '%s\n' "127.0.0.1	localhost" \
		"::1		localhost ip6-localhost ip6-loopback" \
		"ff02::1		ip6-allnodes" "ff02::2		ip6-allrouters" >"$1/etc/hosts"
}

# probe_nspawn ROOT: exit 77 with nspawn's own words when this machine
# cannot run a container at all (no privileges, no namespaces, ...)
probe_nspawn() {
	local out
	out=$(timeout 60 systemd-nspawn -q -D "$1" --register=no --keep-unit --pipe \
		/bin/true 2>&1 </dev/null) ||
		{ printf '%s\n' "$out" | sed 's/^/#   /' >&2
		  skip "systemd-nspawn cannot run a container here (its output is above)"; }
}

# nspawn_run ROOT ARGS...: run a command in a (not booted) container
# sharing the host's network, with the shared apt archive cache
nspawn_run() {
	local root=$1
	shift
	systemd-nspawn -q -D "$root" --register=no --keep-unit --pipe \
		--bind="$E2E_CACHE/archives:/var/cache/apt/archives" \
		-E DEBIAN_FRONTEND=noninteractive -E LANG=C.UTF-8 -E PATH="$E2E_PATH" \
		"$@"
}

# ------------------------------------------------------ booted container

# the container's init: the process named systemd below nspawn in
# another PID namespace
find_leader() {
	local queue=("$1") p c mine
	mine=$(readlink /proc/self/ns/pid)
	while [ ${#queue[@]} -gt 0 ]; do
		p=${queue[0]}
		queue=("${queue[@]:1}")
		for c in $(pgrep -P "$p"); do
			if [ "$(cat /proc/"$c"/comm 2>/dev/null)" = systemd ] &&
			   [ "$(readlink /proc/"$c"/ns/pid)" != "$mine" ]; then
				echo "$c"
				return 0
			fi
			queue+=("$c")
		done
	done
	return 1
}

# boot_container ROOT NAME LOG [nspawn options]: boot it and wait until
# systemd is up; exit 77 when this machine cannot boot one
boot_container() {
	local root=$1 name=$2 log=$3 state
	shift 3
	systemd-nspawn -q -D "$root" --register=no --keep-unit \
		--machine="$name" --console=read-only --boot "$@" >"$log" 2>&1 </dev/null &
	e2e_nspawn_pid=$!
	local end=$((SECONDS + 30))
	until e2e_leader=$(find_leader "$e2e_nspawn_pid"); do
		if ! kill -0 "$e2e_nspawn_pid" 2>/dev/null || [ $SECONDS -ge $end ]; then
			sed 's/^/#   /' "$log" | tail -n 20 >&2
			stop_container
			skip "systemd-nspawn cannot boot a container on this machine (its output is above)"
		fi
		sleep 0.5
	done
	# until its manager answers (the bus socket comes a moment after the
	# process) and has finished starting up
	end=$((SECONDS + 120))
	while :; do
		state=$(timeout 60 nsenter -t "$e2e_leader" -m -u -i -n -p -- \
			env -i PATH="$E2E_PATH" systemctl is-system-running --wait 2>&1 </dev/null)
		case $state in running|degraded) break ;; esac
		[ $SECONDS -ge $end ] && break
		kill -0 "$e2e_nspawn_pid" 2>/dev/null || break
		sleep 0.5
	done
	case $state in
	running) ;;
	degraded)
		say "container is degraded; failed units:"
		cexec systemctl --failed --no-legend >&2 ;;
	*)
		sed 's/^/#   /' "$log" | tail -n 30 >&2
		skip "the container did not finish booting (state: ${state:-none})" ;;
	esac
}

# cexec COMMAND...: run it inside the booted container as root, for at
# most E2E_CMD_TIMEOUT seconds (default 180)
cexec() {
	timeout -k 5 "${E2E_CMD_TIMEOUT:-180}" nsenter -t "$e2e_leader" -m -u -i -n -p -- env -i PATH="$E2E_PATH" HOME=/root \
		LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive SYSTEMD_PAGER= \
		SYSTEMD_COLORS=0 "$@" </dev/null
}

# cpids NAME: host PIDs of the container's processes called NAME, oldest
# first (works without procps inside)
cpids() {
	local ns p
	ns=$(readlink /proc/"$e2e_leader"/ns/pid) || return 1
	for p in $(pgrep -x "$1"); do
		[ "$(readlink /proc/"$p"/ns/pid 2>/dev/null)" = "$ns" ] && echo "$p"
	done
}

# cnet COMMAND...: run a host command in the container's network namespace
# only (the test's own IRC client, "from outside")
cnet() {
	nsenter -t "$e2e_leader" -n -- "$@"
}

# ------------------------------------------------------------ IRC probes

# The test's own IRC client, in bash (/dev/tcp): register as $2 on
# $1:6667 and, in mode "welcome", print the 001 line and quit; in mode
# "hold", stay connected, answer PINGs and end at "ERROR :Closing Link".
# Every line received goes to $4.
E2E_IRC_PROBE='
addr=$1 nick=$2 mode=$3 out=${4:-/dev/null}
exec 3<>"/dev/tcp/$addr/6667" || exit 2
printf "NICK %s\r\nUSER %s 0 * :shmchat e2e\r\n" "$nick" "$nick" >&3
while IFS= read -r -t 120 line <&3; do
	line=${line%$'"'"'\r'"'"'}
	printf "%s\n" "$line" >>"$out"
	case $line in
	PING*) printf "PONG %s\r\n" "${line#PING }" >&3 ;;
	*" 001 "*)
		if [ "$mode" = welcome ]; then
			printf "%s\n" "$line"
			printf "QUIT :done\r\n" >&3
			exit 0
		fi ;;
	"ERROR :Closing Link"*) exit 0 ;;
	esac
done
exit 1'

# irc_welcome ADDR NICK: the server's 001 line, within 30 s
irc_welcome() {
	local line
	line=$(cnet timeout 30 bash -c "$E2E_IRC_PROBE" _ "$1" "$2" welcome 2>&1) ||
		{ echo "no 001 from $1:6667: $line"; return 1; }
	case $line in
	*"Welcome to the shmchat IRC Network"*) echo "$line" ;;
	*) echo "not shmchatd's welcome: $line"; return 1 ;;
	esac
}
