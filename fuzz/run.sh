#!/usr/bin/env bash
# fuzz/run.sh — run each fuzz target for a bounded time (default 30 s each; FUZZ_SECONDS=N to change).
#
# The targets are cargo-fuzz targets (`cargo +nightly fuzz run quantity` works where cargo-fuzz is installed). This
# script needs neither cargo-fuzz nor nightly: it builds the targets with libFuzzer's coverage instrumentation
# (-Cpasses=sancov-module, stable flags) on whatever toolchain is there, adding AddressSanitizer only when a nightly
# toolchain is installed (FUZZ_NIGHTLY=0 to use the default toolchain anyway), then runs each binary with
# -max_total_time. Seeds: a few quantities, and the real Prometheus
# log fixtures of tests/fixtures/doctor/logs. A crash is saved under fuzz/artifacts/TARGET/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${FUZZ_SECONDS:-30}
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/target}

toolchain=()
flags="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
sanitizer=none
if [ "${FUZZ_NIGHTLY:-auto}" != 0 ] && rustup run nightly rustc --version >/dev/null 2>&1; then
  toolchain=(+nightly)
  flags="$flags -Zsanitizer=address"
  sanitizer=address
fi
echo "fuzz: building targets (toolchain: ${toolchain[*]:-default}, sanitizer: $sanitizer)" >&2
host=$(rustc -vV | sed -n 's/^host: //p')
# --target keeps the instrumentation off build scripts and proc macros, as cargo-fuzz does. A toolchain that cannot
# build libFuzzer targets at all is a skip with a notice (FUZZ_REQUIRE=1 makes it a failure); a crash always fails.
# Not --locked: this lock follows kubectl-prom's dependencies, which change under it; cargo adds what is new.
if ! RUSTFLAGS="$flags" cargo "${toolchain[@]}" build --release --target "$host" --bins >&2; then
  if [ "${FUZZ_REQUIRE:-0}" = 1 ]; then
    echo "fuzz: the targets did not build" >&2
    exit 1
  fi
  echo "SKIP: fuzz targets could not be built with this toolchain; tests/properties.rs still runs the same properties" >&2
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/quantity" "$work/logscan" artifacts/quantity artifacts/logscan
i=0
for q in 1124Gi "1124Gi|176Gi" "64Mi|25%" 1.5e3 100m 12XB -1Gi "0.000001Ki|12.5%" 8Ei "1e18|1e18"; do
  printf '%s' "$q" > "$work/quantity/seed-$i"; i=$((i + 1))
done
cp ../tests/fixtures/doctor/logs/* "$work/logscan/" 2>/dev/null || true

status=0
for target in quantity logscan; do
  echo "fuzz: $target for ${SECONDS_EACH}s" >&2
  if ! "$CARGO_TARGET_DIR/$host/release/$target" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 \
      -artifact_prefix="artifacts/$target/" -print_final_stats=1 "$work/$target" 2> "$work/$target.log"; then
    tail -40 "$work/$target.log" >&2
    echo "fuzz: $target FAILED (input saved under fuzz/artifacts/$target/)" >&2
    status=1
  else
    grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "$work/$target.log" | tail -1 | sed "s/^/fuzz: $target: /" >&2
  fi
done
exit $status
