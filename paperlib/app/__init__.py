"""Entry points: the command line (``cli``, ``search_cli``), ``make reproduce`` (``reproduce``) and
the comparison of two runs' tables (``rundiff``). Nothing in the package imports this layer."""
