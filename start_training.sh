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
#   --game NAME          tictactoe (default), or another game of games/ (listed below)
#   --data-dir DIR       the run's data folder (default: data); one folder = one game
#   --port N             the actor's HTTP port (default 8080)
#   --trainer-port N     the trainer's control API port (default 8081)
#   --host ADDR          address the actor listens on (default 127.0.0.1; anything
#                        else exposes the app to your network)
#   --actor-args "..."   extra arguments for `actor run` (see: target/release/actor run --help)
#   --trainer-args "..." extra arguments for `trainer train` (see: .venv/bin/trainer train --help)
#   --skip-setup         do not check/install/build first
#   --speedrun           train from nothing until the full search makes no error on any
#                        decision position (TicTacToe: all 4520), then stop and print the
#                        time; for the games listed below (uses a new folder under
#                        data-speedrun/ unless --data-dir is given, which must then be
#                        empty; gives up after 30 minutes)
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
SPEEDRUN=0
DATA_DIR_GIVEN=0

die() { printf 'start_training: %s\n' "$*" >&2; exit 1; }

# The games are the folders of games/ that hold a profile.toml (games/README.md).
GAMES_DIR="$ROOT/games"
GAMES=()
for profile in "$GAMES_DIR"/*/profile.toml; do
  [ -f "$profile" ] && GAMES+=("$(basename "$(dirname "$profile")")")
done
say_list() { # a b c -> "a, b or c"
  [ $# -gt 0 ] || { echo none; return; }
  local out="$1"; shift
  while [ $# -gt 1 ]; do out+=", $1"; shift; done
  [ $# -eq 0 ] || out+=" or $1"
  echo "$out"
}
# speedrun_allowed GAME: its profile's [start] table says speedrun = true. Read with
# tomllib when a Python >= 3.11 is there (the venv's first), else the line itself.
speedrun_allowed() {
  local profile="$GAMES_DIR/$1/profile.toml" py="$ROOT/.venv/bin/python" answer
  [ -x "$py" ] || py=python3
  if command -v "$py" >/dev/null && "$py" -c 'import tomllib' 2>/dev/null; then
    answer="$("$py" - "$profile" <<'PYEOF' 2>&1
import sys, tomllib
try:
    with open(sys.argv[1], "rb") as f:
        start = tomllib.load(f).get("start", {})
except (OSError, tomllib.TOMLDecodeError) as e:
    print(f"error: {sys.argv[1]}: {e}")
else:
    print("yes" if isinstance(start, dict) and start.get("speedrun") is True else "no")
PYEOF
)"
    case "$answer" in
      yes) return 0 ;;
      no) return 1 ;;
      *) die "cannot read the game profile: ${answer#error: }" ;;
    esac
  fi
  sed -n '/^\[start\]/,/^\[/p' "$profile" | grep -Eq '^[[:space:]]*speedrun[[:space:]]*=[[:space:]]*true([[:space:]]|#|$)'
}
usage() {
  sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'
  local g speedrun=()
  for g in "${GAMES[@]}"; do speedrun_allowed "$g" && speedrun+=("$g"); done
  echo
  echo "Games (the folders of games/ with a profile.toml): $(say_list "${GAMES[@]}")"
  echo "--speedrun ([start] speedrun = true in the profile): $(say_list "${speedrun[@]}")"
}

while [ $# -gt 0 ]; do
  case "$1" in
    both|actor|trainer) MODE="$1" ;;
    --game) GAME="${2:?--game needs a name}"; shift ;;
    --game=*) GAME="${1#*=}" ;;
    --data-dir) DATA_DIR="${2:?--data-dir needs a folder}"; DATA_DIR_GIVEN=1; shift ;;
    --data-dir=*) DATA_DIR="${1#*=}"; DATA_DIR_GIVEN=1 ;;
    --port) PORT="${2:?--port needs a number}"; shift ;;
    --port=*) PORT="${1#*=}" ;;
    --trainer-port) TRAINER_PORT="${2:?--trainer-port needs a number}"; shift ;;
    --trainer-port=*) TRAINER_PORT="${1#*=}" ;;
    --host) HOST="${2:?--host needs an address}"; shift ;;
    --host=*) HOST="${1#*=}" ;;
    --actor-args) ACTOR_ARGS="${2?}"; shift ;;
    --trainer-args) TRAINER_ARGS="${2?}"; shift ;;
    --skip-setup) SETUP=0 ;;
    --speedrun) SPEEDRUN=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

[ -f "$GAMES_DIR/$GAME/profile.toml" ] \
  || die "unknown game '$GAME': choose $(say_list "${GAMES[@]}") (the folders of $GAMES_DIR with a profile.toml)"
if [ "$SPEEDRUN" = 1 ]; then
  # A speedrun needs perfect play measured over every position, which the profile
  # promises with [start] speedrun = true; and only a run that starts from nothing
  # measures the time to get there.
  if ! speedrun_allowed "$GAME"; then
    SPEEDRUN_GAMES=()
    for g in "${GAMES[@]}"; do speedrun_allowed "$g" && SPEEDRUN_GAMES+=("$g"); done
    die "--speedrun is not for $GAME: it needs perfect play measured over all of a game's positions, and games/$GAME/profile.toml does not set [start] speedrun = true. It is for: $(say_list "${SPEEDRUN_GAMES[@]}")"
  fi
  [ "$MODE" = both ] || die "--speedrun runs both processes"
  if [ "$DATA_DIR_GIVEN" = 1 ]; then
    [ -z "$(ls -A "$DATA_DIR" 2>/dev/null)" ] || die "--speedrun starts from nothing: $DATA_DIR is not empty"
  else
    DATA_DIR="data-speedrun/$(date +%Y%m%d-%H%M%S)"
  fi
fi
for p in "$PORT" "$TRAINER_PORT"; do
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "not a port number: $p"
done

if [ "$SETUP" = 1 ]; then
  if [ "$MODE" = trainer ]; then scripts/setup.sh --no-web; else scripts/setup.sh; fi
fi

ACTOR_BIN="$ROOT/target/release/actor"
TRAINER_BIN="$ROOT/.venv/bin/trainer"
[ -x "$ACTOR_BIN" ] || [ "$MODE" = trainer ] || die "the actor is not built (no $ACTOR_BIN); run without --skip-setup, or: cargo build --release -p actor"
[ -x "$TRAINER_BIN" ] || [ "$MODE" = actor ] || die "the trainer is not installed (no $TRAINER_BIN); run without --skip-setup, or: scripts/setup.sh --no-web"
ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(ls "$ROOT"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.* 2>/dev/null | sort -V | tail -n1 || true)}"
export ORT_DYLIB_PATH
if [ "$MODE" != trainer ]; then
  # The actor loads ONNX Runtime at run time; say what to do here rather than after start.
  [ -n "$ORT_DYLIB_PATH" ] && [ -f "$ORT_DYLIB_PATH" ] \
    || die "ONNX Runtime is missing (no libonnxruntime.so.1.* in .venv). Run without --skip-setup, or: .venv/bin/pip install 'onnxruntime>=1.22'"
  ort_version="${ORT_DYLIB_PATH##*/libonnxruntime.so.}"
  if [[ "$ort_version" =~ ^[0-9]+\.[0-9]+ ]] && ! printf '1.22\n%s\n' "$ort_version" | sort -V -C; then
    die "ONNX Runtime $ort_version is too old; the actor needs >= 1.22. Run: .venv/bin/pip install -U 'onnxruntime>=1.22'"
  fi
