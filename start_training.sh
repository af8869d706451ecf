#!/usr/bin/env bash
# Cartridge: set up what is missing, then train a game by self-play and serve the app.
#
# Usage: ./start_training.sh [both|actor|trainer] [options]
#
#   both      (default) run the actor and the trainer together, logs prefixed
#   actor     only the actor: self-play, the HTTP server and the web app
#   trainer   only the trainer (run the actor in another terminal)
#
# Options:
#   --game NAME          tictactoe (default), connect4 or othello
#   --data-dir DIR       the run's data folder (default: data); one folder = one game
#   --port N             the actor's HTTP port (default 8080)
#   --trainer-port N     the trainer's control API port (default 8081)
#   --host ADDR          address the actor listens on (default 127.0.0.1; anything
#                        else exposes the app to your network)
#   --actor-args "..."   extra arguments for `actor run` (see: target/release/actor run --help)
#   --trainer-args "..." extra arguments for `trainer train` (see: .venv/bin/trainer train --help)
#   --skip-setup         do not check/install/build first
#   -h, --help           this text
#
# First run on a fresh clone installs the Python venv (.venv, with PyTorch), builds
# the actor (cargo build --release) and the web app (npm ci, npm run build): a few
# minutes. Then open http://localhost:8080. Ctrl-C stops both processes cleanly; the
# trainer checkpoints on the way out and both resume where they left off next time.
# Logs go to the terminal and to DATA_DIR/logs/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

MODE=both
GAME=tictactoe
DATA_DIR=data
PORT=8080
TRAINER_PORT=8081
HOST=127.0.0.1
ACTOR_ARGS=""
TRAINER_ARGS=""
SETUP=1

usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; }
die() { printf 'start_training: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    both|actor|trainer) MODE="$1" ;;
    --game) GAME="${2:?--game needs a name}"; shift ;;
    --game=*) GAME="${1#*=}" ;;
    --data-dir) DATA_DIR="${2:?--data-dir needs a folder}"; shift ;;
    --data-dir=*) DATA_DIR="${1#*=}" ;;
    --port) PORT="${2:?--port needs a number}"; shift ;;
    --port=*) PORT="${1#*=}" ;;
    --trainer-port) TRAINER_PORT="${2:?--trainer-port needs a number}"; shift ;;
    --trainer-port=*) TRAINER_PORT="${1#*=}" ;;
    --host) HOST="${2:?--host needs an address}"; shift ;;
    --host=*) HOST="${1#*=}" ;;
    --actor-args) ACTOR_ARGS="${2?}"; shift ;;
    --trainer-args) TRAINER_ARGS="${2?}"; shift ;;
    --skip-setup) SETUP=0 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

case "$GAME" in tictactoe|connect4|othello) ;; *) die "unknown game '$GAME': choose tictactoe, connect4 or othello" ;; esac
for p in "$PORT" "$TRAINER_PORT"; do
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "not a port number: $p"
done

if [ "$SETUP" = 1 ]; then
  if [ "$MODE" = trainer ]; then scripts/setup.sh --no-web; else scripts/setup.sh; fi
fi

ACTOR_BIN="$ROOT/target/release/actor"
TRAINER_BIN="$ROOT/.venv/bin/trainer"
[ -x "$ACTOR_BIN" ] || [ "$MODE" = trainer ] || die "the actor is not built; run without --skip-setup"
[ -x "$TRAINER_BIN" ] || [ "$MODE" = actor ] || die "the trainer is not installed; run without --skip-setup"
ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(ls "$ROOT"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.* 2>/dev/null | head -n1 || true)}"
export ORT_DYLIB_PATH

# A port already taken would make one process fail after the other started.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ "$MODE" != trainer ] && port_busy "$PORT"; then
  die "port $PORT is already in use (another Cartridge?). Stop it or pass --port N."
fi
if [ "$MODE" != actor ] && port_busy "$TRAINER_PORT"; then
  die "port $TRAINER_PORT is already in use. Stop what uses it or pass --trainer-port N."
fi

mkdir -p "$DATA_DIR/logs"
# prefix NAME: label each line and append it to DATA_DIR/logs/NAME.log as well.
prefix() { sed -u "s/^/[$1] /" | tee -a "$DATA_DIR/logs/$1.log"; }

PIDS=()
start_actor() {
  # shellcheck disable=SC2086
  "$ACTOR_BIN" run --game "$GAME" --data-dir "$DATA_DIR" --host "$HOST" --port "$PORT" \
    --trainer-url "http://127.0.0.1:$TRAINER_PORT" $ACTOR_ARGS > >(prefix actor) 2>&1 &
  PIDS+=($!)
}
start_trainer() {
  # shellcheck disable=SC2086
  "$TRAINER_BIN" train --game "$GAME" --data-dir "$DATA_DIR" --control-port "$TRAINER_PORT" \
    $TRAINER_ARGS > >(prefix trainer) 2>&1 &
  PIDS+=($!)
}

stop_all() {
  trap - INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # The trainer writes a checkpoint on SIGTERM; give it time before insisting.
  for _ in $(seq 1 100); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap 'echo; echo "start_training: stopping..."; stop_all; exit 130' INT TERM

case "$MODE" in
  both) start_actor; start_trainer ;;
  actor) start_actor ;;
  trainer) start_trainer ;;
esac
if [ "$MODE" != trainer ]; then
  echo "start_training: training $GAME in $DATA_DIR; open http://localhost:$PORT (Ctrl-C stops)"
fi

# When either process ends, stop the other: half a system would only fill the log.
set +e
wait -n "${PIDS[@]}"
status=$?
set -e
echo "start_training: a process exited (status $status); stopping the rest"
stop_all
exit "$status"
