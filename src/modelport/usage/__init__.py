"""Metering and charges: one usage row per request that reached an upstream."""
