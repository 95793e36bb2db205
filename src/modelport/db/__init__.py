"""Storage: the engine, units of work, table models and migrations."""
