"""Utilities every stage uses: atomic file writes (:mod:`.io`), job logs (:mod:`.logs`), the device
(:mod:`.device`), off-screen figures (:mod:`.figures`) and the image metrics (:mod:`.metrics`)."""
