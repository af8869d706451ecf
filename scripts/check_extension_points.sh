#!/usr/bin/env bash
# Checks what adding a game and adding a search algorithm touch, on a scratch copy of
# the current commit (nothing here is changed):
#
#   scripts/check_extension_points.sh
#
# In a temporary git worktree it adds
#   - a game `mini` (TicTacToe's rules under another name): its rules file, one line in
#     the games! list and its profile folder, nothing else;
#   - a search `puct2` (a copy of PUCT with flags of its own): its file and one line in
#     the searches! list, nothing else;
# then builds the actor (its own target folder, a few minutes the first time) and runs
# every command that takes a game or a search with them, and the trainer's and the
# start script's game lists. Prints the files the change touched and exits non-zero if
# any step fails. docs/ARCHITECTURE.md records its result.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WT="$(mktemp -d /tmp/cartridge-extension.XXXXXX)"
TARGET="${EXTENSION_CHECK_TARGET:-$ROOT/target/extension-check}"
DATA="$(mktemp -d /tmp/cartridge-extension-data.XXXXXX)"
cleanup() { git -C "$ROOT" worktree remove --force "$WT" >/dev/null 2>&1 || rm -rf "$WT"; rm -rf "$DATA"; }
trap cleanup EXIT
say() { printf '[extension-check] %s\n' "$*"; }

git -C "$ROOT" worktree add --quiet --detach "$WT" HEAD
cd "$WT"

# A game: rules file, one line in the list, a profile.
sed -e 's/TicTacToe/Mini/g; s/"tictactoe"/"mini"/; s/tictactoe::/mini::/g' \
  engine-rust/engine-core/src/tictactoe.rs > engine-rust/engine-core/src/mini.rs
sed -i 's/^    Othello => othello::Othello,$/&\n    Mini => mini::Mini,/' engine-rust/engine-core/src/lib.rs
mkdir games/mini
sed -e 's/^name = "tictactoe"/name = "mini"/; s/^display_name = "TicTacToe"/display_name = "Mini"/' \
  games/tictactoe/profile.toml > games/mini/profile.toml

# A search: its file (flags with names of their own), one line in the list.
python3 - <<'EOF'
import re
s = open("actor/src/search/puct.rs").read()
s = s[: s.index("#[cfg(test)]")]
s = s.replace("pub struct Puct;", "pub struct Puct2;").replace("impl SearchAlgorithm for Puct {", "impl SearchAlgorithm for Puct2 {")
s = s.replace("PuctArgs", "Puct2Args")
a = s.index("pub struct Puct2Args {")
b = s.index("}", a)
block = s[a:b]
for old, new in [("c_puct", "c2"), ("dirichlet_alpha", "alpha2"), ("dirichlet_epsilon", "eps2"), ("fpu_reduction", "fpu2"), ("solver", "solver2")]:
    block = block.replace(f"pub {old}:", f"pub {new}:")
    s = s.replace(f"a.{old}", f"a.{new}")
s = s[:a] + block + s[b:]
open("actor/src/search/puct2.rs", "w").write(s)
EOF
sed -i 's/^    "puct" => Puct(puct::Puct),$/&\n    "puct2" => Puct2(puct2::Puct2),/' actor/src/search/mod.rs

say "files the change touched:"
git status --short | sed 's/^/    /'
changed="$(git status --short | wc -l)"
[ "$changed" -eq 5 ] || { say "expected 5 changed paths (2 new files, 2 one-line edits, 1 profile folder), got $changed"; exit 1; }
[ "$(git diff --numstat | awk '{s += $1 + $2} END {print s}')" -eq 2 ] || { say "the edits to tracked files are not two added lines"; git diff; exit 1; }

say "building the actor into $TARGET"
CARGO_TARGET_DIR="$TARGET" cargo build --release --quiet -p actor
A="$TARGET/release/actor"

say "actor games"
out="$("$A" games)"
grep -E '^mini +9 ' <<<"$out" || { say "actor games does not list mini"; exit 1; }
say "self-play of mini with --search puct2"
out="$("$A" selfplay --game mini --no-model --max-games 20 --data-dir "$DATA/mini" --search puct2 --c2 2.0 2>&1)"
grep -E 'actor stopped games=20 ' <<<"$out" || { say "self-play failed: $out"; exit 1; }
say "arena of mini with --search puct2"
out="$("$A" arena --game mini --a mcts:50 --b random --games 20 --search puct2 --seed 1)"
grep -E '^A: ' <<<"$out" || { say "arena failed: $out"; exit 1; }
say "terminal play of mini with --search puct2"
out="$(printf 'b2\nquit\n' | "$A" play --game mini --model none --search puct2 --sims 30)"
grep 'puct2 search with 30 simulations' <<<"$out" || { say "play failed: $out"; exit 1; }
say "accuracy of mini (its 'solve' benchmark) refuses a missing model with the reason"
out="$("$A" accuracy --game mini --model "$DATA/none.onnx" 2>&1 || true)"
grep 'does not exist' <<<"$out" || { say "accuracy did not reach the model check: $out"; exit 1; }

PY="$ROOT/.venv/bin/python"
if [ -x "$PY" ]; then
  say "the trainer's games"
  CARTRIDGE_GAMES_DIR="$WT/games" "$PY" -c "
from trainer.config import build_config, known_games
assert 'mini' in known_games(), known_games()
print('    trainer games:', known_games(), '; mini model:', build_config('mini', {}).model)"
fi
say "the start script's games"
out="$(./start_training.sh --help)"
grep 'mini' <<<"$out" || { say "start_training.sh --help does not offer mini"; exit 1; }
say "ok: a game is its rules file + one line + its profile; a search is its file + one line"
