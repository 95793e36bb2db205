"""Why a model stopped, in chat's words and in Anthropic's."""

from __future__ import annotations

from typing import Any

_TO_ANTHROPIC = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
_TO_CHAT = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def anthropic_stop(finish_reason: Any, called: bool) -> str:
    """Anthropic's `stop_reason` for a chat `finish_reason`.

    A turn that called tools ends in "tool_use" even when the upstream said "stop" (some
    OpenAI-compatible servers do): Anthropic clients run tools only on "tool_use".
    """
    reason = (
        _TO_ANTHROPIC.get(finish_reason, "end_turn")
        if isinstance(finish_reason, str)
        else "end_turn"
    )
    return "tool_use" if called and reason == "end_turn" else reason


def chat_finish(stop_reason: Any) -> str:
    """Chat's `finish_reason` for an Anthropic `stop_reason` ("stop" when unknown)."""
    return _TO_CHAT.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def fallback_tool_id(message_id: str, position: int) -> str:
    """An id for a tool call the upstream left unnamed: stable, so a stream and its plain
    answer agree."""
    return f"toolu_{message_id}_{position}"
