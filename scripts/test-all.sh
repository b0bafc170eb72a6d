#!/usr/bin/env bash
# Runs the whole test suite: every crate of the workspace with every feature, unit tests, the
# cross-crate tests in tests/ and the doctests (crate docs and README).
#
# Solver features that build C/C++ code need system packages; they are installed here, once, when
# missing: cmake and a C compiler for OSQP and lp_solve, cmake, g++ and libclang (bindgen) for HiGHS.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ make libclang-dev)   # Debian packages the solver features need to build
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Run the suite, then close with one summary line over every test binary and doctest run (cargo's
# own last line is that of the last crate, which may legitimately hold no tests).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --all-features "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
