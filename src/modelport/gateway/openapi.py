"""/v1 in the OpenAPI document. The data plane is plain ASGI that FastAPI cannot see, so its
operations are described here, by hand: the paths of `routes.py` (a test holds the two
together), the model access key's two schemes, and each API's main request and response
fields in OpenAI's and Anthropic's published shapes. The schemas allow fields they do not
name: the hub passes through what the upstream's API accepts.
"""

from __future__ import annotations

from typing import Any

BEARER = "model_access_key"
X_API_KEY = "model_access_key_header"
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "A model access key (`mp_...`), as OpenAI's SDKs send an API key.",
    },
    X_API_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": (
            "A model access key, as Anthropic's SDK sends it (Messages API and `GET /v1/key`)."
        ),
    },
}
OPENAI_KEY: list[dict[str, list[str]]] = [{BEARER: []}]
ANTHROPIC_KEY: list[dict[str, list[str]]] = [{BEARER: []}, {X_API_KEY: []}]

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: list[str], **properties: Schema) -> Schema:
    return {"type": "object", "required": required, "properties": properties}


_STRING: Schema = {"type": "string"}
_INTEGER: Schema = {"type": "integer"}
_NUMBER: Schema = {"type": "number"}
_BOOLEAN: Schema = {"type": "boolean"}
_ANY_OBJECT: Schema = {"type": "object"}
_OBJECTS: Schema = {"type": "array", "items": _ANY_OBJECT}
_STRINGS: Schema = {"type": "array", "items": _STRING}
_STOP: Schema = {"oneOf": [_STRING, _STRINGS]}
_NULL: Schema = {"type": "null"}
_NULLABLE_STRING: Schema = {"type": ["string", "null"]}
_NULLABLE_OBJECT: Schema = {"type": ["object", "null"]}
_NULLABLE_INTEGER: Schema = {"type": ["integer", "null"]}
_USD: Schema = {"type": "string", "description": "USD as an exact decimal string: `0.0000015`."}
_NULLABLE_USD: Schema = {**_USD, "type": ["string", "null"]}
_WINDOW: Schema = {
    "oneOf": [
        _object(
            ["limit", "remaining", "reset_seconds"],
            limit=_INTEGER,
            remaining=_INTEGER,
            reset_seconds={**_INTEGER, "description": "Seconds until the window resets."},
        ),
        _NULL,
    ],
    "description": "This minute's window (fixed, UTC); null: the key has no such limit.",
}

