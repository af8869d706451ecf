"""Control API (FastAPI, 127.0.0.1:8081). Must match docs/CONTRACTS.md §7; the actor
proxies /api/trainer/* here. Errors are JSON `{"error": "..."}` like the actor's.

The API never touches the model or the database: it flips settings and flags on a
`Control` object that the training loop reads between steps."""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .config import LIVE_SETTINGS, TrainConfig, to_dict
from .stats import Stats

log = logging.getLogger(__name__)


class SettingError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def check_setting(key: str, value: Any) -> int | float:
    """Validate one live setting; the error names the field and its allowed range."""
    if key not in LIVE_SETTINGS:
        raise SettingError(key, f"{key!r} cannot be changed while training; live settings: {', '.join(LIVE_SETTINGS)}")
    t, lo, hi = LIVE_SETTINGS[key]
    kind = "an integer" if t is int else "a number"
    bad = SettingError(key, f"{key} must be {kind} in [{lo:g}, {hi:g}], got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad
    if t is int:
        if isinstance(value, float) and not value.is_integer():
            raise bad
        value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise bad
    if not lo <= value <= hi:
        raise bad
    return value


class Control:
    """Shared between the control API thread and the training loop."""

    def __init__(self, cfg: TrainConfig, stats: Stats, wake=lambda: None):
        self.cfg = cfg
        self.stats = stats
        self.wake = wake  # interrupts the loop's wait for data
        self.lock = threading.Lock()
        self.paused = False
        self._ckpt_requests: list[dict] = []

    # --- API side ---
    def patch(self, changes: dict[str, Any]) -> dict[str, Any]:
        checked = {k: check_setting(k, v) for k, v in changes.items()}  # all or nothing
        with self.lock:
            for k, v in checked.items():
                setattr(self.cfg, k, v)
        if checked:
            log.info("live settings changed: %s", checked)
        self.wake()  # a higher sample_ratio may end a wait
        return checked

    def set_paused(self, paused: bool) -> None:
        with self.lock:
            self.paused = paused
        log.info("training %s", "paused" if paused else "resumed")
        self.wake()

    def request_checkpoint(self, timeout: float) -> dict[str, Any]:
        """Ask the loop for a checkpoint and wait for its answer: {"step", "path"} or
        {"error"}."""
        req = {"done": threading.Event(), "result": None}
        with self.lock:
            self._ckpt_requests.append(req)
        self.wake()
        if not req["done"].wait(timeout):
            return {"error": f"the training loop did not answer within {timeout:g} s"}
        return req["result"]

    # --- loop side ---
    def take_checkpoint_requests(self) -> list[dict]:
        with self.lock:
            reqs, self._ckpt_requests = self._ckpt_requests, []
        return reqs

    @staticmethod
    def answer(req: dict, result: dict[str, Any]) -> None:
        req["result"] = result
        req["done"].set()

    def is_paused(self) -> bool:
        with self.lock:
            return self.paused

    def config_view(self) -> dict[str, Any]:
        with self.lock:
            cfg = to_dict(self.cfg)
        live = {k: {"type": t.__name__, "min": lo, "max": hi} for k, (t, lo, hi) in LIVE_SETTINGS.items()}
        return {"config": cfg, "live": live}


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": message, **extra})


def make_app(control: Control, checkpoint_timeout_s: float = 120.0) -> FastAPI:
    app = FastAPI(
        title="Cartridge trainer control API",
        description="docs/CONTRACTS.md §7. Proxied by the actor at /api/trainer/*.",
    )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        return error(
            422,
            "malformed request: "
            + "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors()),
        )

    @app.get("/status")
    def status() -> dict[str, Any]:
        out = control.stats.snapshot(with_history=False)
        out["paused"] = control.is_paused()
        return out

    @app.get("/config")
    def get_config() -> dict[str, Any]:
        return control.config_view()

    @app.patch("/config")
    async def patch_config(request: Request):
        try:
            body = await request.json()
        except Exception:
            return error(422, "body must be JSON: an object with any of " + ", ".join(LIVE_SETTINGS))
        if not isinstance(body, dict) or not body:
            return error(422, "body must be a non-empty JSON object with any of " + ", ".join(LIVE_SETTINGS))
        try:
            control.patch(body)
        except SettingError as e:
            allowed = None
            if e.field in LIVE_SETTINGS:
                _, lo, hi = LIVE_SETTINGS[e.field]
                allowed = {"min": lo, "max": hi}
            return error(422, str(e), field=e.field, allowed=allowed)
        return control.config_view()

    @app.post("/pause")
    def pause() -> dict[str, Any]:
        control.set_paused(True)
        return {"paused": True}

    @app.post("/resume")
    def resume() -> dict[str, Any]:
        control.set_paused(False)
        return {"paused": False}

    @app.post("/checkpoint")
    def checkpoint():
        # A plain def runs in FastAPI's threadpool, so this wait blocks no other request.
        result = control.request_checkpoint(checkpoint_timeout_s)
        if "error" in result:
            return error(409 if "no model" in result["error"] else 504, result["error"])
        return result

    return app


class ApiServer:
    """uvicorn in a daemon thread; uvicorn skips signal handlers off the main thread, so
    SIGINT/SIGTERM stay with the training loop."""

    def __init__(self, control: Control, host: str, port: int):
        import uvicorn

        self.host, self.port = host, port
        self.server = uvicorn.Server(
            uvicorn.Config(make_app(control), host=host, port=port, log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, name="control-api", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the control API could not listen on {self.host}:{self.port} "
                    f"(port in use?); pick another with --control-port, or 0 to disable it"
                )
            time.sleep(0.05)
        log.info("control API on http://%s:%d", self.host, self.port)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
