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

cargo test --workspace --all-features "$@"
