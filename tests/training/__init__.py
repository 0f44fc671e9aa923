"""Tests of fit, callbacks, checkpoints and `chainrule train` (a package, so module names stay unique)."""
