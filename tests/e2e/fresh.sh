#!/bin/bash
# tests/e2e/fresh.sh: the README's quick start on a fresh Debian 12 (make
# check-fresh), so that the README cannot rot.
#
# Takes the two commands of README.md's "Quick start" section as they are
# written, boots a fresh copy of the cached debootstrap root with
# systemd-nspawn (sharing the host's network: the first command installs
# packages with apt), makes a clean clone of the repository in it, and
# runs, as root in the container:
#   1. the first command: the server must answer an IRC client on
#      127.0.0.1:6667 with shmchatd's 001, and stop with status 0 on SIGINT;
#   2. the second command, in another clean clone: it must exit 0.
# Needs root and port 6667 free on the host; exits 77 (skip) otherwise or
# where containers cannot be booted.
#
#   fresh.sh [--repo DIR] [--worktree] [--refresh] [--keep]
#
#   --repo DIR   the git repository to clone (default: this script's)
#   --worktree   copy its working tree (tracked and untracked files, not
#                ignored ones) instead of cloning HEAD: for uncommitted work
#   --refresh    debootstrap the cached root again
#   --keep       keep the work directory under /var/tmp
# Cache: /var/cache/shmchat-e2e (SHMCHAT_E2E_CACHE). Time limit: 2700 s
# (SHMCHAT_E2E_TIMEOUT).
set -uo pipefail
E2E_NAME=check-fresh
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

repo="" worktree=0
while [ $# -gt 0 ]; do
	case $1 in
	--repo) repo=$(readlink -f "$2"); shift ;;
	--worktree) worktree=1 ;;
	--refresh) E2E_REFRESH=1 ;;
	--keep) SHMCHAT_E2E_KEEP=1 ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "fresh.sh: unknown argument $1 (try --help)" >&2; exit 64 ;;
	esac
	shift
done
[ -n "$repo" ] || repo=$(cd "$here/../.." && pwd)

need_root
git -C "$repo" rev-parse --git-dir >/dev/null 2>&1 ||
	skip "$repo is not a git checkout: the quick start starts from a clone"

# the README's commands: the indented lines of the "Quick start" section
# that start with tools/install-deps
mapfile -t cmds < <(awk '/^## /{ q = ($0 ~ /^## Quick start/) } q && /^    tools\/install-deps/ { sub(/^    /, ""); print }' \
	"$repo/README.md")
if [ ${#cmds[@]} -ne 2 ] || [[ ${cmds[0]} != *./server/shmchatd* ]] ||
   [[ ${cmds[1]} != *make*check* ]]; then
	echo "README.md's Quick start should hold two commands, the first running ./server/shmchatd," >&2
	echo "the second make check; found:" >&2
	printf '    %s\n' "${cmds[@]}" >&2
	exit 1
fi

# the container shares the host's network: the server binds 6667 there
port_busy() {
	awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == "1A0B") f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}
port_busy && skip "port 6667 is in use on this machine; the quick start's server needs it"

e2e_init
start_watchdog "${SHMCHAT_E2E_TIMEOUT:-2700}"
install_host_tools debootstrap=debootstrap systemd-nspawn=systemd-container \
	nsenter=util-linux flock=util-linux pgrep=procps git=git

root=$e2e_work/root
name=shmchat-fresh-$$

e2e_diagnose() {
	local f
	for f in "$e2e_work"/line*.log; do
		[ -s "$f" ] && { echo "# $(basename "$f") (last lines):"; tail -n 40 "$f" | sed 's/^/#   /'; }
	done
	return 0
}

# a clean clone of the repository (or its working tree) at $1
clone() {
	if [ $worktree = 1 ]; then
		mkdir -p "$1" &&
		git -C "$repo" ls-files -z -co --exclude-standard |
			tar -C "$repo" --null -T - -cf - | tar -C "$1" -xf -
	else
		git clone -q --no-hardlinks "$repo" "$1"
	fi
}

step "a fresh Debian 12 root from the debootstrap cache"
new_root "$root"
echo "$name" >"$root/etc/hostname"
probe_nspawn "$root"
clone "$root/root/shmchat" || die "cannot clone $repo"
clone "$root/root/shmchat-check" || die "cannot clone $repo"

step "booting it with systemd-nspawn"
boot_container "$root" "$name" "$e2e_work/console.log" \
	--bind="$E2E_CACHE/archives:/var/cache/apt/archives"

# in the container, as root, in the clone's directory
in_clone() {
	E2E_CMD_TIMEOUT=${2:-2400} cexec bash -c 'cd "$1" && eval "$2"' _ "$1" "$3"
}

step "first command: ${cmds[0]}"
rm -f "$e2e_work/line1.rc"
{ in_clone /root/shmchat 2400 "${cmds[0]}" >"$e2e_work/line1.log" 2>&1
  echo $? >"$e2e_work/line1.rc"; } &
line1=$!
track_bg $line1

# until shmchatd answers; something else on 6667 (another IRC server a
# package started) is reported if it is still there when time is up
welcome() {
	local end=$((SECONDS + 2000)) got=""
	while :; do
		if cnet timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6667' 2>/dev/null; then
			got=$(irc_welcome 127.0.0.1 readme) && { echo "$got"; return 0; }
		fi
		kill -0 "$line1" 2>/dev/null ||
			{ echo "the command ended before shmchatd answered${got:+; on 6667: $got}"; return 1; }
		[ $SECONDS -ge $end ] &&
			{ echo "shmchatd did not answer on 127.0.0.1:6667${got:+; on 6667: $got}"; return 1; }
		sleep 2
	done
}
check "it builds and starts a server answering 001 on 127.0.0.1:6667" welcome

stop_server() {
	local pid rc
	pid=$(cpids shmchatd | head -n 1)
	[ -n "$pid" ] || { echo "no shmchatd"; return 1; }
	kill -INT "$pid"
	retry 30 test -s "$e2e_work/line1.rc" || { echo "still running 30 s after SIGINT"; return 1; }
	rc=$(cat "$e2e_work/line1.rc")
	[ "$rc" = 0 ] || { echo "exit status $rc"; return 1; }
}
check "Ctrl-C (SIGINT) stops it with status 0" stop_server

step "second command: ${cmds[1]}"
line2() {
	local rc
	in_clone /root/shmchat-check 2400 "${cmds[1]}" >"$e2e_work/line2.log" 2>&1
	rc=$?
	grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR)' "$root/root/shmchat-check/test-suite.log" 2>/dev/null
	[ $rc -eq 0 ] || { echo "exit status $rc"; tail -n 40 "$e2e_work/line2.log"; return 1; }
}
check "it installs, builds and passes make check" line2
grep -E '^# (TOTAL|PASS|FAIL)' "$root/root/shmchat-check/test-suite.log" 2>/dev/null | sed 's/^# /#   make check: /'

exit 0
