"""Training loops, metrics and pictures for the tasks beyond classification (one module each)."""
