"""The programs are scripts that train at import time: they run in subprocesses, never as collected modules.

spread.py is a command-line tool that imports run_program as a top-level module, so it is not collected either.
"""

collect_ignore = ["programs", "spread.py"]
