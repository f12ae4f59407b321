#!/bin/sh
# Runs the fuzz targets built by the Makefile (make fuzz, make fuzz-replay).
#   run.sh libfuzzer OUTPUT SECONDS TARGET...   each target for SECONDS
#   run.sh replay OUTPUT TARGET...              each once over its corpora
# A target's corpora: OUTPUT/fuzz/corpus/NAME (what libFuzzer found,
# kept between runs), tests/fuzz/corpus/NAME (committed seeds),
# OUTPUT/fuzz/seeds/NAME (ELF seeds the Makefile made from the
# fixtures); tests/fuzz/crashes/NAME/* are the reproducers of findings
# fixed, run first in both modes (open-*: not fixed yet, listed, not
# run). A finding (sanitizer report, broken
# invariant, crash, timeout, out of memory) fails the target; every
# target runs, then one line each, and exit 1 if any failed.
set -u
mode=$1 out=$2
shift 2
secs=0
if [ "$mode" = libfuzzer ]; then
	secs=$1
	shift
fi
src=$(cd "$(dirname "$0")" && pwd)
timeout_s=${FUZZ_TIMEOUT:-25}
summary="" failed=0
base_asan=${ASAN_OPTIONS:-}

dirs_of() {
	for d in "$out/fuzz/corpus/$1" "$src/corpus/$1" "$out/fuzz/seeds/$1"; do
		[ -d "$d" ] && printf '%s\n' "$d"
	done
}

# libFuzzer guesses at most 1 MB from the corpus; the ELF seeds are more
max_len_of() {
	max=4096
	for d in $(dirs_of "$1"); do
		for f in "$d"/*; do
			[ -f "$f" ] || continue
			s=$(stat -c %s "$f")
			[ "$s" -gt "$max" ] && max=$s
		done
	done
	echo "$max"
}

for t in "$@"; do
	bin=$out/fuzz/fuzz_$t
	# libdw's own leaks on corrupt DWARF are suppressed by name
	# (tests/sanitizers/lsan.supp), which only a full stack shows: libdw
	# has no frame pointers for ASan's fast unwinder
	case $t in
	elfsym | goelf) export ASAN_OPTIONS="${base_asan}:fast_unwind_on_malloc=0" ;;
	*) export ASAN_OPTIONS="$base_asan" ;;
	esac
	log=$out/fuzz/logs/$t.log
	mkdir -p "$out/fuzz/corpus/$t" "$out/fuzz/artifacts/$t" "$out/fuzz/logs"
	crashes=""
	open=""
	if [ -d "$src/crashes/$t" ]; then
		crashes=$(find "$src/crashes/$t" -type f ! -name 'open-*' | sort)
		open=$(find "$src/crashes/$t" -type f -name 'open-*' | sort)
	fi
	for f in $open; do
		summary="$summary
# open finding, not run: $f (tests/fuzz/crashes/README.md)"
	done
	if [ -n "$crashes" ]; then
		# shellcheck disable=SC2086
		if ! "$bin" $crashes >"$log.crashes" 2>&1; then
			tail -n 40 "$log.crashes"
			summary="$summary
not ok - $t: a fixed finding is back (tests/fuzz/crashes/$t), log $log.crashes"
			failed=1
			continue
		fi
	fi
	if [ "$mode" = replay ]; then
		# shellcheck disable=SC2046
		if "$bin" $(dirs_of "$t") >"$log" 2>&1; then
			summary="$summary
ok - $t: $(tail -n 1 "$log" | sed 's/^replay: [^:]*: //')"
		else
			tail -n 40 "$log"
			summary="$summary
not ok - $t: finding while replaying, log $log"
			failed=1
		fi
		continue
	fi
	echo "fuzz: $t for ${secs}s"
	# shellcheck disable=SC2046
	"$bin" -max_total_time="$secs" -timeout="$timeout_s" -max_len="$(max_len_of "$t")" \
		-print_final_stats=1 -artifact_prefix="$out/fuzz/artifacts/$t/" \
		$(dirs_of "$t") >"$log" 2>&1
	rc=$?
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1, ft \2/p')
	corp=$(printf '%s\n' "$last" | sed -n 's/.* corp: \([0-9]*\)\/\([^ ]*\).*/corpus \1 (\2)/p')
	speed=$(printf '%s\n' "$last" | sed -n 's/.* exec\/s: \([0-9]*\).*/\1 exec\/s/p')
	if [ $rc -eq 0 ]; then
		summary="$summary
ok - $t: ${execs:-?} runs in ${secs}s (${speed:-?}), ${cov:-cov ?}, ${corp:-corpus ?}"
	else
		tail -n 60 "$log"
		summary="$summary
not ok - $t: finding (exit $rc) after ${execs:-?} runs; input in $out/fuzz/artifacts/$t/, log $log"
		failed=1
	fi
done
printf '%s\n' "$summary" | sed '/^$/d'
exit $failed
