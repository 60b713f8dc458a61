"""Signal maths: ambisonics and directions (:mod:`.ambisonics`), STFT features and the
channel layout (:mod:`.features`), exact sound-field augmentation (:mod:`.augmentation`)."""
