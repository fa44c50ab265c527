"""NeuroLens classifier: data, training, evaluation and inference. Imports no Django."""
