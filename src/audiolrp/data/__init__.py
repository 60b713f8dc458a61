"""Datasets on disk: simulated shards and their feature views (:mod:`.datasets`)."""