fi

# One data folder is one game: refuse another game's folder here, before anything
# starts, rather than letting one process stop while the other runs on.
PY="$ROOT/.venv/bin/python"; [ -x "$PY" ] || PY=python3
if [ -f "$DATA_DIR/replay.db" ] && command -v "$PY" >/dev/null; then
  found="$("$PY" - "$DATA_DIR/replay.db" <<'PYEOF' 2>&1 || true
import sqlite3, sys
try:
    c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=10)
    print("game=" + dict(c.execute("SELECT key, value FROM meta")).get("game", ""))
except sqlite3.DatabaseError as e:  # not a database, malformed, no meta table
    print(f"bad={e}")
except sqlite3.Error as e:  # cannot open (permissions): the actor will say more
    print(f"unknown={e}")
PYEOF
)"
  case "$found" in
    game="$GAME") ;;
    game=?*)
      other="${found#game=}"
      die "$DATA_DIR holds a $other run, not $GAME (one data folder is one game).
  To resume it:            ./start_training.sh --game $other --data-dir $DATA_DIR
  To train $GAME instead:  ./start_training.sh --game $GAME --data-dir data-$GAME" ;;
    bad=*)
      die "$DATA_DIR/replay.db is not a readable replay database (${found#bad=}).
  Move it away to start a new replay buffer (checkpoints and models are kept):
    mv $DATA_DIR/replay.db $DATA_DIR/replay.db.broken
  or salvage what it holds first:  sqlite3 $DATA_DIR/replay.db.broken .recover | sqlite3 $DATA_DIR/replay.db" ;;
    *) echo "start_training: note: could not read $DATA_DIR/replay.db (${found#*=}); the actor will check it" >&2 ;;
  esac
