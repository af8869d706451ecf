#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine, then runs every suite:
#
#   ./run_tests.sh            all suites
#   ./run_tests.sh rust python web e2e   a selection
#
# Suites: rust (cargo test), python (the trainer's pytest), web (svelte-check and
# Vitest), e2e (the real actor and trainer on a temporary data folder, the move API,
# and the browser tests in Debian's Chromium), docker (docker-compose.yml validated
# with `docker-compose config`, the Dockerfiles linted with hadolint; no Docker engine
# is needed).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || SUITES=(rust python web docker e2e)

scripts/setup.sh --with-browser || { echo "run_tests: setup failed"; exit 1; }
ORT_DYLIB_PATH="$(ls "$ROOT"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.* | head -n1)"
export ORT_DYLIB_PATH

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

for suite in "${SUITES[@]}"; do
  case "$suite" in
    rust) run_suite rust cargo test --workspace ;;
    python) run_suite python bash -c "cd trainer && ../.venv/bin/python -m pytest -q" ;;
    web) run_suite web bash -c 'cd web && npm run --silent check && npm test --silent' ;;
    e2e) run_suite e2e .venv/bin/python -m pytest -q -s tests/e2e ;;
    docker) run_suite docker scripts/check_docker.sh ;;
    *) echo "run_tests: unknown suite '$suite' (rust, python, web, docker, e2e)"; exit 2 ;;
  esac
done

echo
[ $failed -eq 0 ] || echo "failed suites: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]
