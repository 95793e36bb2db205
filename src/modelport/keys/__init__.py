"""Model access keys: their lifecycle, and the one verifier that turns a secret into a key."""
