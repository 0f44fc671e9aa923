"""Chainrule inside other training frameworks: ``lightning`` (PyTorch Lightning's ``DoctorCallback``).

Each module imports its framework when imported itself; ``import chainrule`` imports none of them.
"""
