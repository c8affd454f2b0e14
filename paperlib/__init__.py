"""paperlib: a runnable reproduction of Guo, Lin & Song (2023), "A privacy protection approach in
edge-computing based on maximized DNN partition strategy with energy saving".

Submodules: ``models``, ``data``, ``train``, ``quant``, ``energy``, ``privacy``, ``search``,
``attack``; profiles in ``profiles``, the paper's constants in ``constants``.
"""

__version__ = "0.1.0"
