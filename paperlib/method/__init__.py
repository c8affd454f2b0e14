"""The paper's method: models and their partition units (``models``, ``graph``), the quantizer
(``quant``, Eq. 5-6), strategies and policies (``strategies``, ``policy``), the energy model and its
hardware tables (``energy``, ``hardware``, Eq. 7-9), the privacy metric (``privacy``, Eq. 1-2), the
paper's constants (``constants``), and what the method runs on: data, training, devices and the run
profiles (``data``, ``train``, ``device``, ``profiles``). Imports only :mod:`paperlib.infra`."""
