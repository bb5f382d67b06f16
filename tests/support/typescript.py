"""Run the official Temporal TypeScript SDK (npm packages pinned in tests/ts) against the engine.

    ensure_node_modules()                          # once per session: `npm ci` when needed
    worker = start_ts_worker(address, "default", queue, log_dir=tmp_path)
    try:
        out = run_ts_client(address, "default", ["hello", "wf-1", "Ada"], task_queue=queue)
        assert out["result"] == "Hello, Ada!"
    finally:
        worker.stop()

The programs in tests/ts print JSON lines on stdout (see the usage comments at the top of
tests/ts/worker.js and tests/ts/client.js); these helpers parse them and raise `TsProgramError`,
carrying the program's stderr, on any failure.

All helpers block. With an engine running in the test's own event loop (the async `engine`
fixture), call them through `await asyncio.to_thread(...)`, or the engine cannot answer.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
TS_DIR = ROOT / "tests" / "ts"
NODE_MODULES = TS_DIR / "node_modules"
# Written into node_modules after a successful `npm ci`: the sha256 of the package-lock.json installed.
STAMP = NODE_MODULES / ".sundial-npm-ci.sha256"
MIN_NODE = (20, 3)  # @temporalio/worker 1.24's "engines"


class NodeUnavailableError(RuntimeError):
    """`node` or `npm` is missing or too old, or `npm ci` failed."""


class TsProgramError(RuntimeError):
    """A tests/ts program failed: non-zero exit, an {"ok": false} line, no JSON, or a time-out."""

    def __init__(
        self,
        message: str,
        *,
        returncode: int | None = None,
        stdout: str = "",
        stderr: str = "",
        result: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.result = result  # the program's {"ok": false, ...} line, when it printed one

    @property
    def grpc_status(self) -> str | None:
        """The gRPC status name of the underlying error (e.g. "UNIMPLEMENTED"), when known."""
        error = (self.result or {}).get("error") or {}
        status = error.get("grpcStatus")
        return status if isinstance(status, str) else None


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise NodeUnavailableError(
            f"`{name}` is not on PATH: the TypeScript SDK tests need Node.js >= "
            f"{MIN_NODE[0]}.{MIN_NODE[1]} with npm (PATH={os.environ.get('PATH', '')})"
        )
    return path


def node_executable() -> str:
    """Path of `node`, checked to be recent enough for the pinned SDK. Raises NodeUnavailableError."""
    node = _tool("node")
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False)
    version = out.stdout.strip().lstrip("v")
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        raise NodeUnavailableError(f"cannot tell the version of {node}: {out.stdout!r} {out.stderr!r}") from None
    if (major, minor) < MIN_NODE:
        raise NodeUnavailableError(f"{node} is v{version}; the TypeScript SDK needs >= {MIN_NODE[0]}.{MIN_NODE[1]}")
    return node


def _lock_digest() -> str:
    return hashlib.sha256((TS_DIR / "package-lock.json").read_bytes()).hexdigest()


def node_modules_current() -> bool:
    """True when node_modules holds a complete `npm ci` of the current package-lock.json."""
    try:
        return STAMP.read_text().strip() == _lock_digest()
    except OSError:
        return False


def ensure_node_modules(*, timeout: float = 600) -> Path:
    """Run `npm ci` in tests/ts unless node_modules already matches package-lock.json.

    Safe to call from parallel test processes (a file lock serialises them). Returns the
    node_modules path. Raises NodeUnavailableError when node/npm are missing or npm ci fails.
    """
    node_executable()
    npm = _tool("npm")
    lock_path = TS_DIR / ".npm-ci.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if node_modules_current():
            return NODE_MODULES
        env = {**os.environ, "npm_config_update_notifier": "false"}
        try:
            out = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=TS_DIR,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise NodeUnavailableError(f"`npm ci` in {TS_DIR} did not finish within {timeout:.0f}s") from exc
        if out.returncode != 0:
            raise NodeUnavailableError(
                f"`npm ci` in {TS_DIR} failed (exit {out.returncode}):\n{_tail(out.stderr or out.stdout)}"
            )
        STAMP.write_text(_lock_digest() + "\n")
    return NODE_MODULES


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _json_lines(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                found.append(value)
    return found


def _location_args(address: str, namespace: str, task_queue: str | None) -> list[str]:
    args = ["--address", address, "--namespace", namespace]
    if task_queue is not None:
        args += ["--task-queue", task_queue]
    return args


def run_ts_client(
    address: str,
    namespace: str,
    args: list[str],
    *,
    task_queue: str | None = None,
    timeout: float = 120,
) -> dict[str, Any]:
    """Run `node tests/ts/client.js ... <args>` and return its JSON result line.

    args is the subcommand and its arguments, e.g. ["hello", "wf-1", "Ada"] or
    ["signal-query", "wf-2"] (the task queue may also be given in args as ["--task-queue", q, ...]).
    Raises TsProgramError (with .stderr, .result and .grpc_status) on failure.
    """
    node = node_executable()
    command = [
        node,
        str(TS_DIR / "client.js"),
        *_location_args(address, namespace, task_queue),
        "--timeout-seconds",
        str(max(1, int(timeout) - 5)),  # the client's own, clearer, time-out fires first
        *args,
    ]
    try:
        out = subprocess.run(command, cwd=TS_DIR, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        raise TsProgramError(
            f"client.js {' '.join(args)} did not finish within {timeout:.0f}s\n{_tail(stderr)}", stderr=stderr
        ) from exc
    lines = _json_lines(out.stdout)
    result = lines[-1] if lines else None
    if out.returncode != 0 or result is None or result.get("ok") is not True:
        why = f"exit {out.returncode}" if out.returncode != 0 else 'no {"ok": true} JSON line on stdout'
        raise TsProgramError(
            f"client.js {' '.join(args)} failed ({why}):\n{_tail(out.stderr) or _tail(out.stdout)}",
            returncode=out.returncode,
            stdout=out.stdout,
            stderr=out.stderr,
            result=result,
        )
    return result


class TsWorker(subprocess.Popen[bytes]):
    """A running `node tests/ts/worker.js`; stdout/stderr go to files in log_dir."""

    def __init__(self, command: list[str], *, log_dir: Path) -> None:
        self.stdout_path = log_dir / "ts-worker.stdout.jsonl"
        self.stderr_path = log_dir / "ts-worker.stderr.log"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            # stdin stays an open pipe: with --exit-on-stdin-close the worker shuts itself down
            # when this (test) process dies and the pipe closes, so no orphan outlives the suite.
            super().__init__(command, cwd=TS_DIR, stdin=subprocess.PIPE, stdout=out, stderr=err)

    def lines(self) -> list[dict[str, Any]]:
        """The JSON lines the worker printed so far."""
        try:
            return _json_lines(self.stdout_path.read_text(errors="replace"))
        except OSError:
            return []

    def logs(self, lines: int = 60) -> str:
        """The end of the worker's stderr (the SDK's and core's logs), for failure messages."""
        try:
            return _tail(self.stderr_path.read_text(errors="replace"), lines)
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 120) -> dict[str, Any]:
        """Wait for the worker's "ready" line (Worker.create done); raise if it exits or times out."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines():
                if line.get("status") == "ready":
                    return line
            if self.poll() is not None:
                raise self._error(f"worker.js exited (code {self.returncode}) before it was ready")
            if time.monotonic() > deadline:
                raise self._error(f"worker.js was not ready within {timeout:.0f}s")
            time.sleep(0.1)

    def check_alive(self) -> None:
        """Raise TsProgramError (with the worker's logs) if the worker has exited."""
        if self.poll() is not None:
            raise self._error(f"worker.js exited (code {self.returncode})")

    def stop(self, timeout: float = 30) -> dict[str, Any] | None:
        """SIGTERM (graceful shutdown), SIGKILL after timeout; return the worker's last JSON line."""
        if self.poll() is None:
            self.send_signal(signal.SIGTERM)
            try:
                self.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                self.wait(10)
        if self.stdin is not None:
            self.stdin.close()
        lines = self.lines()
        return lines[-1] if lines else None

    def __exit__(self, *exc_info: object) -> None:
        # Popen's own __exit__ would wait without a time limit.
        self.stop()

    def _error(self, message: str) -> TsProgramError:
        lines = self.lines()
        failure = next((line for line in reversed(lines) if line.get("ok") is False), None)
        stderr = self.logs(200)
        return TsProgramError(
            f"{message}\n--- worker stderr (end) ---\n{self.logs()}",
            returncode=self.returncode,
            stdout=self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else "",
            stderr=stderr,
            result=failure,
        )


def start_ts_worker(
    address: str,
    namespace: str,
    task_queue: str,
    *,
    log_dir: Path | None = None,
    wait_ready: bool = True,
    ready_timeout: float = 120,
    max_seconds: float = 600,
    log_level: str = "INFO",
) -> TsWorker:
    """Start `node tests/ts/worker.js` for task_queue; by default return once it is ready.

    "Ready" means Worker.create succeeded: the workflow bundle is built and the connection and
    namespace check passed; polling starts right after. Stop it with `.stop()`, or use it as a
    context manager (`with start_ts_worker(...) as worker:`), which calls `.stop()` on exit.
    """
    node = node_executable()
    if log_dir is None:
        log_dir = Path(tempfile.mkdtemp(prefix="ts-worker-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    command = [
        node,
        str(TS_DIR / "worker.js"),
        *_location_args(address, namespace, task_queue),
        "--max-seconds",
        str(max_seconds),
        "--log-level",
        log_level,
        "--exit-on-stdin-close",
    ]
    worker = TsWorker(command, log_dir=log_dir)
    if wait_ready:
        try:
            worker.wait_ready(ready_timeout)
        except BaseException:
            worker.stop(timeout=10)
            raise
    return worker
