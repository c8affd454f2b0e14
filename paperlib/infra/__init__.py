"""Plumbing every layer may use: atomic files and hashes (``io``), every ``PAPERLIB_*`` variable
(``config``), the one registry type (``registry``), executors for independent jobs
(``executors``) and checkpoint files (``checkpoint``). Nothing here knows the paper."""
