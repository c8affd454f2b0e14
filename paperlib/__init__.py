"""paperlib: a runnable reproduction of Guo, Lin & Song (2023), "A privacy protection approach in
edge-computing based on maximized DNN partition strategy with energy saving".

Submodules: ``models``, ``data``, ``train``, ``quant``, ``policy``, ``strategies``, ``energy``,
``privacy``, ``search``, ``analysis``, ``tables``, ``baselines``, ``attacks``; profiles in
``profiles``, the paper's constants in ``constants``, every ``PAPERLIB_*`` variable in ``config``.
Extensible kinds (models, search methods, ε estimators, attacks, ...) are registries
(:class:`paperlib.registry.Registry`). Decisions: ``docs/decisions/``.
"""

__version__ = "0.1.0"
