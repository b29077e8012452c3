#!/usr/bin/env bash
# Runs each libFuzzer harness for SECONDS over its seed corpus (make fuzz):
#   scripts/run_fuzzers.sh BUILD_DIR SECONDS HARNESS...
# or, reproducibly (CI), for a fixed number of inputs from a fixed seed:
#   scripts/run_fuzzers.sh BUILD_DIR runs=N HARNESS...
# The corpus grows in BUILD_DIR/corpus/<name>. A crash, sanitizer report or
# leak is saved as BUILD_DIR/crash-* / leak-* and fails the run; a slow unit
# (timeout-*, over 20 s) or one past the memory limit (oom-*) is reported but
# does not fail it: a model may legitimately ask for much work. Prints, and
# appends to BUILD_DIR/report.txt, each harness's executions and coverage.
set -uo pipefail
build=$1 amount=$2
shift 2
case $amount in
  runs=*) limit=(-runs="${amount#runs=}" -seed=1) ;;
  *) limit=(-max_total_time="$amount") ;;
esac
status=0
report=$build/report.txt
echo "# $(date -u +%FT%TZ), $amount per harness" >>"$report"
for h in "$@"; do
  name=${h#fuzz_}
  mkdir -p "$build/corpus/$name"
  log=$build/$h.log
  # allocator_may_return_null: a huge allocation the code checks for is not a finding.
  ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1 \
    "$build/$h" "$build/corpus/$name" "${limit[@]}" -timeout=20 -rss_limit_mb=3072 \
    -artifact_prefix="$build/$name-" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  line="$h: ${execs:-0} executions, coverage ${cov:-0} edges, exit $rc"
  if [ $rc -ne 0 ]; then
    if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error|deadly signal|ERROR: libFuzzer: (fuzz target exited|out-of-memory \(malloc)' "$log"; then
      line="$line: FINDING"
      status=1
    else
      line="$line: slow unit or memory limit (reported, not a failure)"
    fi
    grep -m5 -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log"
  fi
  echo "$line" | tee -a "$report"
done
exit $status
