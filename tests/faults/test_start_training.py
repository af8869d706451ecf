"""./start_training.sh as a user runs it: Ctrl-C and the death of either process stop
both (the trainer checkpointing on the way out); a data folder of another game or a
busy port is refused before anything starts; `--speedrun` trains TicTacToe to perfect
play and stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tomllib
from pathlib import Path

import pytest

from conftest import ACTOR, ROOT, env, free_port, wait_until

SCRIPT = ROOT / "start_training.sh"


def processes_using(data: Path) -> dict[int, str]:
    """pid → command line of every process whose arguments name `data`."""
    found = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(data) in cmd and "start_training.sh" not in cmd:
            found[int(d.name)] = cmd
    return found


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return state == "Z"


_started: list[Script] = []


@pytest.fixture(autouse=True)
def _stop_leftovers():
    """Whatever a test leaves running when it fails (the script, its processes, their
    loggers) is killed, so one failure cannot leave a training run behind."""
    yield
    while _started:
        s = _started.pop()
        if s.popen.poll() is None:
            os.killpg(s.popen.pid, signal.SIGKILL)
            s.popen.wait(10)
        for pid in processes_using(s.data):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Script:
    def __init__(self, tmp: Path, *args: str):
        _started.append(self)
        self.data = tmp / "data"
        self.port, self.tport = free_port(), free_port()
        self.log = tmp / "start_training.out"
        # A session of its own, like a terminal's foreground job, so the test can send
        # Ctrl-C's SIGINT to the whole group.
        self.popen = subprocess.Popen(
            [
                str(SCRIPT),
                "--skip-setup",
                "--data-dir",
                str(self.data),
                "--port",
                str(self.port),
                "--trainer-port",
                str(self.tport),
                *args,
            ],
            stdout=open(self.log, "wb"),
            stderr=subprocess.STDOUT,
            env=env(),
            cwd=ROOT,
            start_new_session=True,
            # A shell cannot trap a signal it was started with ignored, and a runner that
            # starts the suite as a background job (no job control) ignores SIGINT: give
            # the script the default disposition a terminal gives it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )

    def out(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            for pid in processes_using(self.data):
                os.kill(pid, signal.SIGKILL)
            pytest.fail(f"start_training.sh did not exit within {timeout}s\n{self.out()[-4000:]}")


def start_training(tmp_path) -> Script:
    s = Script(
        tmp_path,
        "--actor-args",
        "--max-positions-per-s 3000",
        "--trainer-args",
        "--set min_positions=200 --set publish_interval=10 --set checkpoint_interval=1000000",
    )
    stats = s.data / "stats.json"
    wait_until(
        "the trainer's first steps",
        lambda: s.popen.poll() is None and stats.exists() and json.loads(stats.read_text())["step"] >= 5,
        120,
    )
    return s


def checkpoints(data: Path) -> list[Path]:
    return sorted((data / "checkpoints").glob("ckpt_*.pt"))


def test_ctrl_c_stops_both_and_the_trainer_checkpoints(tmp_path):
    s = start_training(tmp_path)
    children = processes_using(s.data)
    names = " ".join(children.values())
    assert str(ACTOR) in names and "trainer" in names, children
    assert checkpoints(s.data) == [], "checkpoint_interval is huge: no checkpoint before the stop"
    os.killpg(s.popen.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    assert s.wait(60) == 130
    for pid, cmd in children.items():
        assert gone(pid), f"still running after Ctrl-C: {pid} {cmd}"
    assert checkpoints(s.data), f"the trainer did not checkpoint on Ctrl-C\n{s.out()[-4000:]}"
    out = s.out()
    assert "stopping" in out
    # Logs went to the terminal and to DATA_DIR/logs, the last lines included.
    assert "[trainer]" in out and "[actor]" in out
    assert "checkpoint" in (s.data / "logs" / "trainer.log").read_text()
    assert "actor stopped" in (s.data / "logs" / "actor.log").read_text()


@pytest.mark.parametrize("victim", ["actor", "trainer"])
def test_death_of_one_stops_the_other(tmp_path, victim):
    s = start_training(tmp_path)
    children = processes_using(s.data)
    marker = f"{ACTOR} run" if victim == "actor" else "trainer train"
    target = [pid for pid, cmd in children.items() if marker in cmd]
    assert len(target) == 1, children
    os.kill(target[0], signal.SIGKILL)
    status = s.wait(60)
    assert status != 0
    for pid, cmd in children.items():
        assert gone(pid), f"still running after the {victim} died: {pid} {cmd}"
    assert "a process exited" in s.out()
    if victim == "actor":
        assert checkpoints(s.data), f"the trainer did not checkpoint when the actor died\n{s.out()[-4000:]}"


def test_data_folder_of_another_game_is_refused_before_starting(tmp_path):
    data = tmp_path / "data"
    r = subprocess.run(
        [str(ACTOR), "selfplay", "--no-model", "--game", "connect4", "--data-dir", str(data), "--max-games", "2"],
        capture_output=True,
        text=True,
        env=env(),
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    s = Script(tmp_path, "--game", "tictactoe")
    assert s.wait(30) != 0
    out = s.out()
    assert "connect4" in out and "--game connect4" in out and "--data-dir" in out, out
    assert not (data / "logs" / "actor.log").exists(), "nothing may start"
    assert processes_using(data) == {}


def test_unreadable_replay_db_is_refused_before_starting(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "replay.db").write_bytes(b"not a database at all" * 100)
    s = Script(tmp_path)
    assert s.wait(30) != 0
    out = s.out()
    assert "replay.db" in out and "move it away" in out.lower(), out
    assert not (data / "logs" / "actor.log").exists()


def test_busy_port_is_refused(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = sock.getsockname()[1]
        s = Script(tmp_path, "--port", str(busy))
        assert s.wait(30) != 0
    assert f"port {busy} is already in use" in s.out()


def test_unknown_game_and_a_speedrun_the_profile_does_not_allow_are_refused(tmp_path):
    """The games are the folders of games/ with a profile.toml, and --speedrun is for
    those whose profile sets [start] speedrun = true; both refusals name the choices."""
    profiles = {p.parent.name: tomllib.loads(p.read_text()) for p in (ROOT / "games").glob("*/profile.toml")}
    speedrun = sorted(g for g, prof in profiles.items() if prof.get("start", {}).get("speedrun") is True)
    others = sorted(set(profiles) - set(speedrun))
    assert speedrun and others, "the shipped profiles have games with and without a speedrun"

    def run(*args: str) -> subprocess.CompletedProcess:
        # A busy --port: a script that let the game through would stop at the port check
        # rather than start a training run.
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            return subprocess.run(
                [str(SCRIPT), "--skip-setup", "--data-dir", str(tmp_path / "data")]
                + ["--port", str(sock.getsockname()[1]), *args],
                capture_output=True,
                text=True,
                env=env(),
                cwd=ROOT,
                timeout=60,
            )

    def say_list(items: list[str]) -> str:  # as the script words a list: "a, b or c"
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]

    r = run("--game", "chess")
    assert r.returncode == 1
    assert f"unknown game 'chess': choose {say_list(sorted(profiles))} " in r.stderr, r.stderr
    r = run("--game", others[0], "--speedrun")
    assert r.returncode == 1
    assert f"--speedrun is not for {others[0]}" in r.stderr, r.stderr
    assert f"games/{others[0]}/profile.toml does not set [start] speedrun = true" in r.stderr
    assert f"It is for: {say_list(speedrun)}" in r.stderr, r.stderr
    assert not (tmp_path / "data").exists(), "nothing may start"
    r = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0
    assert f"Games (the folders of games/ with a profile.toml): {say_list(sorted(profiles))}\n" in r.stdout
    assert f"--speedrun ([start] speedrun = true in the profile): {say_list(speedrun)}\n" in r.stdout


def fake_path(tmp: Path, drop: set[str], fakes: dict[str, str]) -> str:
    """A PATH of symlinks to every real tool but those in `drop`, plus shell scripts
    standing in for others (to play an old version)."""
    bindir = tmp / "bin"
    bindir.mkdir()
    for d in reversed(os.environ["PATH"].split(":")):
        p = Path(d)
        if not p.is_dir():
            continue
        for tool in p.iterdir():
            if tool.name not in drop and tool.name not in fakes:
                link = bindir / tool.name
                if link.is_symlink():
                    link.unlink()
                link.symlink_to(tool)
    for name, text in fakes.items():
        f = bindir / name
        f.write_text(f"#!/bin/sh\necho '{text}'\n")
        f.chmod(0o755)
    return str(bindir)


@pytest.mark.parametrize(
    "drop, fakes, message",
    [
        ({"cargo", "rustc"}, {}, "Rust is not installed (cargo not found). Install it from https://rustup.rs"),
        (
            set(),
            {"rustc": "rustc 1.80.0 (abc 2024-07-21)"},
            "rustc 1.80.0 is too old; Cartridge needs rustc >= 1.92. Run: rustup update",
        ),
        (set(), {"node": "v18.19.0"}, "node 18.19.0 is too old; Cartridge needs node >= 20"),
        ({"node", "npm"}, {}, "Node.js is not installed. Install Node >= 20"),
    ],
)
def test_missing_or_old_prerequisites_are_named(tmp_path, drop, fakes, message):
    e = dict(env(), PATH=fake_path(tmp_path, drop, fakes))
    r = subprocess.run(
        [
            str(SCRIPT),
            "--data-dir",
            str(tmp_path / "data"),
            "--port",
            str(free_port()),
            "--trainer-port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        env=e,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode != 0
    assert message in r.stderr, r.stdout + r.stderr
    assert not (tmp_path / "data").exists(), "nothing may start"


def test_missing_onnx_runtime_is_named(tmp_path):
    def start(e):
        args = ["--skip-setup", "--data-dir", str(tmp_path / "data")]
        args += ["--port", str(free_port()), "--trainer-port", str(free_port())]
        return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=e, cwd=ROOT, timeout=60)

    e = dict(env(), ORT_DYLIB_PATH=str(tmp_path / "nowhere" / "libonnxruntime.so.1.31.1"))
    s = start(e)
    assert s.returncode != 0
    assert "ONNX Runtime is missing" in s.stderr and "pip install" in s.stderr, s.stderr
    old = tmp_path / "libonnxruntime.so.1.16.3"
    old.write_bytes(b"")
    e["ORT_DYLIB_PATH"] = str(old)
    s = start(e)
    assert s.returncode != 0
    assert "ONNX Runtime 1.16.3 is too old; the actor needs >= 1.22" in s.stderr, s.stderr


def test_speedrun_reaches_perfect_play_and_stops(tmp_path):
    """The real `--speedrun`, default settings: TicTacToe from nothing until the search
    errs on none of the 4520 decision positions. It takes about a minute on a quiet
    2-core machine; the limit leaves room for a busy one. The snapshot it names is
    checked again, independently, with `actor accuracy`."""
    s = Script(tmp_path, "--speedrun")
    assert s.wait(600) == 0, s.out()[-4000:]
    out = s.out()
    line = next((x for x in out.splitlines() if "speedrun: perfect play after" in x), None)
    assert line is not None, out[-4000:]
    assert "speedrun finished" in out
    snapshot = s.data / line.split("(")[1].split(";")[0]
    assert snapshot.is_file(), line
    for pid, cmd in processes_using(s.data).items():
        assert gone(pid), f"still running after the speedrun: {pid} {cmd}"
    r = subprocess.run(
        [str(ACTOR), "accuracy", "--game", "tictactoe", "--model", str(snapshot), "--seed", "1"],
        capture_output=True,
        text=True,
        env=env(),
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    search = [x.split() for x in r.stdout.splitlines() if x.startswith("all") and " search " in x]
    assert search and search[0][2:4] == ["4520", "0"], r.stdout