SCHEMAS: dict[str, Schema] = {
    "OpenAIError": _object(
        ["error"],
        error=_object(
            ["message", "type"],
            message=_STRING,
            type=_STRING,
            code=_NULLABLE_STRING,
            param=_NULLABLE_STRING,
        ),
    ),
    "AnthropicError": _object(
        ["type", "error"],
        type={"type": "string", "enum": ["error"]},
        error=_object(["type", "message"], type=_STRING, message=_STRING),
    ),
    "OpenAIModel": _object(
        ["id", "object", "created", "owned_by"],
        id=_STRING,
        object={"type": "string", "enum": ["model"]},
        created=_INTEGER,
        owned_by=_STRING,
    ),
    "OpenAIModelList": _object(
        ["object", "data"],
        object={"type": "string", "enum": ["list"]},
        data={"type": "array", "items": _ref("OpenAIModel")},
    ),
    "OpenAIChatMessage": _object(
        ["role"],
        role={"type": "string", "enum": ["system", "developer", "user", "assistant", "tool"]},
        content={"oneOf": [_STRING, _OBJECTS, _NULL]},
        name=_STRING,
        tool_calls=_OBJECTS,
        tool_call_id=_STRING,
    ),
    "OpenAIChatCompletionRequest": _object(
        ["model", "messages"],
        model=_STRING,
        messages={"type": "array", "items": _ref("OpenAIChatMessage"), "minItems": 1},
        stream={**_BOOLEAN, "description": "Answer in server-sent events."},
        stream_options=_ANY_OBJECT,
        max_tokens=_INTEGER,
        max_completion_tokens=_INTEGER,
        temperature=_NUMBER,
        top_p=_NUMBER,
        n=_INTEGER,
        stop=_STOP,
        tools=_OBJECTS,
        tool_choice={"oneOf": [_STRING, _ANY_OBJECT]},
        response_format=_ANY_OBJECT,
        user=_STRING,
    ),
    "OpenAIChatCompletionUsage": _object(
        ["prompt_tokens", "completion_tokens", "total_tokens"],
        prompt_tokens=_INTEGER,
        completion_tokens=_INTEGER,
        total_tokens=_INTEGER,
        prompt_tokens_details=_ANY_OBJECT,
        completion_tokens_details=_ANY_OBJECT,
    ),
    "OpenAIChatCompletion": _object(
        ["id", "object", "created", "model", "choices"],
        id=_STRING,
        object={"type": "string", "enum": ["chat.completion"]},
        created=_INTEGER,
        model=_STRING,
        choices={
            "type": "array",
            "items": _object(
                ["index", "message"],
                index=_INTEGER,
                message=_ref("OpenAIChatMessage"),
                finish_reason=_NULLABLE_STRING,
            ),
        },
        usage=_ref("OpenAIChatCompletionUsage"),
    ),
    "OpenAIEmbeddingRequest": _object(
        ["model", "input"],
        model=_STRING,
        input={
            "oneOf": [
                _STRING,
                _STRINGS,
                {"type": "array", "items": _INTEGER},
                {"type": "array", "items": {"type": "array", "items": _INTEGER}},
            ]
        },
        encoding_format={"type": "string", "enum": ["float", "base64"]},
        dimensions=_INTEGER,
        user=_STRING,
    ),
    "OpenAIEmbeddingList": _object(
        ["object", "data", "model", "usage"],
        object={"type": "string", "enum": ["list"]},
        data={
            "type": "array",
            "items": _object(
                ["object", "index", "embedding"],
                object={"type": "string", "enum": ["embedding"]},
                index=_INTEGER,
                embedding={"oneOf": [{"type": "array", "items": _NUMBER}, _STRING]},
            ),
        },
        model=_STRING,
        usage=_object(
            ["prompt_tokens", "total_tokens"], prompt_tokens=_INTEGER, total_tokens=_INTEGER
        ),
    ),
    "OpenAIResponseRequest": _object(
        ["model"],
        model=_STRING,
        input={"oneOf": [_STRING, _OBJECTS]},
        instructions=_STRING,
        previous_response_id={
            **_STRING,
            "description": "Continue a stored response's conversation, on any model.",
        },
        store={**_BOOLEAN, "description": "Keep the response for its team (default true)."},
        stream=_BOOLEAN,
        max_output_tokens=_INTEGER,
        temperature=_NUMBER,
        top_p=_NUMBER,
        tools=_OBJECTS,
        tool_choice={"oneOf": [_STRING, _ANY_OBJECT]},
        text=_ANY_OBJECT,
        metadata=_ANY_OBJECT,
    ),
    "OpenAIResponse": _object(
        ["id", "object", "created_at", "status", "model", "output"],
        id=_STRING,
        object={"type": "string", "enum": ["response"]},
        created_at=_INTEGER,
        status=_STRING,
        model=_STRING,
        output=_OBJECTS,
        previous_response_id=_NULLABLE_STRING,
        usage=_NULLABLE_OBJECT,
        error=_NULLABLE_OBJECT,
    ),
    "OpenAIResponseDeleted": _object(
        ["id", "object", "deleted"],
        id=_STRING,
        object={"type": "string", "enum": ["response.deleted"]},
        deleted=_BOOLEAN,
    ),
    "OpenAIResponseInputItemList": _object(
        ["object", "data", "has_more"],
        object={"type": "string", "enum": ["list"]},
        data=_OBJECTS,
        first_id=_NULLABLE_STRING,
        last_id=_NULLABLE_STRING,
        has_more=_BOOLEAN,
    ),
    "AnthropicInputMessage": _object(
        ["role", "content"],
        role={"type": "string", "enum": ["user", "assistant"]},
        content={"oneOf": [_STRING, _OBJECTS]},
    ),
    "AnthropicMessageRequest": _object(
        ["model", "messages", "max_tokens"],
        model=_STRING,
        messages={"type": "array", "items": _ref("AnthropicInputMessage")},
        max_tokens=_INTEGER,
        system={"oneOf": [_STRING, _OBJECTS]},
        stream=_BOOLEAN,
        temperature=_NUMBER,
        top_p=_NUMBER,
        top_k=_INTEGER,
        stop_sequences=_STRINGS,
        tools=_OBJECTS,
        tool_choice=_ANY_OBJECT,
        thinking=_ANY_OBJECT,
        metadata=_ANY_OBJECT,
    ),
    "AnthropicMessage": _object(
        ["id", "type", "role", "content", "model", "usage"],
        id=_STRING,
        type={"type": "string", "enum": ["message"]},
        role={"type": "string", "enum": ["assistant"]},
        content=_OBJECTS,
        model=_STRING,
        stop_reason=_NULLABLE_STRING,
        stop_sequence=_NULLABLE_STRING,
        usage=_object(
            ["input_tokens", "output_tokens"], input_tokens=_INTEGER, output_tokens=_INTEGER
        ),
    ),
    "AnthropicCountTokensRequest": _object(
        ["model", "messages"],
        model=_STRING,
        messages={"type": "array", "items": _ref("AnthropicInputMessage")},
        system={"oneOf": [_STRING, _OBJECTS]},
        tools=_OBJECTS,
    ),
    "AnthropicTokenCount": _object(["input_tokens"], input_tokens=_INTEGER),
    # `gateway/apis/key.py` builds it: a field added to keys goes there and here.
    "ModelportKey": _object(
        [
            "object",
            "uuid",
            "name",
            "hint",
            "created_at",
            "expires_at",
            "models",
            "allowed_ips",
            "limits",
            "spend",
            "credit",
            "rate_limits",
        ],
        object={"type": "string", "enum": ["key"]},
        uuid={"type": "string", "format": "uuid"},
        name=_STRING,
        hint={**_STRING, "description": "The secret's last four characters, never more."},
        created_at={"type": "string", "format": "date-time"},
        expires_at={"type": ["string", "null"], "format": "date-time"},
        models={"type": ["array", "null"], "items": _STRING, "description": "null: every model."},
        allowed_ips={
            "type": ["array", "null"],
            "items": _STRING,
            "description": "The addresses and CIDR ranges it may be used from; null: anywhere.",
        },
        limits=_object(
            ["monthly_spend_usd", "rpm", "tpm"],
            monthly_spend_usd=_NULLABLE_USD,
            rpm=_NULLABLE_INTEGER,
            tpm=_NULLABLE_INTEGER,
        ),
        spend=_object(
            ["month", "this_month_usd", "remaining_usd"],
            month={**_STRING, "description": "The calendar month (UTC), `2026-12`."},
            this_month_usd={**_USD, "description": "The cost of the key's requests this month."},
            remaining_usd={
                **_NULLABLE_USD,
                "description": "What the monthly spend limit leaves; null: no limit.",
            },
        ),
        credit={
            "oneOf": [
                _NULL,
                _object(
                    ["granted_usd", "spent_usd", "remaining_usd"],
                    granted_usd={**_USD, "description": "Every top-up together."},
                    spent_usd={**_USD, "description": "Usage since the first top-up."},
                    remaining_usd={
                        **_USD,
                        "description": "Granted less spent; below 0 by what requests in "
                        "flight when it ran out cost.",
                    },
                ),
            ],
            "description": "Prepaid credit; null: the key is not limited by credit.",
        },
        rate_limits=_object(["requests", "tokens"], requests=_WINDOW, tokens=_WINDOW),
    ),
}

