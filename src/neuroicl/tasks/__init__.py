"""Tasks, task augmentations and context sampling (Neuralizer supplement, Sec. C, G; Tables 4, 7)."""
