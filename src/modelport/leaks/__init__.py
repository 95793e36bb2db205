"""Leaked keys: secret scanning reports, their revocation, and telling the team."""
