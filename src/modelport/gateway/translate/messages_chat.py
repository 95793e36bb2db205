"""Anthropic's Messages API and chat completions, both ways: the module the pipeline calls.

Anthropic clients on chat upstreams: `chat_request_from_messages`, then `messages_from_chat`
or `MessagesStreamFromChat` for the answer. Chat clients (and, through chat, Responses
clients) on Anthropic upstreams: `messages_request_from_chat`, then `chat_from_messages` or
`ChatStreamFromMessages`. The modules it gathers each say what they cannot carry across.
"""

from __future__ import annotations

from modelport.gateway.translate.chat_request_to_messages import messages_request_from_chat
from modelport.gateway.translate.messages_answers import chat_from_messages, messages_from_chat
from modelport.gateway.translate.messages_request_to_chat import chat_request_from_messages
from modelport.gateway.translate.messages_stream import (
    ChatStreamFromMessages,
    MessagesStreamFromChat,
)

__all__ = [
    "ChatStreamFromMessages",
    "MessagesStreamFromChat",
    "chat_from_messages",
    "chat_request_from_messages",
    "messages_from_chat",
    "messages_request_from_chat",
]
