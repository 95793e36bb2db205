"""modelport: a self-hosted serverless inference hub."""

__version__ = "0.1.0"
