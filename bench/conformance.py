"""R7 over a corpus of other tools' BPMN: what cityflow does with each file, counted.

    python -m bench.conformance [FOLDER ...] [--verbose]

Each ``.bpmn`` / ``.bpmn20.xml`` file under the folders (default: the shared conformance corpus,
``../shared/conformance`` or ``$CITYFLOW_CONFORMANCE_DIR``) is validated as ``cityflow validate``
does; a file that validates is deployed into a fresh SQLite database and one instance of it is
started with no data, as a person would start it, and run until it waits or ends. Each file is then
one of:

- ``refused``  — validate named its problems (counted by code: what the designer must change);
- ``waits``    — the instance runs and waits for a person, a time or a message;
- ``ended``    — the instance ran to its end;
- ``stopped``  — the instance stopped in error (by the error's name: usually data the start did not give);
- ``crashed``  — anything else: a traceback. Never expected; exits 1 when one happens.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path

from engine import definitions
from engine.bpmn_xml import is_bpmn_file
from engine.context import EngineContext
from engine.db import Database
from engine.errors import CityflowError, DefinitionError
from engine.instances import open_tasks, start_instance
from engine.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("CITYFLOW_CONFORMANCE_DIR") or ROOT.parent / "shared" / "conformance")


def outcome(path: Path, database: Database, ctx: EngineContext) -> tuple[str, list[str]]:
    """What happens to one file: the outcome and its reasons (problem codes, or the error's name)."""
    try:
        checked = definitions.check(definitions.read_source(path))
    except DefinitionError as exc:
        return "refused", [p.code for p in exc.problems]
    if checked.problems:
        return "refused", sorted({p.code for p in checked.problems})
    try:
        with database.unit_of_work() as session:
            key = definitions.deploy(session, checked, "conformance").key
        with database.unit_of_work() as session:
            instance = start_instance(session, ctx, key, {}, initiator="conformance")
            status, error = instance.status, instance.error
            waiting = [t.element_id for t in open_tasks(session, instance_id=instance.id)]
    except CityflowError as exc:
        return "stopped", [exc.name]
    if status == "error":
        return "stopped", [str((error or {}).get("name") or "error")]
    if status == "completed":
        return "ended", []
    return "waits", waiting or ["a time or a message"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=[CORPUS])
    parser.add_argument("--verbose", action="store_true", help="one line per file")
    args = parser.parse_args(argv)
    files = sorted(p for folder in args.folders for p in folder.rglob("*") if p.is_file() and is_bpmn_file(p.name))
    if not files:
        print(f"no BPMN files under {', '.join(map(str, args.folders))}", file=sys.stderr)
        return 2
    outcomes: Counter[str] = Counter()
    reasons: dict[str, Counter[str]] = {}
    crashed = 0
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{folder}/conformance.db")
        upgrade(database.engine)
        ctx = EngineContext.create(script_time_limit=2.0)
        for path in files:
            try:
                kind, why = outcome(path, database, ctx)
            except Exception:  # the one outcome that must never happen
                kind, why = "crashed", [traceback.format_exc().strip().splitlines()[-1]]
                crashed += 1
            outcomes[kind] += 1
            reasons.setdefault(kind, Counter()).update(why if kind != "waits" else ["waits"])
            if args.verbose:
                print(f"{path.relative_to(args.folders[0]) if path.is_relative_to(args.folders[0]) else path}: "
                      f"{kind} {', '.join(why)}")
        database.dispose()
    print(f"{len(files)} files: " + ", ".join(f"{outcomes[k]} {k}" for k in ("waits", "ended", "stopped", "refused",
                                                                              "crashed") if outcomes[k]))
    for kind in ("refused", "stopped", "crashed"):
        if kind in reasons:
            print(f"  {kind} by reason: " + ", ".join(f"{code} {n}" for code, n in reasons[kind].most_common()))
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
