"""What every HTTP surface shares: request context, the /v2 error model, limits, health."""
