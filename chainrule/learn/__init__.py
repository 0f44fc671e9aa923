"""Learning tools: the failure gallery (demos), the backprop explainer (explain) and graph drawing (viz)."""
