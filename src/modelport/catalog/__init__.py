"""The model catalog: which models exist, where they are served, what they cost."""
