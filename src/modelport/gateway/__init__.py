"""The /v1 data plane: OpenAI-compatible, unlocked by model access keys, metered.

Plain ASGI on the hot path (no FastAPI dependency injection, no pydantic bodies): parse with
orjson and validate only what routing and metering need.
"""
