"""Example requests for a model, with this hub's base URL, ready to copy and run."""

from __future__ import annotations

import json

from modelport.catalog.model import CatalogModel

KEY_VARIABLE = "MODELPORT_KEY"


def _body(model: CatalogModel) -> dict[str, object]:
    if model.entry.type == "embedding":
        return {"model": model.id, "input": "The quick brown fox"}
    return {"model": model.id, "messages": [{"role": "user", "content": "Say hello"}]}


def _path(model: CatalogModel) -> str:
    return "embeddings" if model.entry.type == "embedding" else "chat/completions"


def curl(base_url: str, model: CatalogModel) -> str:
    body = json.dumps(_body(model))
    return (
        f"curl {base_url}/v1/{_path(model)} \\\n"
        f'  -H "Authorization: Bearer ${KEY_VARIABLE}" \\\n'
        '  -H "Content-Type: application/json" \\\n'
        f"  -d '{body}'"
    )


def python(base_url: str, model: CatalogModel) -> str:
    head = (
        "import os\n\nfrom openai import OpenAI\n\n"
        f'client = OpenAI(base_url="{base_url}/v1", api_key=os.environ["{KEY_VARIABLE}"])\n'
    )
    if model.entry.type == "embedding":
        return head + (
            f'result = client.embeddings.create(model="{model.id}", input="The quick brown fox")\n'
            "print(len(result.data[0].embedding))\n"
        )
    return head + (
        "reply = client.chat.completions.create(\n"
        f'    model="{model.id}",\n'
        '    messages=[{"role": "user", "content": "Say hello"}],\n'
        ")\n"
        "print(reply.choices[0].message.content)\n"
    )
