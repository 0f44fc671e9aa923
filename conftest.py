"""Collection rules for the whole repository (pytest runs with --doctest-modules over tests/ and chainrule/)."""

# Importing the torch shim installs chainrule as `torch` in the importing process; the doctest collector would
# do that inside the test run, where the real torch is the oracle. tests/compat runs it in subprocesses.
collect_ignore = ["chainrule/torch_shim.py"]
