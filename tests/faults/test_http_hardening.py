"""The actor's HTTP server against hostile requests: path traversal through the static
and replay routes, the trainer proxy used as an open proxy, oversized bodies, absurd
simulation counts, and a public --host. Requests go over raw sockets so the paths reach
the server exactly as written (HTTP clients normalise `..` away)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import actor_proc, http, wait_until
from conftest import raw_request as raw

SECRET = "TOPSECRET-not-for-the-web"


class Recorder(BaseHTTPRequestHandler):
    """A stand-in HTTP server that records every path it is asked for."""

    seen: list[str]

    def _answer(self):
        self.seen.append(self.path)
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, *a):
        pass


def recorder() -> tuple[ThreadingHTTPServer, list[str]]:
    seen: list[str] = []
    handler = type("R", (Recorder,), {"seen": seen})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, seen


@pytest.fixture
def actor(tmp_path, procs):
    web = tmp_path / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<html>app</html>")
    (web / "assets" / "a.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text(SECRET)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "secret.txt").write_text(SECRET)
    trainer, trainer_seen = recorder()
    evil, evil_seen = recorder()
    a = actor_proc(
        tmp_path, tmp_path / "data", "--no-model", "--max-positions-per-s", "500", "--max-simulations", "2000"
    )
    # The trainer URL carries a path prefix: the proxy must not climb out of it either.
    a.args[a.args.index("--trainer-url") + 1] = f"http://127.0.0.1:{trainer.server_port}/base"
    a.args[a.args.index("--web-dir") + 1] = str(web)
    procs.append(a)
    a.start()
    wait_until("the server", lambda: http("GET", f"http://127.0.0.1:{a.port}/api/health")[0] == 200, 30, (a,))
    yield a, trainer_seen, evil.server_port, evil_seen
    trainer.shutdown()
    evil.shutdown()


TRAVERSALS = [
    "/../secret.txt",
    "/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/%2e%2e/secret.txt",
    "/assets/../../secret.txt",
    "/assets/%2e%2e/%2e%2e/secret.txt",
    "/assets/..%2f..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/..%5csecret.txt",
    "/assets/..\\..\\secret.txt",
    "//etc/passwd",
    "/etc/passwd",
    "/%2fetc%2fpasswd",
    "/assets/%2f%2fetc/passwd",
    "/..%252fsecret.txt",
    "/data/secret.txt",
    "/..;/secret.txt",
    "http://127.0.0.1/../secret.txt",
    "/%00/../secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_no_path_traversal_through_static_files(actor, target):
    a, *_ = actor
    status, body = raw(a.port, target)
    assert SECRET.encode() not in body and b"root:x:0:0" not in body, (target, status, body[:200])
    # Either the app itself (SPA fallback) or a refusal: never a file from outside web/.
    assert status in (200, 400, 404), (target, status)
    if status == 200:
        assert body == b"<html>app</html>", (target, body[:200])
    assert a.alive()


@pytest.mark.parametrize(
    "target",
    [
        "/api/replays/..%2f..%2fsecret.txt",
        "/api/replays/%2e%2e",
        "/api/replays/../../secret.txt",
        "/api/replays/1%2f..%2f..%2fsecret.txt",
        "/api/replays//etc/passwd",
        "/api/replays/-1",
        "/api/replays/99999999999999999999999",
        "/api/replays?limit=1%20OR%201=1",
    ],
)
def test_no_path_traversal_through_replays(actor, target):
    a, *_ = actor
    status, body = raw(a.port, target)
    assert SECRET.encode() not in body and b"root:x:0:0" not in body
    assert 400 <= status < 500 or body == b"<html>app</html>", (target, status, body[:200])
    if status >= 400:
        assert "error" in json.loads(body), body


def test_trainer_proxy_is_not_an_open_proxy(actor):
    a, trainer_seen, evil_port, evil_seen = actor
    status, body = raw(a.port, "/api/trainer/status?x=1")
    assert status == 200 and json.loads(body) == {"path": "/base/status?x=1"}
    attempts = [
        "/api/trainer/%2e%2e/secret",
        "/api/trainer/../secret",
        "/api/trainer/..%2fsecret",
        "/api/trainer/config/%2e%2e/%2e%2e/secret",
        f"/api/trainer/@127.0.0.1:{evil_port}/x",
        f"/api/trainer/%40127.0.0.1:{evil_port}/x",
        f"/api/trainer//127.0.0.1:{evil_port}/x",
        f"/api/trainer/%2f%2f127.0.0.1:{evil_port}/x",
        f"/api/trainer/http:%2f%2f127.0.0.1:{evil_port}/x",
        "/api/trainer/status%3fa=1",
        "/api/trainer/status%23frag",
        "/api/trainer/sta%0d%0aX-Evil:%201",
        "/api/trainer/%5c..%5csecret",
    ]
    for target in attempts:
        status, body = raw(a.port, target)
        assert status in (400, 404, 405), (target, status, body)
        assert "error" in json.loads(body), body
    assert evil_seen == [], f"the proxy reached another server: {evil_seen}"
    assert all(p.startswith("/base/") and ".." not in p for p in trainer_seen), trainer_seen
    assert trainer_seen == ["/base/status?x=1"], trainer_seen
    # Only GET, POST and PATCH are forwarded.
    status, _ = raw(a.port, "/api/trainer/status", "DELETE")
    assert status == 405


def test_oversized_bodies_and_absurd_simulations(actor):
    a, *_ = actor
    big = b'{"game":"tictactoe","moves":[' + b"0," * 600_000 + b"0]}"
    status, body = raw(a.port, "/api/move", "POST", big, "Content-Type: application/json\r\n")
    assert status == 413 and b"larger than" in body
    status, body = raw(a.port, "/api/trainer/config", "PATCH", big, "Content-Type: application/json\r\n")
    assert status == 413
    for sims in (0, -5, 2001, 10**12):
        status, body = http(
            "POST", f"http://127.0.0.1:{a.port}/api/move", {"game": "tictactoe", "moves": [], "simulations": sims}
        )
        assert status == 400 and "between 1 and 2000" in body["error"], (sims, body)
    status, body = http(
        "POST", f"http://127.0.0.1:{a.port}/api/move", {"game": "tictactoe", "moves": [], "simulations": 2000}
    )
    assert status == 200
    assert a.alive()


def test_public_host_is_warned_about(tmp_path, procs):
    a = actor_proc(tmp_path, tmp_path / "data", "--no-model", "--host", "0.0.0.0", "--max-games", "1")
    procs.append(a)
    a.start()
    wait_until("the warning", lambda: "not on loopback" in a.tail(50), 30)
    a.stop()
    b = actor_proc(tmp_path, tmp_path / "data", "--no-model", "--max-games", "1", name="loopback")
    procs.append(b)
    b.start()
    wait_until("the server", lambda: "serving" in b.tail(50), 30)
    b.stop()
    assert "not on loopback" not in b.tail(200)


def test_search_slots_cap_play_and_busy_requests_are_told_to_retry(tmp_path, procs):
    """One search slot, five searches of several seconds each: they run one at a time,
    the one that would wait past 10 s gets a 503 saying so, and /api/health stays quick
    throughout."""
    a = actor_proc(
        tmp_path,
        tmp_path / "data",
        "--no-model",
        "--max-positions-per-s",
        "200",
        "--max-concurrent-searches",
        "1",
        "--max-simulations",
        "1000000",
    )
    procs.append(a)
    a.start()
    url = f"http://127.0.0.1:{a.port}"
    wait_until("the server", lambda: http("GET", f"{url}/api/health")[0] == 200, 30, (a,))
    results: list[tuple[int, dict, float]] = []

    def search():
        t = time.monotonic()
        s, body = http(
            "POST", f"{url}/api/move", {"game": "othello", "moves": [], "simulations": 1_000_000}, timeout=120
        )
        results.append((s, body, time.monotonic() - t))

    threads = [threading.Thread(target=search) for _ in range(5)]
    for th in threads:
        th.start()
        time.sleep(0.2)
    health = []
    while any(th.is_alive() for th in threads):
        t = time.monotonic()
        assert http("GET", f"{url}/api/health")[0] == 200
        health.append(time.monotonic() - t)
        time.sleep(0.2)
    statuses = sorted(s for s, _, _ in results)
    assert statuses[0] == 200, results
    busy = [b for s, b, _ in results if s == 503]
    assert busy, f"no request waited past the 10 s limit: {[(s, round(d, 1)) for s, _, d in results]}"
    assert all("busy" in b["error"] and "--max-concurrent-searches" in b["error"] for b in busy), busy
    assert all(9.5 < d < 30 for s, _, d in results if s == 503), results
    assert max(health) < 2.0, f"/api/health was slow while searches ran: {max(health):.2f} s"
    assert a.alive()
