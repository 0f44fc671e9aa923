"""The training doctor: watches backpropagation and explains why a network is not learning.

>>> from chainrule.doctor import Doctor
>>> sorted(Doctor().kinds())
[]
"""

from chainrule.doctor.config import DoctorConfig
from chainrule.doctor.doctor import Doctor
from chainrule.doctor.findings import KINDS, Finding, Remedy
from chainrule.doctor.fixes import FixResult, try_fixes
from chainrule.doctor.report import load_run, render_report, write_report
from chainrule.doctor.stats import EpochStats, Layers, StepStats

__all__ = ["KINDS", "Doctor", "DoctorConfig", "EpochStats", "Finding", "FixResult", "Layers", "Remedy", "StepStats",
           "load_run", "render_report", "try_fixes", "write_report"]
