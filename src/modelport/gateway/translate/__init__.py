"""Pure translation between the client APIs and the upstream wire formats.

Chat completions is the pivot: every other format translates to and from chat, so each pair
is written once and the rest compose through it.

    Responses API  <-- responses_chat -->  Chat Completions  <-- messages_chat -->  Messages API
     (OpenAI)                               (the pivot)                            (Anthropic)

A Responses client on an Anthropic upstream goes both ways round: Responses -> chat ->
Messages for the request, Messages -> chat -> Responses for the answer and its stream.

No I/O, no clock, no randomness: ids and timestamps come in as arguments. Requests are plain
dicts parsed from JSON and checked at the top level only; whatever cannot be translated, or
has the wrong shape, raises `modelport.errors.InvalidInput` naming the field. Answers and
stream chunks are read leniently (wrong types count as absent) and never raise. Usage comes
in as `modelport.core.pricing.Tokens` and goes out in each format's convention (`usage`).
"""
