#!/bin/bash
# tests/e2e/run.sh: the Debian packages in a booted Debian 12 (make check-e2e).
#
# Builds shmchat-server and shmchat-client with dpkg-buildpackage (which
# runs make check, unless --nocheck) and checks them with lintian, and
# again from the same source with a higher version (VERSION+e2e1, without
# make check, in the background), installs the first with apt into a fresh
# copy of a cached debootstrap root, boots it with systemd-nspawn (private
# network) and checks from outside: socket activation, two shmchat clients
# chatting, TLS on port 6697 with the snakeoil pair and a certificate
# replaced by a reload, shmchatctl, reload, restart, an upgrade to the
# higher version in place with clients connected, stop without leftovers,
# the journal, remove and purge.
# Needs root; exits 77 (skip) where containers cannot be booted.
#
#   run.sh [--tarball FILE | --source DIR | --debs DIR --next-debs DIR]
#          [--nocheck] [--refresh] [--keep]
#
#   --tarball FILE  build from this release tarball (make check-e2e: make dist)
#   --source DIR    build from this tree: tracked and untracked files of a git
#                   checkout, not ignored ones (default: this script's tree)
#   --debs DIR      use the .deb files in DIR instead of building
#   --next-debs DIR with --debs: the packages of a higher version to upgrade to
#   --nocheck       build without make check (DEB_BUILD_OPTIONS=nocheck), for
#                   a caller that has run the suite already (CI)
#   --refresh       debootstrap the cached root again
#   --keep          keep the work directory under /var/tmp
# Cache: /var/cache/shmchat-e2e (SHMCHAT_E2E_CACHE). Time limit: 1800 s
# (SHMCHAT_E2E_TIMEOUT).
set -uo pipefail
E2E_NAME=check-e2e
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

tarball="" source="" debs="" next_debs="" nocheck=0
while [ $# -gt 0 ]; do
	case $1 in
	--tarball) tarball=$(readlink -f "$2"); shift ;;
	--source) source=$(readlink -f "$2"); shift ;;
	--debs) debs=$(readlink -f "$2"); shift ;;
	--next-debs) next_debs=$(readlink -f "$2"); shift ;;
	--nocheck) nocheck=1 ;;
	--refresh) E2E_REFRESH=1 ;;
	--keep) SHMCHAT_E2E_KEEP=1 ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown argument $1 (try --help)" >&2; exit 64 ;;
	esac
	shift
done
[ -z "$tarball$source$debs" ] && source=$(cd "$here/../.." && pwd)
if [ "${debs:+x}" != "${next_debs:+x}" ]; then
	echo "run.sh: --debs and --next-debs go together (try --help)" >&2
	exit 64
fi

need_root
e2e_init
start_watchdog "${SHMCHAT_E2E_TIMEOUT:-1800}"
install_host_tools debootstrap=debootstrap systemd-nspawn=systemd-container \
	nsenter=util-linux flock=util-linux pgrep=procps \
	dpkg-buildpackage=dpkg-dev dpkg-checkbuilddeps=dpkg-dev lintian=lintian

root=$e2e_work/root
name=shmchat-e2e-$$
KEY=$((0x53434d51))

e2e_diagnose() {
	[ -n "$e2e_leader" ] || return 0
	echo "# --- diagnostics"
	E2E_CMD_TIMEOUT=20 cexec systemctl --no-pager status shmchatd.socket shmchatd-tls.socket \
		shmchatd.service 2>&1 |
		sed 's/^/#   /'
	E2E_CMD_TIMEOUT=20 cexec journalctl --no-pager -n 60 -u shmchatd.socket -u shmchatd-tls.socket \
		-u shmchatd.service 2>&1 |
		sed 's/^/#   /'
	for f in bob.out bob.err alice.out alice.err tess.out tess.err; do
		[ -s "$root/root/$f" ] && { echo "# $f:"; tail -n 20 "$root/root/$f" | sed 's/^/#   /'; }
	done
}

# -------------------------------------------------------------- packages
# build_debs SRC LOG DEB_BUILD_OPTIONS [dpkg-buildpackage options]: the
# binary packages of SRC, into SRC's parent directory
build_debs() {
	local src=$1 log=$2 opts=$3
	shift 3
	(cd "$src" && DEB_BUILD_OPTIONS=$opts timeout 1800 dpkg-buildpackage -us -uc -b -jauto "$@") \
		>"$log" 2>&1 || { tail -n 60 "$log"; return 1; }
}

