#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine, then runs every suite:
#
#   ./run_tests.sh            all suites
#   ./run_tests.sh rust python web e2e   a selection
#
# Suites: lint (cargo fmt --check, cargo clippy -D warnings, ruff check, ruff format
# --check and svelte-check; it runs them all and names the ones that failed), rust
# (cargo test), python (the trainer's pytest), web (Vitest), e2e (the real actor and
# trainer on a temporary data folder, the move API, and the browser tests in Debian's
# Chromium), docker (docker-compose.yml validated with `docker-compose config`, the
# Dockerfiles linted with hadolint; no Docker engine is needed), faults (tests/faults:
# kill -9 of either process mid-write, bad model files, locked/read-only/corrupt
# databases, a full disk on a tmpfs, hostile HTTP requests, ./start_training.sh
# stopping both processes; the mount-based tests need root and skip with the reason
# otherwise), fuzz (schemathesis against the real actor's /api/openapi.json, installed
# into .venv on first use, and a short HTTP load run).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

SUITES=("$@")
# lint first: it needs no running processes and fails fastest.
[ ${#SUITES[@]} -gt 0 ] || SUITES=(lint rust python web docker e2e faults fuzz)

SETUP_ARGS=(--with-browser)
for suite in "${SUITES[@]}"; do [ "$suite" = lint ] && SETUP_ARGS+=(--with-lint); done
scripts/setup.sh "${SETUP_ARGS[@]}" || { echo "run_tests: setup failed"; exit 1; }
ORT_DYLIB_PATH="$(ls "$ROOT"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.* | head -n1)"
export ORT_DYLIB_PATH
# The actor's ONNX tests skip (loudly) without the library on a developer's machine;
# here the library is always installed, so a skip would hide a broken setup: fail instead.
export CARTRIDGE_REQUIRE_ORT=1

passed=0
failed=0
failed_names=()
run_suite() { # name, command...
  local name="$1"; shift
  echo
  echo "==================== $name ===================="
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "---- $name: ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1)); failed_names+=("$name"); echo "---- $name: FAILED ($((SECONDS - start)) s)"
  fi
}

# lint: every check runs, even after one fails, so one run lists all there is to fix.
lint() {
  local failed_checks=()
  lint_check() { # name, command...
    local name="$1"; shift
    echo "[lint] $name"
    "$@" || failed_checks+=("$name")
  }
  if cargo fmt --version >/dev/null 2>&1; then
    lint_check "cargo fmt" cargo fmt --all --check
  else
    echo "[lint] cargo fmt is missing: rustup component add rustfmt (or your distribution's rustfmt)"
    failed_checks+=("cargo fmt")
  fi
  if cargo clippy --version >/dev/null 2>&1; then
    lint_check "cargo clippy" cargo clippy --quiet --workspace --all-targets -- -D warnings
  else
    echo "[lint] cargo clippy is missing: rustup component add clippy (or your distribution's rust-clippy)"
    failed_checks+=("cargo clippy")
  fi
  lint_check "ruff check" .venv/bin/ruff check
  lint_check "ruff format" .venv/bin/ruff format --check
  lint_check "svelte-check" bash -c 'cd web && npm run --silent check'
  if [ ${#failed_checks[@]} -gt 0 ]; then
    local list
    list="$(printf '%s, ' "${failed_checks[@]}")"
    echo "[lint] failed: ${list%, }"
    return 1
  fi
}

for suite in "${SUITES[@]}"; do
  case "$suite" in
    lint) run_suite lint lint ;;
    rust) run_suite rust cargo test --workspace ;;
    python) run_suite python bash -c "cd trainer && ../.venv/bin/python -m pytest -q" ;;
    web) run_suite web bash -c 'cd web && npm test --silent' ;;
    e2e) run_suite e2e .venv/bin/python -m pytest -q -s tests/e2e ;;
    docker) run_suite docker scripts/check_docker.sh ;;
    faults) run_suite faults .venv/bin/python -m pytest -q -rs tests/faults ;;
    fuzz)
      if ! .venv/bin/python -c 'import schemathesis' 2>/dev/null; then
        echo "[fuzz] installing schemathesis into .venv (PyPI)"
        .venv/bin/python -m pip install --quiet 'schemathesis>=4,<5' || { echo "run_tests: could not install schemathesis (pip install 'schemathesis>=4,<5')"; }
      fi
      run_suite fuzz .venv/bin/python -m pytest -q -s tests/fuzz tests/load ;;
    *) echo "run_tests: unknown suite '$suite' (lint, rust, python, web, docker, e2e, faults, fuzz)"; exit 2 ;;
  esac
done

echo
[ $failed -eq 0 ] || echo "failed suites: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]
