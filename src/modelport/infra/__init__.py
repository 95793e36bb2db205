"""Pieces with a Redis version and an in-memory version behind one Protocol each."""
