"""Starts the real actor and trainer on a temporary data folder for the end-to-end tests.

The binaries are the ones `scripts/setup.sh` builds: `target/release/actor` and
`.venv/bin/trainer`. Each test module gets its own data folder and free ports, so a
running `./start_training.sh` on the default ports does not interfere.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ACTOR = ROOT / "target" / "release" / "actor"
TRAINER = ROOT / ".venv" / "bin" / "trainer"


def ort_lib() -> str:
    found = sorted(glob.glob(str(ROOT / ".venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.*")))
    assert found, "ONNX Runtime library missing from .venv: run scripts/setup.sh"
    return found[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body=None, timeout: float = 30) -> tuple[int, dict]:
    """One JSON request; (status, json) for any status, so tests can check 4xx answers
    (a body that is not JSON comes back as {"raw": text})."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, {"raw": raw.decode(errors="replace")}


def raw_request(port: int, target: str, method: str = "GET", body: bytes = b"", headers: str = "") -> tuple[int, bytes]:
    """Sends one request with `target` verbatim; returns (status, body). A server may
    answer a body it refuses (413) and close before the body is all sent: the answer is
    read all the same, so the test sees the status rather than a broken pipe."""
    req = (
        f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(req)
        data = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := s.recv(65536):
                data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head, f"no answer to {method} {target}"
    return int(head.split()[1]), rest


@dataclass
class Proc:
    name: str
    args: list[str]
    log: Path
    env: dict[str, str]
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        self.popen = subprocess.Popen(
            self.args, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, env=self.env, cwd=ROOT
        )

    def stop(self, sig: str = "term", timeout: float = 20) -> int | None:
        if self.popen is None or self.popen.poll() is not None:
            return self.popen.returncode if self.popen else None
        if sig == "kill":
            self.popen.kill()
        else:
            self.popen.terminate()
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait(5)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return "(no log)"


@dataclass
class System:
    data: Path
    actor_port: int
    trainer_port: int
    actor: Proc
    trainer: Proc
    game: str
    extra: dict = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.actor_port}"

    def get(self, path: str, timeout: float = 30):
        with urllib.request.urlopen(self.base + path, timeout=timeout) as r:
            return json.loads(r.read())

    def post(self, path: str, body, timeout: float = 60):
        """Returns (status, json) for any status, so tests can check 4xx answers."""
        return http("POST", self.base + path, body, timeout)

    def logs(self) -> str:
        return f"--- actor log ---\n{self.actor.tail()}\n--- trainer log ---\n{self.trainer.tail()}"

    def wait_for(self, what: str, check, timeout: float):
        """Polls `check()` until it returns something truthy; fails with both logs."""
        deadline = time.monotonic() + timeout
        last_err = None
        while time.monotonic() < deadline:
            for p in (self.actor, self.trainer):
                if p.popen is not None and not p.alive():
                    pytest.fail(f"{p.name} exited with {p.popen.returncode} while waiting for {what}\n{self.logs()}")
            try:
                got = check()
                if got:
                    return got
            except Exception as e:  # the server may not be up yet
                last_err = e
            time.sleep(0.5)
        pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_err})\n{self.logs()}")


def make_system(tmp: Path, game: str, trainer_sets: list[str], actor_args: list[str] | None = None) -> System:
    data = tmp / "data"
    data.mkdir(parents=True, exist_ok=True)
    aport, tport = free_port(), free_port()
    env = dict(os.environ, ORT_DYLIB_PATH=ort_lib(), PYTHONUNBUFFERED="1")
    actor = Proc(
        "actor",
        [
            str(ACTOR),
            "run",
            "--game",
            game,
            "--data-dir",
            str(data),
            "--port",
            str(aport),
            "--trainer-url",
            f"http://127.0.0.1:{tport}",
            "--web-dir",
            str(ROOT / "web" / "dist"),
            *(actor_args or []),
        ],
        tmp / "actor.log",
        env,
    )
    sets: list[str] = []
    for s in trainer_sets:
        sets += ["--set", s]
    trainer = Proc(
        "trainer",
        [str(TRAINER), "train", "--game", game, "--data-dir", str(data), "--control-port", str(tport), *sets],
        tmp / "trainer.log",
        env,
    )
    return System(data, aport, tport, actor, trainer, game)


@contextlib.contextmanager
def running(system: System):
    """Starts the actor and the trainer, and stops both (printing their logs) afterwards."""
    system.actor.start()
    system.trainer.start()
    try:
        yield system
    finally:
        system.trainer.stop()
        system.actor.stop()
        print(system.logs())
