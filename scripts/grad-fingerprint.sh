#!/usr/bin/env bash
# Runs `lpgd-bench grad` on every bundled problem file under several configurations and prints one
# line per run: the file, the configuration and a SHA-256 of the outputs with the timings removed
# (status, x, y, s and every gradient block). Two trees whose lines are equal give bit-identical
# gradients; used to check that a change of shape leaves behaviour unchanged.
#
#   scripts/grad-fingerprint.sh > before.txt   # ... change ...   scripts/grad-fingerprint.sh | diff before.txt -
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p lpgd-bench --features highs,osqp,clarabel-sdp
bin="${CARGO_TARGET_DIR:-target}/release/lpgd-bench"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
configs=(
  "--side centered --tau 0.1 --rho 0.1"
  "--side right --tau 0.1 --rho 0.0"
  "--side left --tau 0.01 --rho 0.1 --cold"
  "--side centered --tau 0.1 --rho 0.1 --face"
  "--side centered --tau 0.001 --rho 0.0 --face --boundary-cones"
  "--side right --tau 0.1 --rho 0.1 --backend osqp"
  "--side right --tau 0.1 --rho 0.0 --backend highs"
)
for file in data/diffcp/*_small.json data/diffcp/*_medium.json data/sdp/nearest_correlation.json; do
  for config in "${configs[@]}"; do
    # shellcheck disable=SC2086
    if "$bin" grad --problem "$file" $config --threads 2 --out "$out" >/dev/null 2>&1; then
      hash=$(jq -S 'del(.summary) | .instances |= map(del(.forward_s, .backward_s, .solver_s))' "$out" \
        | sha256sum | cut -c1-16)
    else
      hash="refused"
    fi
    echo "$file [$config] $hash"
  done
done
