#!/usr/bin/env bash
# Runs the whole test suite: every crate of the workspace with every feature, unit tests, the
# cross-crate tests in tests/ and the doctests (crate docs and README), then the Python package's
# pytest suite (lpgd-python, built with maturin in a virtualenv) with the docstrings' examples,
# and the Python type stubs (mypy's stubtest against the compiled module, mypy on the package).
#
# Solver features that build C/C++ code need system packages; they are installed here, once, when
# missing: cmake and a C compiler for OSQP and lp_solve, cmake, g++ and libclang (bindgen) for HiGHS,
# OpenBLAS and libgfortran (from gfortran) for Clarabel's semidefinite cones (`clarabel-sdp`).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ make libclang-dev libopenblas-dev gfortran)   # Debian packages the features need
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

# Run the Rust suite, then the Python package's (built with maturin into a virtualenv this script
# creates once and reuses), then close with one summary line over every test binary, doctest run
# and pytest run (cargo's own last line is that of the last crate, which may hold no tests).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --all-features "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

venv="${LPGD_VENV:-$HOME/.cache/lpgd-venv}"
python_status=0
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
set +e
(
  set -e
  # torch (about 3 GB with its CUDA wheels; pip's cache keeps it) and cvxpylayers for the drop-in
  # tests, the real diffcp (with Clarabel) for the delegation of non-LPGD modes; pip skips what the
  # virtualenv already has; PyEPO (no solver needed) to check the data generators against.
  "$venv/bin/pip" install -q --disable-pip-version-check "maturin>=1.16,<2" numpy scipy pytest \
    "torch==2.15.0" "cvxpylayers==1.2.0" "diffcp==1.1.9" "clarabel==0.11.1" "pyepo==2.2.7" \
    "mypy==2.4.1"
  cd lpgd-python
  VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" maturin develop -q --features clarabel-sdp
  # The test suite and the `>>>` examples of the package's docstrings.
  "$venv/bin/python" -m pytest -q -W ignore::DeprecationWarning tests --doctest-modules python/lpgd
  # The extension module's type stubs against the compiled module, and the package against them.
  (cd python && "$venv/bin/python" -m mypy.stubtest lpgd._lpgd)
  "$venv/bin/python" -m mypy --ignore-missing-imports python/lpgd
) 2>&1 | tee -a "$log"
python_status=${PIPESTATUS[0]}
set -e

awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^[0-9]+ passed|^[0-9]+ failed|, [0-9]+ failed/ && !/^test result:/ {
       for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
if [ "$status" -ne 0 ]; then exit "$status"; fi
exit "$python_status"
