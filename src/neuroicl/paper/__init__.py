"""The paper's outputs computed from evaluation results: Table 4 (and the summary behind Fig. 4 and 12)."""
