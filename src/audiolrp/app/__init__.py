"""Orchestration: per-clip analysis for the reports (:mod:`.pipeline`), user
recordings (:mod:`.recordings`), the paper replication (:mod:`.replication`)."""
