#!/bin/bash
# Build the libFuzzer harnesses with clang (ASan + UBSan) against the
# sources of common/ and run each for a bounded time. Exit status 1 when a
# harness finds a crash, a sanitizer report or a failed check (the input
# that did it is saved as OUT/crash-NAME-*; rerun it with OUT/fuzz_NAME FILE).
#
#   tests/fuzz/run.sh [--seconds N] [--out DIR] [--build-dir DIR] [NAME...]
#
# NAME: irc (irc_parse + linebuf), adminq (the admin queue decoders),
# cluster (the network log's entries); default all three. --build-dir: where configure wrote config.h (else a minimal
# one defining _GNU_SOURCE is written). The seed corpora in tests/fuzz/corpus/NAME are only read; what the
# fuzzer finds goes to OUT/corpus-NAME and is reused by the next run.
# `make fuzz FUZZ_SECONDS=60` runs this from the build directory.
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
seconds=60
out=fuzz-out
builddir=
names=()
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--build-dir) builddir=$2; shift 2 ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	irc|adminq|cluster|tags) names+=("$1"); shift ;;
	*) echo "usage: $0 [--seconds N] [--out DIR] [--build-dir DIR] [irc|adminq|cluster|tags]..." >&2; exit 64 ;;
	esac
done
[ ${#names[@]} -gt 0 ] || names=(irc adminq cluster tags)
case "$seconds" in ''|*[!0-9]*) echo "$0: --seconds wants a number" >&2; exit 64 ;; esac

CC=${FUZZ_CC:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "$0: $CC not found (tools/install-deps --test installs clang)" >&2
	exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
cfgdir="$out/include"
mkdir -p "$cfgdir"
if [ -n "$builddir" ] && [ -f "$builddir/config.h" ]; then
	cp "$builddir/config.h" "$cfgdir/config.h"
else
	printf '#define _GNU_SOURCE 1\n#define PACKAGE_VERSION "fuzz"\n' >"$cfgdir/config.h"
fi

FUZZ_CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
declare -A sources=(
	[irc]="common/irc.c common/linebuf.c"
	[adminq]="common/adminq.c"
	[cluster]="server/cluster_entry.c"
	[tags]="common/irctags.c server/cap.c server/reply.c common/irc.c"
)

status=0
for name in "${names[@]}"; do
	bin="$out/fuzz_$name"
	srcs=()
	for f in ${sources[$name]}; do srcs+=("$srcdir/$f"); done
	echo "fuzz: building $bin"
	# shellcheck disable=SC2086
	$CC $FUZZ_CFLAGS -I"$cfgdir" -I"$srcdir/common" -I"$srcdir/server" -o "$bin" \
		"$srcdir/tests/fuzz/fuzz_$name.c" "${srcs[@]}"
	mkdir -p "$out/corpus-$name"
	echo "fuzz: running fuzz_$name for $seconds s"
	rc=0
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=16384 -print_final_stats=1 \
		-artifact_prefix="$out/crash-$name-" \
		"$out/corpus-$name" "$srcdir/tests/fuzz/corpus/$name" \
		>"$out/fuzz_$name.log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz_$name.log" | tail -n1)
	cov=$(grep -o 'cov: [0-9]*' "$out/fuzz_$name.log" | tail -n1 || true)
	if [ $rc -ne 0 ]; then
		echo "fuzz: fuzz_$name FAILED (exit $rc); log: $out/fuzz_$name.log"
		grep -E 'ERROR|check failed|SUMMARY|Test unit written' "$out/fuzz_$name.log" | head -n 20 || true
		tail -n 40 "$out/fuzz_$name.log"
		status=1
	else
		echo "fuzz: fuzz_$name: ${execs:-?} executions, ${cov:-cov: ?}, corpus $(ls "$out/corpus-$name" | wc -l) files, no crash"
	fi
done
exit $status
