"""``make bench``: every figure as a ratio against a baseline measured in the same run.

Set ``CITYFLOW_TEST_POSTGRES_URL`` for the PostgreSQL figures (``make bench`` starts
PostgreSQL when it can); ``--quick`` runs fewer repetitions; ``--profile [--postgres]``
prints where one persisted transition spends its time; ``--p3-only`` runs P3 and P6 alone
(``python -m bench.p3`` takes their options).
"""

from __future__ import annotations

import os
import sys
import tempfile

from bench.transitions import Figure, measure, script_process_figures


def main() -> int:
    # Keys and the anchor log of a run of its own, never the repository's var/.
    os.environ.setdefault("CITYFLOW_VAR_DIR", tempfile.mkdtemp(prefix="cityflow-bench-var-"))
    os.environ.setdefault("CITYFLOW_AUDIT_KEY", "bench-audit-key")
    quick = "--quick" in sys.argv
    if "--profile" in sys.argv:
        from bench.profile import profile_transitions

        print(profile_transitions(os.environ.get("CITYFLOW_TEST_POSTGRES_URL") if "--postgres" in sys.argv else None))
        return 0
    if "--p3-only" in sys.argv:
        alone, failed = served(quick)
        print_table(alone)
        return 1 if failed else 0
    figures: list[Figure] = measure("SQLite", None, 5, quick)
    figures += script_process_figures(quick)
    postgres = os.environ.get("CITYFLOW_TEST_POSTGRES_URL")
    if postgres:
        figures += measure("PostgreSQL", postgres, 2, quick)
    else:
        print("PostgreSQL figures skipped: CITYFLOW_TEST_POSTGRES_URL is not set", file=sys.stderr)
    from bench.audit import measure as measure_audit
    from bench.inbox import measure as measure_inbox

    for label, url in (("SQLite", None), ("PostgreSQL", postgres)):
        if label == "SQLite" or url:
            figures += measure_audit(label, url, quick)

    for label, url in (("SQLite", None), ("PostgreSQL", postgres)):
        if label == "SQLite" or url:
            for what, value, baseline in measure_inbox(label, url, quick):
                limit = "≤ 25 ms (baseline: GET /api/me)"
                figures.append(Figure("P4", what, value / 1000, baseline / 1000, "ms", limit))
    p3, failed = served(quick)
    print_table(figures + p3)
    return 1 if failed else 0


def served(quick: bool) -> tuple[list[Figure], bool]:
    """P3 and P6: a served cityflow under eight clients over HTTP, on PostgreSQL when
    ``CITYFLOW_TEST_POSTGRES_URL`` is set, and on SQLite; whether a request failed."""
    from bench import p3

    options = ["--only", "sqlite"] if not os.environ.get("CITYFLOW_TEST_POSTGRES_URL") else []
    if quick:
        options += ["--seconds", "6", "--baseline-seconds", "4", "--rounds", "1"]
    results = p3.run(p3.parser().parse_args(options))
    return [figure for result in results for figure in p3.figures(result)], any(r.errors for r in results)


def print_table(figures: list[Figure]) -> None:
    print(f"{'target':<7}{'what':<66}{'measured':>14}{'baseline':>14}{'ratio':>9}  limit")
    for f in figures:
        scale = 1000 if f.unit == "ms" else 1
        print(f"{f.target:<7}{f.what:<66}{f.measured * scale:>11.3f} {f.unit:<3}"
              f"{f.baseline * scale:>11.3f} {f.unit:<3}{f.ratio:>8.2f}×  {f.limit}")


if __name__ == "__main__":
    sys.exit(main())