# make_next SRC VERSION NEXT: a copy of the source of VERSION becomes
# version NEXT: AC_INIT (dh_autoreconf makes configure from it, so that
# shmchatd says NEXT) and a changelog entry (the package's version)
make_next() {
	local src=$1 cur=$2 next=$3 re maint
	dpkg --compare-versions "$next" gt "$cur" ||
		{ echo "$next does not sort after $cur"; return 1; }
	re=${cur//./[.]}
	grep -q "^AC_INIT(\[shmchat\], \[$re\]" "$src/configure.ac" ||
		{ echo "configure.ac is not at version $cur:"; grep '^AC_INIT' "$src/configure.ac"; return 1; }
	sed -i "s/^\(AC_INIT(\[shmchat\], \[\)$re\]/\1$next]/" "$src/configure.ac" || return 1
	maint=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Maintainer) || return 1
	{ printf 'shmchat (%s) unstable; urgency=medium\n\n' "$next"
	  printf '  * The same source, a higher version: the upgrade of tests/e2e/run.sh.\n\n'
	  printf ' -- %s  %s\n\n' "$maint" "$(date -R)"
	  cat "$src/debian/changelog"; } >"$src/debian/changelog.new" &&
		mv "$src/debian/changelog.new" "$src/debian/changelog"
	grep "^AC_INIT" "$src/configure.ac"
	head -n 1 "$src/debian/changelog"
}

# the background build of the higher version: stopped top-down first, so
# that make starts nothing new while its children are killed
next_pid=""
stop_next_build() {
	[ -n "$next_pid" ] || return 0
	freeze_tree "$next_pid"
	kill_tree "$next_pid"
	wait "$next_pid" 2>/dev/null
	next_pid=""
}
freeze_tree() {
	local c
	kill -STOP "$1" 2>/dev/null
	for c in $(pgrep -P "$1"); do
		freeze_tree "$c"
	done
}
on_cleanup stop_next_build

