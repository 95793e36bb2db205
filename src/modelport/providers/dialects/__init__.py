"""Upstream dialects: one module per wire format an upstream speaks.

A dialect knows its upstream's side of a call and nothing of the client's: which APIs it
serves, their paths and headers, the body it needs, and how to read answers, usage and
streams. The gateway's pipeline is its only caller (docs/design/protocols.md).
"""

from __future__ import annotations

from modelport.providers.dialects.anthropic import AnthropicDialect
from modelport.providers.dialects.azure import AzureDialect
from modelport.providers.dialects.base import Api, Dialect, StreamMeter
from modelport.providers.dialects.openai import OpenAIDialect

DIALECTS: dict[str, Dialect] = {"openai": OpenAIDialect(), "anthropic": AnthropicDialect()}

__all__ = ["DIALECTS", "Api", "AzureDialect", "Dialect", "StreamMeter"]
