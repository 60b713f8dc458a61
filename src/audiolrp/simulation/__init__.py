"""Scene simulation: shoebox rooms (:mod:`.rooms`), speech corpora (:mod:`.speech`,
:mod:`.speech_synthesis`) and labelled scenes (:mod:`.scenes`)."""
