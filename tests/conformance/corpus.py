"""Where the BPMN conformance corpus is, and what a test does when it is not there.

The corpus (the OMG MIWG reference models and their bpmn.io exports) is other
people's work and is not part of the repository: it is the shared folder
``../shared/conformance`` next to the clone, or the folder named by
``CITYFLOW_CONFORMANCE_DIR``. Where it is absent, a test that needs it is skipped
with a note saying so; under CI (``CI`` set) its absence is a failure, as is
PostgreSQL's, because there the tests would otherwise prove nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE_DIR = Path(os.environ.get("CITYFLOW_CONFORMANCE_DIR") or ROOT.parent / "shared" / "conformance")
MISSING = (
    f"the BPMN conformance corpus is absent: no .bpmn file under {CONFORMANCE_DIR} "
    "(it is not part of the repository: put the shared folder next to the clone as ../shared/conformance, "
    "or set CITYFLOW_CONFORMANCE_DIR to its location)"
)


def corpus_files(suffixes: Iterable[str] = (".bpmn",)) -> list[Path]:
    """The corpus files with these suffixes, sorted; empty when the corpus is absent."""
    wanted = {suffix.lower() for suffix in suffixes}
    if not CONFORMANCE_DIR.is_dir():
        return []
    return sorted(path for path in CONFORMANCE_DIR.rglob("*") if path.is_file() and path.suffix.lower() in wanted)


CORPUS = corpus_files()


def corpus_missing() -> NoReturn:
    """Skip the calling test (or fixture) for want of the corpus; under CI, fail it."""
    if os.environ.get("CI"):
        pytest.fail(f"{MISSING}; CI must test against the corpus")
    pytest.skip(MISSING)


def require_corpus(suffixes: Iterable[str] = (".bpmn",)) -> list[Path]:
    """The corpus files, or a skip (a failure under CI) when there are none."""
    files = corpus_files(suffixes)
    if not files:
        corpus_missing()
    return files


def corpus_file(relative: str) -> Path:
    """One named file of the corpus, or a skip (a failure under CI) when the corpus is absent."""
    path = CONFORMANCE_DIR / relative
    if not CORPUS:
        corpus_missing()
    assert path.is_file(), f"{relative} is not in the conformance corpus at {CONFORMANCE_DIR}"
    return path


def corpus_id(path: Path) -> str:
    return path.relative_to(CONFORMANCE_DIR).as_posix()


def corpus_params(suffixes: Iterable[str] = (".bpmn",)) -> list[object]:
    """One parameter per corpus file; without the corpus, one ``corpus-missing`` parameter (``None``).

    An empty parameter list would be a silent skip even under CI, so the test receives
    ``None`` and calls :func:`corpus_missing`, which skips with a note or fails under CI.
    """
    files = corpus_files(suffixes)
    if not files:
        return [pytest.param(None, id="corpus-missing")]
    return [pytest.param(path, id=corpus_id(path)) for path in files]
