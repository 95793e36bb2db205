"""Stored `/v1/responses`: kept per team, read back, chained by `previous_response_id`, purged."""
