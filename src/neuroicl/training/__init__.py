"""Training of the comparison's runs: the data a run sees, its trainer (episodes by default), the
optimisation loop, checkpoints with resume, and DDP workers."""
