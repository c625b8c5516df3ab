"""What a long-running process — a server process, the worker — does once it has started."""

from __future__ import annotations

import gc

#: Allocations between two collections of the youngest generation (Python's default is 700). A request
#: makes tens of thousands of short-lived objects (a restored workflow, its tasks, their data), and a
#: collection every 700 of them walks the young objects again and again for little garbage.
YOUNG_COLLECTION_EVERY = 10_000


def settle() -> None:
    """Move everything built while starting (modules, parsed processes, the app) out of the garbage
    collector's view, and collect young objects less often.

    Those objects live as long as the process, yet each full collection would walk them all: in a
    server, a tenth of a transition's processor time went to collections before this (measured with
    ``gc.callbacks`` on the 전자결재 of the P3 benchmark: 12 ms of 190 per instance, 1.3 ms after).
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, middle, old)
