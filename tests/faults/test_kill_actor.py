"""kill -9 the actor again and again while it writes games: replay.db stays intact,
the committed game count never goes down, and self-play resumes on restart."""

from __future__ import annotations

import random
import time

from conftest import actor_proc, check_db, game_count, wait_until


def test_kill_9_while_writing_games(tmp_path, procs):
    data = tmp_path / "data"
    db = data / "replay.db"
    rng = random.Random(7)
    # No model: uniform priors play thousands of games a second, so every kill lands
    # in the middle of a stream of commits.
    seen = 0
    for round_ in range(8):
        a = actor_proc(tmp_path, data, "--no-model", name=f"actor{round_}")
        procs.append(a)
        a.start()
        before = seen
        seen = wait_until(
            f"games past {before} after restart {round_}",
            lambda before=before: (n := game_count(db)) > before and n,
            30,
            (a,),
        )
        # Kill at a random point of the write stream.
        time.sleep(rng.uniform(0.05, 0.6))
        a.stop("kill")
        assert a.popen.returncode == -9
        games, positions = check_db(db)
        assert games >= seen, f"round {round_}: {games} games after the kill, {seen} were seen committed"
        assert positions >= games
        seen = games
    assert seen > 100, "self-play wrote too little to have been killed mid-stream"
