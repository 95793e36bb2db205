"""The audit log: every key operation, who did it, when and from where."""
