"""cityflow's engine: BPMN execution on SpiffWorkflow, persistence, and the audit trail.

What the ``api`` layer (the HTTP app and the CLI) may use:

- ``engine.definitions`` — read, validate and deploy process folders; versions; forms of tasks
- ``engine.instances`` — start, complete, cancel, retry; ``EngineContext`` (specs cache, script engine, clock)
- ``engine.worklist`` — who sees and may act on which task; claims, delegation, drafts, comments
- ``engine.worker`` — timers, messages, jobs and incidents, scheduled starts; the ``Worker`` loop
- ``engine.identity`` / ``engine.demo`` — people, passwords, tokens, absences; the demo city hall
- ``engine.attachments``, ``engine.notifications``, ``engine.registry`` — files, telling people, registers
- ``engine.audit`` — records, verification, export, checkpoints
- ``engine.db``, ``engine.config``, ``engine.migrate``, ``engine.errors``, ``engine.models`` (types only)

Nothing here imports the web layer or the forms package.
"""
