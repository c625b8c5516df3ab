"""cityflow's engine: BPMN execution on SpiffWorkflow, persistence, and the audit trail.

``__all__`` names the modules the ``api`` layer (the HTTP app, the pages, the CLI) may use;
``tests/test_layers.py`` holds the api to it. People's use cases go through ``commands``, which
locks, authorizes, validates, acts, persists and audits in that order; nothing else changes an
instance. The rest of the engine (``instances``, ``runtime``, ``sandbox``, ``script_pool``,
``script_process``, ``parsing``,
``decisions``, ``timers``, ``handlers``, ``clock``) is its own business.

- ``commands`` — every use case a person brings: start, open, claim, unclaim, delegate, save a
  draft, complete, cancel, message, retry, correct data, comment, share
- ``access`` — who may do what: the authorization rules, visibility by participation
- ``worklist`` — reading people's work: inboxes, the instances someone may read, drafts, comments
- ``worker`` — what happens without anyone clicking: timers, jobs, scheduled starts, mail, the loop
- ``external_tasks`` — service tasks done by systems outside cityflow: fetch and lock by topic, complete,
  fail, BPMN errors (Camunda 7's external task API)
- ``context`` — ``EngineContext``: the specs cache, the script engine, the clock, the form check
- ``definitions`` — read, validate and deploy process folders; versions; forms of tasks
- ``identity`` / ``demo`` — people, passwords, tokens, absences; the demo city hall
- ``attachments``, ``notifications``, ``registry`` — files, telling people, registers
- ``schedule`` — people's schedules (단체장 일정) and their calendar feeds
- ``remarks`` — what the mayor said (말씀), searchable, with the directives it produced
- ``persons`` — people the mayor meets (인물): who they are, their personal data read for a purpose and
  on record, where they appear, erasure on request
- ``open311`` — Open311 GeoReport v2 over field reports: services, filing by a client's key, public reads
- ``records`` — finished 전자결재 documents kept as records (기록물 등록대장), searched, disposed of
- ``audit`` — records, verification, export, checkpoints
- ``trail`` — reading trails as auditors do: search, one case's records, streamed exports, each reading recorded
- ``citytime`` — the city's time zone and working days
- ``labels`` — a process's own words in other languages (``labels.json`` beside its BPMN)
- ``bpmn_xml`` — the hardened XML reader (the diagram renderer reads BPMN with it)
- ``metrics`` — what Prometheus reads: requests, transitions, the worker's jobs, gauges from the database
- ``process`` — what a long-running process (a server process, the worker) does once it has started
- ``db``, ``config``, ``migrate``, ``errors``, ``models`` (types and constants only)

Nothing here imports the web layer or the forms package.
"""

__all__ = [
    "access",
    "attachments",
    "audit",
    "bpmn_xml",
    "citytime",
    "commands",
    "config",
    "context",
    "db",
    "definitions",
    "demo",
    "errors",
    "external_tasks",
    "identity",
    "labels",
    "metrics",
    "migrate",
    "models",
    "notifications",
    "open311",
    "persons",
    "process",
    "records",
    "registry",
    "remarks",
    "schedule",
    "trail",
    "worker",
    "worklist",
]
