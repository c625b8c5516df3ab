"""A script process (``python -m engine.script_process``): the other side of ``engine.script_pool``.

It limits itself as it starts (no core files, no files written, no processes started, its address
space capped), then answers one job at a time from its stdin on its stdout — a 4-byte length and a
pickle — running each under the sandbox with its processor time capped anew."""

from __future__ import annotations

import math
import os
import pickle
import sys
from datetime import datetime
from typing import Any

from engine.errors import ScriptFailed, ScriptRefused
from engine.sandbox import SandboxEnvironment, data_size_over
from engine.script_pool import _READY, WALL_FACTOR, Job, _read_frame, _write_frame


def _limit_self(memory_bytes: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a process stopped at its CPU limit leaves no core
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no files written
    if os.getuid() != 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # no processes started (root is not bound by it)
    with open("/proc/self/statm") as statm:
        in_use = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (in_use + memory_bytes, in_use + memory_bytes))


def _cpu_limit(seconds: float) -> None:
    """Cap this process's CPU time at what it has used plus ``seconds``: past it the kernel stops it."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))


def _answer_job(job: Job) -> tuple[str, Any]:
    helpers = job.helpers if isinstance(job.helpers, dict) else job.helpers[0](*job.helpers[1])
    environment = SandboxEnvironment(job.time_limit, helpers, isolate=False)
    what = "expression" if job.mode == "eval" else "script"
    try:
        if job.mode == "eval":
            value: Any = environment.evaluate(job.source, job.context, job.external)
        else:
            environment.execute(job.source, job.context, job.external)
            value = job.context
    except ScriptRefused as refusal:
        return "refused", str(refusal)
    except ScriptFailed as failure:
        return "failed", str(failure)
    except MemoryError:
        return "failed", f"the {what} ran out of memory (the limit is {_memory_mb} MB)"
    if data_size_over(value, job.result_limit):
        return "too_large", (f"the {what} would leave the case holding more than {job.result_limit:,} bytes "
                             "of data (CITYFLOW_MAX_DATA_BYTES)")
    return "ok", value


def _pickled(value: Any) -> bytes | None:
    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an iterator, a generator, a function's closure: not data
        return None


def _sendable(status: str, value: Any) -> bytes:
    whole = _pickled((status, value))
    if whole is not None:
        return whole
    if status == "ok" and isinstance(value, dict):  # what is not data is dropped, as callables are
        return pickle.dumps(("ok", {name: item for name, item in value.items() if _pickled(item) is not None}))
    return pickle.dumps(("failed", f"the result cannot be kept as data (a {type(value).__name__})"))


_memory_mb = 0  # this script process's memory budget, for its messages


def main(argv: list[str]) -> None:
    global _memory_mb
    from engine.citytime import warm_holidays

    memory_bytes = int(argv[0])
    _memory_mb = memory_bytes // (1024 * 1024)
    warm_holidays(datetime.now().year)
    _limit_self(memory_bytes)
    reader, writer = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing printed may mix with the answers
    _write_frame(writer, _READY)
    while True:
        frame = _read_frame(reader.fileno(), None)
        if frame is None:
            return
        try:
            job = pickle.loads(frame)  # noqa: S301 - from the process that started us
            _cpu_limit(job.time_limit * WALL_FACTOR)
            status, value = _answer_job(job)
        except MemoryError:
            status, value = "failed", f"the script ran out of memory (the limit is {_memory_mb} MB)"
        _write_frame(writer, _sendable(status, value))


if __name__ == "__main__":
    main(sys.argv[1:])
