"""Separate processes that run designers' scripts under limits the operating system enforces.

The sandbox (``engine.sandbox``) decides what a script may name and bounds Python-level work with
a tracer, but a tracer cannot interrupt one long C call: ``pow(3, 2**12000 - 1, 2**12000 + 1)``,
``'x'.ljust(10**9)`` or ``'%*d' % (10**9, 1)`` run to the end, holding the interpreter. So every
script or expression that could do such work runs in a process of this pool instead:

* **time** — the caller waits at most twice the script limit, then kills the process (SIGKILL) and
  starts another; as a second bound the process's CPU time is capped (``RLIMIT_CPU``) for each job;
* **memory** — the process's address space is capped (``RLIMIT_AS``: what it needs to start plus
  ``CITYFLOW_SCRIPT_MEMORY_MB``), so a huge allocation fails at once with ``MemoryError``;
* **result size** — what a script leaves is measured before it is sent back and refused over the
  case's data limit (``CITYFLOW_MAX_DATA_BYTES``);
* **reach** — the process starts with an empty environment (no database address, no keys), may not
  write files or start processes, and answers in pickles that the caller reads with an allow-list of
  plain data types, so even a script that escaped the sandbox could hand back nothing but data.

Processes are started ahead (``CITYFLOW_SCRIPT_PROCESSES``, default 2) and reused; a request waits
for a free one. Each answers one job at a time over its stdin and stdout: a 4-byte length and a
pickle. Such a process runs ``python -m engine.script_process``.
"""

from __future__ import annotations

import atexit
import io
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock_time
from typing import Any, BinaryIO, Final

from engine.errors import DataTooLarge, ScriptFailed, ScriptRefused

__all__ = ["Job", "ScriptPool", "pool"]

_FRAME: Final = struct.Struct(">I")
_READY: Final = b"ready"
#: How long a new process may take to start (import, compute the holidays) before it is given up.
START_TIMEOUT: Final = 60.0
#: The caller waits this many times the script limit before it kills the process.
WALL_FACTOR: Final = 2.0


@dataclass(frozen=True, slots=True)
class Job:
    """One script or expression to run: what the process needs, all of it plain data."""

    mode: str  # "eval" or "exec"
    source: str
    context: dict[str, Any]  # the task data
    external: dict[str, Any] | None  # read but not kept (data objects, a DMN cell's input)
    helpers: tuple[Any, tuple[Any, ...]] | dict[str, Any]  # (function, args) building them, or the helpers
    time_limit: float
    result_limit: int


# --------------------------------------------------------------------------- reading answers safely
_DATA_CLASSES: Final[dict[tuple[str, str], type]] = {
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "complex"): complex,
    ("datetime", "date"): date,
    ("datetime", "datetime"): datetime,
    ("datetime", "time"): clock_time,
    ("datetime", "timedelta"): timedelta,
    ("datetime", "timezone"): timezone,
}


class _DataUnpickler(pickle.Unpickler):
    """Reads only plain data: containers, numbers, text, dates. Anything else is a hostile answer."""

    def find_class(self, module: str, name: str) -> Any:
        found = _DATA_CLASSES.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"{module}.{name} is not data")
        return found


def _answer(payload: bytes) -> Any:
    try:
        return _DataUnpickler(io.BytesIO(payload)).load()
    except Exception as exc:  # a process that escaped the sandbox sent something else
        raise ScriptRefused(f"the script process answered with something that is not data ({exc})") from None


