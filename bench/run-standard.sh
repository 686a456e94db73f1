#!/usr/bin/env bash
# The standard bench suite: every micro bench (bench/micro/*.bench.ts) and the e2e
# benches listed below, each under a time limit, writing JSON to bench/results/
# (or $BENCH_OUT). A bench that fails or times out is reported and the suite goes on;
# the exit code is non-zero if any failed. Whole suite: under 10 minutes on 2 cores.
#
#   bash bench/run-standard.sh            # or: npm run bench
#   BENCH_QUICK=1 bash bench/run-standard.sh   # shorter runs, for a smoke test
set -u
cd "$(dirname "$0")/.."

PER_BENCH_TIMEOUT="${BENCH_TIMEOUT:-120}"
export BENCH_OUT="${BENCH_OUT:-bench/results}"
mkdir -p "$BENCH_OUT"

# Build the optional tuning addon if it is missing (never fails).
[ -f native/build/Release/colo_native.node ] || node native/install.mjs
# Benches that start a real Colo run dist/cli.js: build it from the current sources.
node scripts/build.mjs

# e2e benches: "file args". Add the lead's e2e benches here as they land.
E2E=(
  "bench/e2e/uws-echo.ts"
  "bench/e2e/tuning.ts --rounds=2"
  "bench/e2e/colo-vs-echo.ts --count=3000 --llm-count=1000 --open-ms=2000"
  "bench/e2e/concurrency.ts --threads=1 --rounds=4"
  "bench/e2e/frames-fb-vs-json.ts --count=2000"
  "bench/e2e/classifier-dispatch.ts"
  "bench/e2e/loadgen.ts --mode=open --rate=50 --count=0 --duration=5000 --name=loadgen-ws-open"
  "bench/e2e/gateway-peer.ts --rates=1000 --duration=2000 --rounds=1 --warmup=500"
  "bench/e2e/gateway-path.ts --paths=direct,proxy-floor,colo --rounds=1 --duration=2000 --warmup=500 --sweep=1000,3000 --sweep-duration=2000"
  # synthetic-shapes.ts is left out: minutes per model on CPU (npm run bench:synthetic).
)

declare -a passed=() failed=()
run() {
  local file="$1"; shift
  [ -f "$file" ] || { echo "skip $file (missing)"; return; }
  echo
  echo "=== $file $* (limit ${PER_BENCH_TIMEOUT}s)"
  local start=$SECONDS
  timeout --kill-after=10 "$PER_BENCH_TIMEOUT" node bench/lib/run.mjs "$file" "$@"
  local rc=$?
  local took=$((SECONDS - start))
  if [ $rc -eq 0 ]; then passed+=("$file (${took}s)"); else failed+=("$file (rc=$rc, ${took}s$([ $rc -eq 124 ] && echo ', timed out'))"); fi
}

suite_start=$SECONDS
for f in bench/micro/*.bench.ts; do run "$f"; done
for entry in "${E2E[@]}"; do
  # shellcheck disable=SC2086
  run $entry
done

echo
echo "=== standard suite: ${#passed[@]} passed, ${#failed[@]} failed in $((SECONDS - suite_start))s; results in $BENCH_OUT"
for p in "${passed[@]}"; do echo "  ok   $p"; done
for f in "${failed[@]}"; do echo "  FAIL $f"; done
[ ${#failed[@]} -eq 0 ]
