"""Prediction on new volumes with a trained model file (``neuroicl predict``): the pipeline's preprocessing on
raw native-space NIfTI files, slice-by-slice prediction on the model grid, and the prediction mapped back to
each target's native grid. The layer above training and evaluation: it reads models and preprocessing and
nothing reads it."""