# --------------------------------------------------------------------------- frames
def _write_frame(stream: BinaryIO, payload: bytes) -> None:
    stream.write(_FRAME.pack(len(payload)) + payload)
    stream.flush()


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes | None:
    """``size`` bytes from ``fd``; ``None`` at end of file or when ``deadline`` passes."""
    chunks: list[bytes] = []
    wanted = size
    while wanted:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
        chunk = os.read(fd, min(wanted, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int, deadline: float | None) -> bytes | None:
    head = _read_exactly(fd, _FRAME.size, deadline)
    if head is None:
        return None
    return _read_exactly(fd, _FRAME.unpack(head)[0], deadline)


# --------------------------------------------------------------------------- the caller's side
class _Process:
    """One script process, seen from the caller."""

    def __init__(self, memory_bytes: int) -> None:
        path = os.pathsep.join(entry for entry in sys.path if entry)
        self.popen = subprocess.Popen(  # noqa: S603 - our own module, by the interpreter running us
            [sys.executable, "-m", "engine.script_process", str(memory_bytes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True,
            env={"PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        self.ready = False
        self.broken = False

    def is_ready(self) -> bool:
        """Whether the process has started, asked without waiting."""
        if not self.ready and not self.broken and self.popen.stdout is not None:
            fd = self.popen.stdout.fileno()
            if select.select([fd], [], [], 0)[0]:
                self.ready = _read_frame(fd, time.monotonic() + START_TIMEOUT) == _READY
                self.broken = not self.ready
        return self.ready

    def wait_ready(self) -> None:
        if self.ready:
            return
        assert self.popen.stdout is not None
        frame = None if self.broken else _read_frame(self.popen.stdout.fileno(), time.monotonic() + START_TIMEOUT)
        if frame != _READY:
            self.kill()
            raise ScriptFailed("the script process could not start; see the server's log")
        self.ready = True

    def run(self, payload: bytes, wait: float) -> bytes | None:
        """The answer to one job, or ``None`` when the process died or ran past ``wait`` seconds."""
        assert self.popen.stdin is not None
        assert self.popen.stdout is not None
        try:
            _write_frame(self.popen.stdin, payload)  # type: ignore[arg-type]
        except (BrokenPipeError, OSError):
            return None
        return _read_frame(self.popen.stdout.fileno(), time.monotonic() + wait)

    def stopped_by(self) -> str:
        code = self.popen.poll()
        if code is not None and code < 0 and -code == signal.SIGXCPU:
            return "it used up its processor time"
        if code is not None and code != 0 and code != -signal.SIGKILL:
            return f"its process ended ({code})"
        return "it ran past its time"

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                stream.close()


class ScriptPool:
    """A few script processes, shared by every thread of this process."""

    def __init__(self, size: int = 2, memory_mb: int = 256) -> None:
        if size < 1:
            raise ValueError("a script pool needs at least one process")
        self.size = size
        self.memory_bytes = memory_mb * 1024 * 1024
        self._idle: list[_Process] = []
        self._count = 0
        self._changed = threading.Condition()
        self._closed = False

    def run(self, job: Job) -> Any:
        """What the job's script left (``exec``) or the expression's value (``eval``).

        Raises :class:`ScriptFailed` or :class:`ScriptRefused` as the sandbox would, and
        ScriptFailed when the process was stopped at its time or died."""
        try:
            payload = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise ScriptFailed(f"the task data or the helpers cannot be sent to a script process ({exc})") from None
        process = self._acquire()
        alive = False
        try:
            process.wait_ready()
            wait = job.time_limit * WALL_FACTOR
            answer = process.run(payload, wait)
            if answer is None:
                what = "expression" if job.mode == "eval" else "script"
                raise ScriptFailed(f"{what} stopped after {wait:g}s: {process.stopped_by()} "
                                   f"(the limit is {job.time_limit:g}s)")
            alive = True
        finally:
            self._release(process, alive)
        status, value = _answer(answer)
        if status == "ok":
            return value
        raise {"refused": ScriptRefused, "too_large": DataTooLarge}.get(status, ScriptFailed)(value)

    def warm(self) -> None:
        """Wait until a started process is free (starting one if none is): the next script need not
        wait for its interpreter. Servers and workers call it as they start."""
        with self._changed:
            if not self._idle and self._count < self.size:
                self._count += 1
                self._idle.append(_Process(self.memory_bytes))
            while not self._idle:
                self._changed.wait()
            if any(process.is_ready() for process in self._idle):
                return
            waiting = self._idle[0]
        waiting.wait_ready()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
        for process in idle:
            process.kill()

    def _acquire(self) -> _Process:
        with self._changed:
            while not self._idle and self._count >= self.size:
                self._changed.wait()
            if self._idle:  # one that has started, if any: a new one may still be importing
                ready = [index for index, process in enumerate(self._idle) if process.is_ready()]
                return self._idle.pop(ready[-1] if ready else -1)
            self._count += 1
        try:
            return _Process(self.memory_bytes)
        except BaseException:
            with self._changed:
                self._count -= 1
                self._changed.notify()
            raise

    def _release(self, process: _Process, alive: bool) -> None:
        if not alive:
            process.kill()
        with self._changed:
            if alive and not self._closed:
                self._idle.append(process)
            else:
                self._count -= 1
            self._changed.notify()
        if not alive and not self._closed:
            self.start_spare()

    def start_spare(self) -> None:
        """Start a process now, so that the next script need not wait for one to start."""
        with self._changed:
            if self._closed or self._count >= self.size:
                return
            self._count += 1
        try:
            spare = _Process(self.memory_bytes)
        except BaseException:
            with self._changed:
                self._count -= 1
            raise
        with self._changed:
            self._idle.append(spare)
            self._changed.notify()


_pool: ScriptPool | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def pool() -> ScriptPool:
    """This process's script pool, started on first use (and anew in a forked child)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            from engine.config import get_settings

            settings = get_settings()
            _pool = ScriptPool(settings.script_processes, settings.script_memory_mb)
            _pool_pid = os.getpid()
            atexit.register(_pool.close)
        return _pool
