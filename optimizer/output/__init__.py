"""What people and programs read: the terminal report, plots, quote files, atomic file writes.
Everything here is built from result objects, never from a model or a solver."""
