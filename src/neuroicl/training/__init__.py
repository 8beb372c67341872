"""Training of the comparison's runs: settings, checkpoints with resume, the optimisation loop."""
