"""``python -m audiolrp.app.replication RESULTS.json [DOC.md]``: re-render ``replication.md``
beside the results and the generated tables of ``DOC.md`` (e.g. ``docs/replication.md``) from a
finished run's ``results.json`` (:func:`audiolrp.app.replication.report.main`)."""

from audiolrp.app.replication.report import main

raise SystemExit(main())
