#!/usr/bin/env bash
# Installs what Cartridge needs, idempotently: checks the toolchains, creates the
# Python venv with the trainer, builds the actor (release) and the web app.
#
#   scripts/setup.sh [--no-web] [--with-browser] [--with-lint]
#
# --with-browser also installs Debian's chromium for the browser tests; --with-lint the
# rustfmt and clippy components of the Rust toolchain for the lint suite (ruff comes
# with the trainer's test extra, svelte-check with the web app's packages).
# Each step is skipped when its inputs have not changed since it last ran, so calling
# this before every start costs a second or two.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

WEB=1
BROWSER=0
LINT=0
for arg in "$@"; do
  case "$arg" in
    --no-web) WEB=0 ;;
    --with-browser) BROWSER=1 ;;
    --with-lint) LINT=1 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

STAMPS="$ROOT/.venv/.stamps"
say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

# ---- prerequisites: say exactly what is missing ----
need_version() { # name, have, want (dotted), hint
  if ! printf '%s\n%s\n' "$3" "$2" | sort -V -C; then
    die "$1 $2 is too old; Cartridge needs $1 >= $3. $4"
  fi
}
command -v cargo >/dev/null || die "Rust is not installed (cargo not found). Install it from https://rustup.rs (Rust >= 1.92)."
need_version rustc "$(rustc --version | awk '{print $2}')" 1.92 "Run: rustup update"
PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null || die "Python 3 is not installed. Install Python >= 3.11 (Debian: apt install python3 python3-venv)."
need_version python "$("$PY" -c "import sys; print(\"%d.%d\" % sys.version_info[:2])")" 3.11 "Install Python >= 3.11."
"$PY" -c 'import venv, ensurepip' 2>/dev/null || die "Python's venv module is missing. Debian: apt install python3-venv"
if [ "$WEB" = 1 ]; then
  command -v node >/dev/null || die "Node.js is not installed. Install Node >= 20 (https://nodejs.org or your package manager)."
  need_version node "$(node --version | tr -d v)" 20 "Install Node >= 20."
  command -v npm >/dev/null || die "npm is not installed. It comes with Node.js >= 20."
fi

# fingerprint FILE...: a hash of the files' contents, to skip steps whose inputs are unchanged.
fingerprint() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
fresh() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp() { mkdir -p "$STAMPS"; echo "$2" > "$STAMPS/$1"; }

# ---- Python venv and the trainer ----
if [ ! -x .venv/bin/python ]; then
  say "creating the Python venv in .venv"
  "$PY" -m venv .venv
fi
# The stamp covers pyproject.toml (dependencies, package layout): a change there
# reinstalls into an existing .venv. The import check catches an install that points
# elsewhere, such as a venv made for an older layout of the package or another checkout.
FP_PY="$(fingerprint trainer/pyproject.toml)"
if ! fresh python "$FP_PY" \
  || ! .venv/bin/python -c 'import sys, trainer; sys.exit(trainer.__file__ != sys.argv[1])' \
    "$ROOT/trainer/src/trainer/__init__.py" 2>/dev/null; then
  say "installing the trainer and its packages into .venv (first time: a few minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e "trainer[test]"
  stamp python "$FP_PY"
fi
ORT_LIB="$(ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.* 2>/dev/null | head -n1 || true)"
[ -n "$ORT_LIB" ] || die "the ONNX Runtime library is missing from .venv (pip install onnxruntime failed?). Remove .venv and run again."

# ---- rustfmt and clippy for the lint suite ----
if [ "$LINT" = 1 ] && ! { cargo fmt --version && cargo clippy --version; } >/dev/null 2>&1; then
  if command -v rustup >/dev/null; then
    say "installing the rustfmt and clippy components (rustup component add rustfmt clippy)"
    rustup component add rustfmt clippy
  else
    # Not fatal: every other suite runs without them, and the lint suite says what is missing.
    say "warning: cargo fmt or cargo clippy is missing and there is no rustup to add them;" \
      "install rustfmt and clippy for your Rust (Debian: apt install rustfmt rust-clippy)"
  fi
fi

# ---- the actor (cargo keeps this incremental) ----
say "building the actor (cargo build --release)"
cargo build --release --quiet -p actor

# ---- the web app ----
if [ "$WEB" = 1 ]; then
  FP_NPM="$(fingerprint web/package-lock.json)"
  if [ ! -d web/node_modules ] || ! fresh npm "$FP_NPM"; then
    say "installing the web app's packages (npm ci)"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
    stamp npm "$FP_NPM"
  fi
  FP_WEB="$(find web/src web/index.html web/package-lock.json web/vite.config.* web/svelte.config.* web/tsconfig*.json -type f 2>/dev/null | sort | xargs cat 2>/dev/null | sha256sum | cut -c1-16)"
  if [ ! -f web/dist/index.html ] || ! fresh web "$FP_WEB"; then
    say "building the web app (npm run build)"
    (cd web && npm run --silent build >/dev/null)
    stamp web "$FP_WEB"
  fi
fi

# ---- Chromium for the browser tests (Debian's package; never a browser download) ----
if [ "$BROWSER" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium for the browser tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq || die "apt-get update failed; install chromium yourself (apt install chromium)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null \
    || die "could not install chromium; install it yourself (apt install chromium)"
fi
say "ready"