if [ -z "$debs" ]; then
	step "building the Debian packages"
	src=$e2e_work/src
	mkdir -p "$src"
	if [ -n "$tarball" ]; then
		tar -xzf "$tarball" -C "$src" --strip-components=1 || die "cannot unpack $tarball"
	elif [ -d "$source/.git" ] || git -C "$source" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$source" ls-files -z -co --exclude-standard |
			tar -C "$source" --null -T - -cf - | tar -C "$src" -xf - ||
			die "cannot copy $source"
	else
		die "$source is not a git checkout: use --tarball (make check-e2e does)"
	fi
	version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version) ||
		die "no version in $src/debian/changelog"
	next_version=$version+e2e1
	next_src=$e2e_work/next/src
	mkdir -p "$next_src"
	cp -a "$src/." "$next_src/" || die "cannot copy $src"
	check "a copy of the source becomes version $next_version" \
		make_next "$next_src" "$version" "$next_version"
	# nocheck: the option skips make check, the profile the Build-Depends
	# only the tests need (ngircd)
	profile=() opts=${DEB_BUILD_OPTIONS:-} what="runs make check"
	if [ $nocheck = 1 ]; then
		profile=(-Pnocheck) opts="${opts:+$opts }nocheck" what=nocheck
	fi
	if ! (cd "$src" && dpkg-checkbuilddeps "${profile[@]}" >/dev/null 2>&1); then
		say "installing the Build-Depends (apt-get build-dep)"
		(cd "$src" && DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get build-dep -y -qq \
			"${profile[@]}" . >"$e2e_work/build-dep.log" 2>&1) ||
			{ tail -n 20 "$e2e_work/build-dep.log" >&2; die "apt-get build-dep failed"; }
	fi
	check "dpkg-buildpackage -us -uc -b ($what)" \
		build_debs "$src" "$e2e_work/build.log" "$opts" "${profile[@]}"
	debs=$e2e_work/debs
	mkdir -p "$debs"
	mv "$e2e_work"/*.deb "$e2e_work"/*.changes "$e2e_work"/*.buildinfo "$debs"/ 2>/dev/null
	# the higher version builds while this one is checked (until the
	# upgrade step): the same code, so without make check, and niced, so
	# that the container's timings stay the same
	say "building version $next_version in the background (nocheck)"
	next_opts=${DEB_BUILD_OPTIONS:-}
	( renice -n 10 -p "$BASHPID" >/dev/null
	  t0=$SECONDS
	  build_debs "$next_src" "$e2e_work/next/build.log" "${next_opts:+$next_opts }nocheck" -Pnocheck
	  rc=$?
	  echo "$((SECONDS - t0))" >"$e2e_work/next/seconds"
	  exit $rc ) >/dev/null 2>&1 &
	next_pid=$!
	check "lintian --fail-on error,warning" \
		timeout 600 lintian --fail-on error,warning "$debs"/shmchat_*.changes
fi
server_deb=$(ls "$debs"/shmchat-server_*.deb 2>/dev/null | head -n1)
client_deb=$(ls "$debs"/shmchat-client_*.deb 2>/dev/null | head -n1)
[ -n "$server_deb" ] && [ -n "$client_deb" ] || die "no shmchat-server/shmchat-client .deb in $debs"
version=$(dpkg-deb -f "$server_deb" Version) || die "no version in $server_deb"
if [ -n "$next_debs" ]; then
	next_version=$(dpkg-deb -f "$(ls "$next_debs"/shmchat-server_*.deb | head -n1)" Version) ||
		die "no shmchat-server .deb in $next_debs"
	dpkg --compare-versions "$next_version" gt "$version" ||
		die "$next_debs has version $next_version, not higher than $version"
fi

# ------------------------------------------------------------- container
step "a fresh Debian 12 root from the debootstrap cache"
new_root "$root"
echo "$name" >"$root/etc/hostname"
probe_nspawn "$root"
mkdir -p "$root/root/debs"
cp "$server_deb" "$client_deb" "$root/root/debs/"
# the container has no network: fetch what the packages depend on now,
# into the shared archive cache that apt inside will find
nspawn_run "$root" sh -c 'apt-get update -qq && apt-get install -y -qq --download-only \
	--no-install-recommends /root/debs/*.deb' >"$e2e_work/download.log" 2>&1 ||
	{ tail -n 20 "$e2e_work/download.log" >&2; die "cannot download the dependencies"; }

step "booting it with systemd-nspawn"
boot_container "$root" "$name" "$e2e_work/console.log" --private-network \
	--bind="$E2E_CACHE/archives:/var/cache/apt/archives"

# ---------------------------------------------------------------- tests
# (each check runs in a subshell: these helpers may fail freely)
main_pid() { cexec systemctl show -P MainPID shmchatd.service; }
is_active() { [ "$(cexec systemctl is-active "$1")" = active ]; }
not_active() { ! is_active "$1"; }
no_shmchatd() { ! cexec pgrep -x 'shmchatd(-worker)?'; }
ctl() { cexec shmchatctl "$@"; }
who_has() { ctl who | grep -qw "$1"; }
bob_got() { grep -qF "<alice> $1" "$root/root/bob.out"; }
journal() { cexec journalctl -q --no-pager -u shmchatd.service -o cat "$@"; }

# socket_listens UNIT PORT
socket_listens() {
	local l
	l=$(cexec systemctl show -P Listen "$1")
	[ "$l" = "[::]:$2 (Stream)" ] || { echo "Listen=$l"; return 1; }
	is_active "$1"
}
not_started_yet() { not_active shmchatd.service && no_shmchatd; }
runs_as_shmchat() {
	local u
	u=$(cexec ps -o user= -p "$(main_pid)" | tr -d ' ')
	[ "$u" = shmchat ] || { echo "runs as '$u'"; return 1; }
}
# LimitNOFILE= can only go as high as the limit the container's init got
# from whoever started it (a sandbox may cap it)
limits_ok() {
	local unit tasks nofile cap
	unit=$(cexec systemctl show -P LimitNOFILE shmchatd.service)
	tasks=$(cexec systemctl show -P TasksMax shmchatd.service)
	nofile=$(cexec cat /proc/"$(main_pid)"/limits | awk '/^Max open files/ { print $4 }')
	cap=$(cexec cat /proc/1/limits | awk '/^Max open files/ { print $5 }')
	[ "$cap" -gt 65536 ] 2>/dev/null && cap=65536
	echo "LimitNOFILE=$unit TasksMax=$tasks, shmchatd has $nofile open files (at most $cap here)"
	[ "$unit" = 65536 ] && [ "$tasks" = 65536 ] && [ "$nofile" = "$cap" ]
}
watchdog_fed() {
	local wd
	wd=$(cexec systemctl show -P WatchdogTimestampMonotonic shmchatd.service)
	[ "$(cexec systemctl show -P WatchdogUSec shmchatd.service)" = 30s ] &&
		[ -n "$wd" ] && [ "$wd" != 0 ] && [ "$wd" != "$wd0" ]
}
status_text() { cexec systemctl show -P StatusText shmchatd.service | grep clients; }
queue_ok() {
	# /proc/sysvipc/msg: key msqid perms cbytes qnum lspid lrpid uid gid ...
	local gid
	gid=$(cexec getent group shmchat | cut -d: -f3)
	cexec cat /proc/sysvipc/msg | awk -v k="$KEY" -v g="$gid" \
		'$1 == k && $3 == "660" && $9 == g { f = 1 } END { exit !f }' ||
		{ cexec cat /proc/sysvipc/msg; return 1; }
}
no_queue() {
	! cexec cat /proc/sysvipc/msg | awk -v k="$KEY" '$1 == k { f = 1 } END { exit !f }'
}
shm_empty() {
	local left
	left=$(cexec find /dev/shm -mindepth 1)
	[ -z "$left" ] || { echo "left in /dev/shm: $left"; return 1; }
}
clients_are() { ctl status | grep -qx "clients: $1"; }
# in_e2e NICK...: each of them in #e2e
in_e2e() {
	local out n
	out=$(ctl who --channel '#e2e') || return 1
	for n in "$@"; do
		grep -qw -- "$n" <<<"$out" || { echo "$out"; return 1; }
	done
}
denied_77() {
	cexec runuser -u dave -- shmchatctl status
	[ $? -eq 77 ]
}
motd_reloaded() { ctl motd | grep -q 'reloaded by the e2e test'; }
exposure_ok() {
	echo "$sec"
	grep -Eq 'exposure level for shmchatd.service: [0-9.]+ (SAFE|OK)' <<<"$sec"
}
journal_info() { journal -p info..info | grep -q 'listening on .*(socket activation)'; }
journal_notice() {
	local out
	out=$(journal -p notice..notice)
	grep -q ' ready' <<<"$out" && grep -q 'configuration reloaded' <<<"$out"
}
journal_clean() {
	local raw errs
	raw=$(journal | grep -E '^<[0-7]>')
	errs=$(journal -p err)
	[ -z "$raw$errs" ] || { echo "$raw$errs"; return 1; }
}
journal_stopped() { journal -p notice..notice | grep -q 'stopped'; }
# journal_took_over OLD NEW: the notice of an upgrade in place, shown
journal_took_over() {
	journal -p notice..notice | grep -F "shmchatd $2 took over from $1 after a pause of "
}
# status_version_is VERSION: shmchatd's (the package's without a revision)
status_version_is() {
	local v
	v=$(ctl status | sed -n 's/^version: //p')
	[ "$v" = "${1%-*}" ] || { echo "version: $v"; return 1; }
}
# pkg_version_is PACKAGE VERSION: installed at that version
pkg_version_is() {
	local v
	v=$(cexec dpkg-query -W -f '${Version}' "$1")
	[ "$v" = "$2" ] || { echo "$1 $v is installed"; return 1; }
}
# built STATUS LOG: a background build's exit status, the end of its log
built() { [ "$1" = 0 ] || { tail -n 60 "$2"; return 1; }; }
pid_changed() { local p; p=$(main_pid); [ "$p" != "$1" ] && [ "$p" != 0 ]; }
got_closing_link() {
	retry 15 grep -q '^ERROR :Closing Link' "$hold" || { cat "$hold"; return 1; }
}
exit_status_0() {
	local r
	r=$(cexec systemctl show -P Result shmchatd.service)/$(cexec systemctl show -P ExecMainStatus shmchatd.service)
	[ "$r" = success/0 ] || { echo "Result/ExecMainStatus: $r"; return 1; }
}
units_inactive() {
	not_active shmchatd.service && not_active shmchatd.socket && not_active shmchatd-tls.socket
}
port_closed() { ! cnet timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# TLS: the SHA-256 fingerprint of the certificate a new connection to
# port 6697 gets, and of the snakeoil certificate file
served_fp() {
	cexec sh -c 'openssl s_client -connect localhost:6697 </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256' | sed -n 's/^.*Fingerprint=//p'
}
file_fp() {
	cexec openssl x509 -noout -fingerprint -sha256 -in /etc/ssl/certs/ssl-cert-snakeoil.pem |
		sed -n 's/^.*Fingerprint=//p'
}
serves_fp() {
	local got
	got=$(served_fp)
	[ -n "$1" ] && [ "$got" = "$1" ] || { echo "served '$got', expected '$1'"; return 1; }
}
in_group_ssl_cert() { cexec id -nG shmchat | grep -qw ssl-cert; }
conf_uses_snakeoil() {
	cexec grep -q '^    key = "/etc/ssl/private/ssl-cert-snakeoil.key";' /etc/shmchat/shmchatd.conf
}
# alice: the packaged client in script mode, saying in #e2e each line
# appended to /root/alice.in (started again after the restart: append:
# keeps what the first one wrote)
start_alice() {
	cexec sh -c ': >/root/alice.in'
	cexec systemd-run -q --unit=e2e-alice --collect -p StandardOutput=append:/root/alice.out \
		-p StandardError=append:/root/alice.err \
		sh -c 'tail -n +1 -f /root/alice.in | shmchat --server localhost:6667 --nick alice --channel "#e2e"' >/dev/null
}
# tess is a raw IRC client over TLS (openssl s_client), fed by /root/tess.in:
# she both says and hears (alice only says, bob only listens)
tess_says() { cexec sh -c "printf '%s\r\n' \"\$1\" >>/root/tess.in" _ "$1"; }
start_tess() {
	cexec sh -c ': >/root/tess.in'
	cexec systemd-run -q --unit=e2e-tess --collect -p StandardOutput=append:/root/tess.out \
		-p StandardError=append:/root/tess.err \
		sh -c 'tail -n +1 -f /root/tess.in | openssl s_client -quiet -connect localhost:6697' >/dev/null
	tess_says "NICK tess"
	tess_says "USER tess 0 * :TLS client"
	tess_says "JOIN #e2e"
}
tess_got() { grep -qF -- "$1" "$root/root/tess.out"; }
bob_got_line() { grep -qF -- "$1" "$root/root/bob.out"; }
# pinned FINGERPRINT TEXT: the packaged client over TLS, pinning the
# certificate, says TEXT in #e2e; its exit status
pinned() {
	cexec sh -c 'echo "$2" | shmchat --server localhost:6697 --tls-fingerprint "$1" \
		--nick pin --channel "#e2e" --timeout 20' _ "$1" "$2"
}
pin_refused() {
	local rc
	pinned "$1" "not delivered"
	rc=$?
	[ $rc -eq 79 ] || { echo "exit status $rc, expected 79"; return 1; }
}
restart_fails() { ! cexec systemctl restart shmchatd; }
journal_missing_key() {
	journal -p err | grep -F 'cannot open the TLS key /etc/ssl/private/missing.key: No such file or directory'
}
is_failed() { [ "$(cexec systemctl is-active "$1")" = failed ]; }
journal_tls() { journal -p info..info | grep -q 'listening on \[::\]:6697 (TLS) (socket activation)'; }

step "install"
check "apt-get install shmchat-server shmchat-client" \
	cexec sh -c 'apt-get install -y -q --no-install-recommends /root/debs/shmchat-server_*.deb /root/debs/shmchat-client_*.deb'
check "user shmchat exists (sysusers.d)" cexec getent passwd shmchat
check "shmchatd.socket is enabled" test "$(cexec systemctl is-enabled shmchatd.socket)" = enabled
check "shmchatd.socket is listening on [::]:6667" socket_listens shmchatd.socket 6667
check "shmchatd-tls.socket is enabled" test "$(cexec systemctl is-enabled shmchatd-tls.socket)" = enabled
check "shmchatd-tls.socket is listening on [::]:6697" socket_listens shmchatd-tls.socket 6697
check "user shmchat is in group ssl-cert (sysusers.d)" in_group_ssl_cert
check "shmchatd.conf uses the snakeoil pair" conf_uses_snakeoil
check "shmchatd is not running before the first connection" not_started_yet

step "socket activation"
check "the first connection (IPv4) starts shmchatd and gets 001" irc_welcome 127.0.0.1 probe4
check "shmchatd.service is active" is_active shmchatd.service
check "an IPv6 connection gets 001" irc_welcome ::1 probe6
pid=$(main_pid)
wd0=$(cexec systemctl show -P WatchdogTimestampMonotonic shmchatd.service)
check "shmchatd runs as user shmchat" runs_as_shmchat
check "LimitNOFILE=65536 and TasksMax=65536 apply" limits_ok
check "STATUS= reaches systemd" status_text
check "admin queue: key 0x53434d51, mode 0660, group shmchat" queue_ok
check "nothing named in /dev/shm (the segment is unlinked)" shm_empty

step "two shmchat clients inside the container"
cexec systemd-run -q --unit=e2e-bob --collect -p StandardOutput=file:/root/bob.out \
	-p StandardError=file:/root/bob.err \
	shmchat --server localhost:6667 --nick bob --channel '#e2e' --listen >/dev/null
check "bob is connected (shmchatctl who)" retry 20 who_has bob
start_alice
check "alice is connected (shmchatctl who)" retry 20 who_has alice
cexec sh -c 'echo "hello from alice" >>/root/alice.in'
check "bob receives alice's message" retry 20 bob_got "hello from alice"
check "shmchatctl status shows 2 clients" clients_are 2
check "shmchatctl who shows alice and bob in #e2e" in_e2e alice bob
cexec sh -c 'useradd -M -G shmchat carol && useradd -M dave'
check "a member of group shmchat may use shmchatctl" cexec runuser -u carol -- shmchatctl status
check "anyone else gets exit status 77" denied_77

step "reload"
cexec sh -c 'echo "motd = \"reloaded by the e2e test\";" >>/etc/shmchat/shmchatd.conf'
check "systemctl reload shmchatd" cexec systemctl reload shmchatd
check "reload kept the main PID" test "$(main_pid)" = "$pid"
check "reload applied the file (shmchatctl motd)" retry 10 motd_reloaded
check "the clients stayed connected" clients_are 2
cexec sh -c 'echo "still here after the reload" >>/root/alice.in'
check "and still chat" retry 20 bob_got "still here after the reload"

step "TLS on port 6697 (snakeoil pair), then a new certificate by reload"
fp0=$(file_fp)
echo "# snakeoil certificate: $fp0"
check "a TLS connection gets the snakeoil certificate" serves_fp "$fp0"
start_tess
check "tess (TLS, openssl s_client) is connected and in #e2e" retry 20 tess_got " JOIN "
check "shmchatctl who shows tess" who_has tess
cexec sh -c 'echo "plain to TLS" >>/root/alice.in'
check "tess on TLS receives alice's line from port 6667" retry 20 tess_got "PRIVMSG #e2e :plain to TLS"
tess_says "PRIVMSG #e2e :TLS to plain"
check "bob on port 6667 receives tess's line" retry 20 bob_got_line "<tess> TLS to plain"
tess_says "WHOIS tess"
check "WHOIS shows 671 (secure connection) for tess" retry 20 tess_got " 671 tess tess "
check "shmchat --tls-fingerprint (the packaged client) pins it and chats" pinned "$fp0" "pinned before"
check "bob receives the pinned client's line" retry 20 bob_got_line "<pin> pinned before"
check "make-ssl-cert makes a new snakeoil pair" \
	cexec make-ssl-cert generate-default-snakeoil --force-overwrite
fp1=$(file_fp)
echo "# new certificate: $fp1"
check "the new certificate differs" test -n "$fp1" -a "$fp1" != "$fp0"
check "systemctl reload shmchatd" cexec systemctl reload shmchatd
check "reload kept the main PID" test "$(main_pid)" = "$pid"
check "a new TLS connection gets the new certificate" retry 10 serves_fp "$fp1"
check "pinning the old one now fails (shmchat exit status 79)" pin_refused "$fp0"
check "pinning the new one works" pinned "$fp1" "pinned after"
check "bob receives it" retry 20 bob_got_line "<pin> pinned after"
tess_says "PRIVMSG #e2e :TLS after the reload"
check "tess, connected before the reload, is still served" \
	retry 20 bob_got_line "<tess> TLS after the reload"
cexec sh -c 'echo "plain after the reload" >>/root/alice.in'
check "and still receives" retry 20 tess_got "PRIVMSG #e2e :plain after the reload"
tess_says "QUIT :done"
cexec systemctl stop e2e-tess 2>/dev/null

step "watchdog"
check "WATCHDOG=1 reaches systemd (every 15 s)" retry 30 watchdog_fed

step "sandbox"
sec=$(cexec systemd-analyze security --no-pager shmchatd.service | tail -n 1)
echo "# $sec"
check "systemd-analyze security rates it OK or better" exposure_ok

step "journal"
check "info: listening on ... (socket activation)" journal_info
check "info: listening on [::]:6697 (TLS) (socket activation)" journal_tls
check "notice: ready, configuration reloaded" journal_notice
check "no raw <N> prefixes, nothing at err or worse" journal_clean

step "restart"
check "systemctl restart shmchatd" cexec systemctl restart shmchatd
check "a new main PID" pid_changed "$pid"
pid=$(main_pid)
check "the old instance closed its clients (ERROR :Closing Link)" \
	retry 20 grep -q 'Closing Link: .*(Server shutting down)' "$root/root/bob.out"
check "bob (--listen) reconnected to the new one" retry 20 who_has bob
check "answers after the restart" irc_welcome 127.0.0.1 probe-restart

step "upgrade from $version to $next_version in place (apt-get install)"
if [ -n "$next_pid" ]; then
	t0=$SECONDS
	wait "$next_pid"
	next_rc=$?
	next_pid=""
	echo "# version $next_version built in $(cat "$e2e_work/next/seconds" 2>/dev/null) s" \
		"in the background; waited $((SECONDS - t0)) s for it"
	check "dpkg-buildpackage -us -uc -b of version $next_version (nocheck)" \
		built "$next_rc" "$e2e_work/next/build.log"
	next_debs=$e2e_work/debs-next
	mkdir -p "$next_debs"
	mv "$e2e_work"/next/*.deb "$e2e_work"/next/*.changes "$e2e_work"/next/*.buildinfo \
		"$next_debs"/ 2>/dev/null
fi
mkdir -p "$root/root/debs-next"
cp "$(ls "$next_debs"/shmchat-server_*.deb | head -n1)" \
	"$(ls "$next_debs"/shmchat-client_*.deb | head -n1)" "$root/root/debs-next/" ||
	die "no shmchat-server/shmchat-client .deb in $next_debs"
# alice (not --listen) left with the restart, tess before it: both come
# back, so that clients connected before the upgrade say and hear
cexec systemctl stop e2e-alice 2>/dev/null
start_alice
check "alice is connected again" retry 20 who_has alice
start_tess
check "tess (TLS) is connected again and in #e2e" retry 20 in_e2e tess
cexec sh -c 'echo "before the upgrade" >>/root/alice.in'
check "bob receives alice" retry 20 bob_got "before the upgrade"
check "tess too" retry 20 tess_got "PRIVMSG #e2e :before the upgrade"
check "shmchatctl status shows 3 clients" retry 10 clients_are 3
check "and version $version" status_version_is "$version"
bob_closed=$(grep -c 'Closing Link' "$root/root/bob.out")
tess_closed=$(grep -c '^ERROR' "$root/root/tess.out")
# as an admin would; the dependencies are those of the installed version
check "apt-get install the $next_version packages" \
	cexec sh -c 'apt-get install -y -q --no-install-recommends \
		/root/debs-next/shmchat-server_*.deb /root/debs-next/shmchat-client_*.deb'
check "dpkg-query -W shows shmchat-server $next_version" \
	pkg_version_is shmchat-server "$next_version"
check "and shmchat-client $next_version" pkg_version_is shmchat-client "$next_version"
# the postinst upgrades in place (shmchatctl upgrade): same process, new code
check "the upgrade kept the main PID (an upgrade in place)" test "$(main_pid)" = "$pid"
check "and it is active" is_active shmchatd.service
check "notice: shmchatd $next_version took over from $version" \
	retry 10 journal_took_over "$version" "$next_version"
echo "# $(journal_took_over "$version" "$next_version" | tail -n 1)"
check "shmchatctl status shows version $next_version" status_version_is "$next_version"
check "no client was disconnected: still 3" clients_are 3
check "bob (--listen) got no ERROR :Closing Link" \
	test "$(grep -c 'Closing Link' "$root/root/bob.out")" = "$bob_closed"
check "neither did tess" test "$(grep -c '^ERROR' "$root/root/tess.out")" = "$tess_closed"
check "alice, bob and tess are still in #e2e" in_e2e alice bob tess
cexec sh -c 'echo "across the upgrade" >>/root/alice.in'
check "alice and bob, connected before, still chat" retry 20 bob_got "across the upgrade"
check "tess (TLS), connected before, hears alice" \
	retry 20 tess_got "PRIVMSG #e2e :across the upgrade"
tess_says "PRIVMSG #e2e :TLS across the upgrade"
check "and bob hears tess" retry 20 bob_got_line "<tess> TLS across the upgrade"
check "a new client gets 001" irc_welcome 127.0.0.1 probe-upgraded
check "the TLS socket still serves" serves_fp "$fp1"
check "no raw <N> prefixes, nothing at err or worse" journal_clean
tess_says "QUIT :done"
cexec systemctl stop e2e-tess 2>/dev/null

step "stop"
# bob (--listen) would reconnect and so start shmchatd again
cexec systemctl stop e2e-bob e2e-alice 2>/dev/null
hold=$e2e_work/hold.log
: >"$hold"
cnet timeout 120 bash -c "$E2E_IRC_PROBE" _ 127.0.0.1 holder hold "$hold" &
holder=$!
track_bg $holder
check "a client is connected" retry 20 who_has holder
check "systemctl stop shmchatd" cexec systemctl stop shmchatd.service
check "the client got ERROR :Closing Link" got_closing_link
check "shmchatd exited with status 0" exit_status_0
check "no shmchatd process left" no_shmchatd
check "no /dev/shm object left" shm_empty
check "no message queue left" no_queue
check "notice: stopped" journal_stopped
check "the socket still listens and starts it again" irc_welcome 127.0.0.1 probe-again

step "a TLS key that cannot be opened at start"
cexec sed -i 's|ssl-cert-snakeoil\.key|missing.key|' /etc/shmchat/shmchatd.conf
check "systemctl restart shmchatd fails" restart_fails
check "err: one line naming the key and the reason" retry 10 journal_missing_key
check "the service gives up (Restart= until the start limit)" retry 60 is_failed shmchatd.service
check "no shmchatd process left" no_shmchatd
echo "# sockets now: shmchatd.socket $(cexec systemctl is-active shmchatd.socket)," \
	"shmchatd-tls.socket $(cexec systemctl is-active shmchatd-tls.socket)"
cexec sed -i 's|missing\.key|ssl-cert-snakeoil.key|' /etc/shmchat/shmchatd.conf
check "fixed: systemctl reset-failed shmchatd; systemctl restart shmchatd" \
	cexec sh -c 'systemctl reset-failed shmchatd && systemctl restart shmchatd'
check "both sockets listen again" \
	eval 'is_active shmchatd.socket && is_active shmchatd-tls.socket'
check "it answers on 6667 again" irc_welcome 127.0.0.1 probe-fixed
check "and on 6697" serves_fp "$fp1"

step "TLS turned off by the admin"
# the service wants the TLS socket: disabling it does not keep it off
check "systemctl disable --now shmchatd-tls.socket; systemctl restart shmchatd" \
	cexec sh -c 'systemctl disable --now shmchatd-tls.socket && systemctl restart shmchatd'
check "the restart started the disabled TLS socket again" is_active shmchatd-tls.socket
cexec systemctl enable -q shmchatd-tls.socket
check "systemctl mask --now shmchatd-tls.socket; systemctl restart shmchatd" \
	cexec sh -c 'systemctl mask --now shmchatd-tls.socket && systemctl restart shmchatd'
check "the masked TLS socket stays off" not_active shmchatd-tls.socket
check "nothing listens on 6697" port_closed 6697
check "6667 still answers" irc_welcome 127.0.0.1 probe-plain
check "systemctl unmask shmchatd-tls.socket; systemctl restart shmchatd" \
	cexec sh -c 'systemctl unmask shmchatd-tls.socket && systemctl restart shmchatd'
check "6697 serves TLS again" serves_fp "$fp1"
check "6667 too" irc_welcome 127.0.0.1 probe-both

step "remove and purge"
check "apt-get remove shmchat-server" cexec apt-get remove -y -q shmchat-server
check "remove stopped the service and the sockets" units_inactive
check "no shmchatd process left" no_shmchatd
check "nothing listens on 6667" port_closed 6667
check "nothing listens on 6697" port_closed 6697
check "the configuration file stays after remove" cexec test -f /etc/shmchat/shmchatd.conf
check "apt-get purge shmchat-server shmchat-client" \
	cexec apt-get purge -y -q shmchat-server shmchat-client
check "purge removed /etc/shmchat" cexec test ! -e /etc/shmchat
check "purge removed the socket's enablement" \
	cexec test ! -e /etc/systemd/system/sockets.target.wants/shmchatd.socket
check "and the TLS socket's" \
	cexec test ! -e /etc/systemd/system/sockets.target.wants/shmchatd-tls.socket

exit 0
