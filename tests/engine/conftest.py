"""torch is only the oracle here: one thread keeps it from fighting the tests for the machine's two cores."""

import torch

torch.set_num_threads(1)