fi

# A port already taken would make one process fail after the other started.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ "$MODE" != trainer ] && port_busy "$PORT"; then
  die "port $PORT is already in use (another Cartridge?). Stop it or pass --port N."
fi
if [ "$MODE" != actor ] && port_busy "$TRAINER_PORT"; then
  die "port $TRAINER_PORT is already in use. Stop what uses it or pass --trainer-port N."
fi

if [ "$HOST" != 127.0.0.1 ] && [ "$HOST" != ::1 ] && [ "$HOST" != localhost ]; then
  echo "start_training: WARNING: --host $HOST exposes the app (play, replays, the trainer's settings) to your network, without authentication" >&2
fi

mkdir -p "$DATA_DIR/logs"
# prefix NAME: label each line and append it to DATA_DIR/logs/NAME.log as well. It
# ignores Ctrl-C, which a terminal sends to the whole foreground group: the logger must
# outlive the processes it records, or their last lines (the trainer's checkpoint) are
# lost and their next write dies on a broken pipe. It ends when their output does.
prefix() { trap '' INT TERM HUP; sed -u "s/^/[$1] /" | tee -a "$DATA_DIR/logs/$1.log"; }

# The processes run in sessions of their own, so a Ctrl-C reaches only this script,
# which then stops them once, in order, with SIGTERM. (Given the terminal's SIGINT as
# well, the trainer would take our SIGTERM for a second Ctrl-C and skip its checkpoint.)
SETSID=""; command -v setsid >/dev/null && SETSID=setsid

PIDS=()
start_actor() {
  # shellcheck disable=SC2086
  $SETSID "$ACTOR_BIN" run --game "$GAME" --data-dir "$DATA_DIR" --host "$HOST" --port "$PORT" \
    --trainer-url "http://127.0.0.1:$TRAINER_PORT" $ACTOR_ARGS > >(prefix actor) 2>&1 &
  PIDS+=($!)
}
start_trainer() {
  # shellcheck disable=SC2086
  $SETSID "$TRAINER_BIN" train --game "$GAME" --data-dir "$DATA_DIR" --control-port "$TRAINER_PORT" \
    $TRAINER_ARGS > >(prefix trainer) 2>&1 &
  PIDS+=($!)
}

kill_all() { for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done; }
stop_all() {
  # A second Ctrl-C while stopping means "now": kill both rather than leave them behind.
  trap 'echo "start_training: killing"; kill_all; exit 130' INT TERM HUP
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # The trainer finishes its step and writes a checkpoint on SIGTERM; give it time
  # (a large model on a slow disk) before insisting.
  for _ in $(seq 1 300); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  kill_all
  wait 2>/dev/null || true
}
trap 'echo; echo "start_training: stopping (the trainer checkpoints first; Ctrl-C again to kill)..."; stop_all; exit 130' INT TERM HUP

case "$MODE" in
  both) start_actor; start_trainer ;;
  actor) start_actor ;;
  trainer) start_trainer ;;
esac
if [ "$MODE" != trainer ]; then
  echo "start_training: training $GAME in $DATA_DIR; open http://localhost:$PORT (Ctrl-C stops)"
fi

if [ "$SPEEDRUN" = 1 ]; then
  # The watcher ends the run: 0 once the evaluator reports perfect play.
  .venv/bin/python scripts/speedrun_watch.py --url "http://127.0.0.1:$PORT" --started "$(date +%s)" --timeout 1800 &
  WATCH=$!
fi

# When either process ends, stop the other: half a system would only fill the log.
set +e
wait -n "${PIDS[@]}" ${WATCH:+"$WATCH"}
status=$?
set -e
if [ "$SPEEDRUN" = 1 ] && ! kill -0 "$WATCH" 2>/dev/null; then
  echo "start_training: speedrun finished (status $status); stopping; the run is in $DATA_DIR"
else
  echo "start_training: a process exited (status $status); stopping the rest"
  [ "$SPEEDRUN" = 1 ] && kill "$WATCH" 2>/dev/null
fi
stop_all
exit "$status"