_OPENAI_ERRORS = {
    "400": "The request is malformed, or the model cannot serve it.",
    "401": "No model access key, or one that does not verify (expired, revoked).",
    "403": "The key may not use this model.",
    "404": "No such model, or no such stored response for this key's team.",
    "413": "The request body is larger than the hub accepts.",
    "429": "The key's rate or spend limit is reached; `retry-after` says when to retry.",
    "500": "An unexpected error in the hub.",
    "502": "The upstream answered with an error.",
    "503": "The model is unavailable, or the hub is shutting down.",
    "504": "The upstream did not answer in time.",
}


def _errors(schema: str, statuses: tuple[str, ...]) -> dict[str, Any]:
    return {
        status: {
            "description": _OPENAI_ERRORS[status],
            "content": {"application/json": {"schema": _ref(schema)}},
        }
        for status in statuses
    }


_METERED = ("400", "401", "403", "404", "413", "429", "500", "502", "503", "504")
_STORED = ("400", "401", "404", "500", "503")


def _json(description: str, schema: str, *, stream: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": _ref(schema)}}
    if stream:
        content["text/event-stream"] = {
            "schema": {**_STRING, "description": "Server-sent events, in the API's own shape."}
        }
    return {"description": description, "content": content}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


def _post(
    summary: str, request: str, answer: dict[str, Any], *, anthropic: bool = False
) -> dict[str, Any]:
    return {
        "tags": ["Inference"],
        "summary": summary,
        "operationId": "v1_" + summary.lower().replace(" ", "_"),
        "security": ANTHROPIC_KEY if anthropic else OPENAI_KEY,
        "requestBody": _body(request),
        "responses": {
            "200": answer,
            **_errors("AnthropicError" if anthropic else "OpenAIError", _METERED),
        },
    }


def _stored(summary: str, answer: dict[str, Any], **extra: Any) -> dict[str, Any]:
    path_id = {"name": "response_id", "in": "path", "required": True, "schema": _STRING}
    return {
        "tags": ["Inference"],
        "summary": summary,
        "operationId": "v1_" + summary.lower().replace(" ", "_"),
        "security": OPENAI_KEY,
        "parameters": [path_id, *extra.pop("parameters", [])],
        "responses": {"200": answer, **_errors("OpenAIError", _STORED)},
        **extra,
    }


def _query(name: str, schema: Schema) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


PATHS: dict[str, dict[str, Any]] = {
    "/v1/models": {
        "get": {
            "tags": ["Inference"],
            "summary": "List models",
            "description": "The catalog's available models this key may use.",
            "operationId": "v1_list_models",
            "security": OPENAI_KEY,
            "responses": {
                "200": _json("The models.", "OpenAIModelList"),
                **_errors("OpenAIError", ("401", "500", "503")),
            },
        }
    },
    "/v1/models/{model}": {
        "get": {
            "tags": ["Inference"],
            "summary": "Retrieve a model",
            "operationId": "v1_retrieve_model",
            "security": OPENAI_KEY,
            "parameters": [
                {"name": "model", "in": "path", "required": True, "schema": _STRING},
            ],
            "responses": {
                "200": _json("The model.", "OpenAIModel"),
                **_errors("OpenAIError", ("401", "404", "500", "503")),
            },
        }
    },
    "/v1/key": {
        "get": {
            "tags": ["Inference"],
            "summary": "Retrieve this key",
            "description": (
                "The calling key's own state: name, hint, models, limits, this month's spend "
                "and what remains, requests and tokens this minute. Never another key's, "
                "never a secret. Not metered, and counted against none of the key's limits."
            ),
            "operationId": "v1_retrieve_key",
            "security": ANTHROPIC_KEY,
            "responses": {
                "200": _json("The key's state.", "ModelportKey"),
                **_errors("OpenAIError", ("401", "500", "503")),
            },
        }
    },
    "/v1/chat/completions": {
        "post": _post(
            "Create chat completion",
            "OpenAIChatCompletionRequest",
            _json("The completion, or its stream.", "OpenAIChatCompletion", stream=True),
        )
    },
    "/v1/embeddings": {
        "post": _post(
            "Create embeddings",
            "OpenAIEmbeddingRequest",
            _json("The embeddings.", "OpenAIEmbeddingList"),
        )
    },
    "/v1/responses": {
        "post": _post(
            "Create response",
            "OpenAIResponseRequest",
            _json("The response, or its stream of events.", "OpenAIResponse", stream=True),
        )
    },
    "/v1/responses/{response_id}": {
        "get": _stored("Retrieve response", _json("The stored response.", "OpenAIResponse")),
        "delete": _stored("Delete response", _json("Deleted.", "OpenAIResponseDeleted")),
    },
    "/v1/responses/{response_id}/input_items": {
        "get": _stored(
            "List response input items",
            _json("The items of the response's input, paged.", "OpenAIResponseInputItemList"),
            parameters=[
                _query("after", _STRING),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
                _query("order", {"type": "string", "enum": ["asc", "desc"]}),
            ],
        )
    },
    "/v1/messages": {
        "post": _post(
            "Create message",
            "AnthropicMessageRequest",
            _json("The message, or its stream of events.", "AnthropicMessage", stream=True),
            anthropic=True,
        )
    },
    "/v1/messages/count_tokens": {
        "post": _post(
            "Count message tokens",
            "AnthropicCountTokensRequest",
            {
                **_json("The count; not recorded, costs nothing.", "AnthropicTokenCount"),
                "headers": {
                    "x-modelport-token-count": {
                        "description": "`upstream`: the model's own count; `estimate`: ours.",
                        "schema": {"type": "string", "enum": ["upstream", "estimate"]},
                    }
                },
            },
            anthropic=True,
        )
    },
}


def describe_v1(document: dict[str, Any]) -> None:
    """Add /v1's operations, schemas and security schemes to an OpenAPI 3 `document`."""
    document.setdefault("paths", {}).update(PATHS)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    taken = SCHEMAS.keys() & schemas.keys()
    if taken:
        raise ValueError(f"/v1 schema names already in the document: {sorted(taken)}")
    schemas.update(SCHEMAS)
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
