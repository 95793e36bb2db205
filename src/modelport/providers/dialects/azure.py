"""Azure OpenAI's deployment API: OpenAI's wire format behind Azure's URLs and credential.

Bodies, answers, streams and usage are OpenAI's, so this dialect is OpenAI's with three
differences: the credential goes in an `api-key` header (not `Authorization: Bearer`); the
path names the deployment (`/openai/deployments/<name>/chat/completions`), which chooses the
model (a `model` in the body is ignored, so OpenAI's payload is sent unchanged); and every
request names an `api-version` query parameter. The base URL is the resource's,
`https://<resource>.openai.azure.com`. The deployment paths serve chat completions and
embeddings only: the Responses API is translated through chat, as for an OpenAI-compatible
upstream without `native_responses`.

Deployment and API version differ per deployment, so a dialect is built for each.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from modelport.providers.dialects.base import Api
from modelport.providers.dialects.openai import OpenAIDialect
from modelport.providers.upstream import Target

API_VERSION = "2024-10-21"
"""The latest generally available version of the data plane API: streams report usage."""
DEPLOYMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""Azure's deployment names: letters, digits, `.`, `_`, `-`, at most 64, not dots first."""
VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(-preview)?")
ENDPOINTS: dict[Api, str] = {"chat": "chat/completions", "embeddings": "embeddings"}


class AzureDialect(OpenAIDialect):
    """One Azure OpenAI deployment. Raises ValueError for a malformed deployment name or
    API version (they go into the request's URL)."""

    name = "azure"

    def __init__(self, deployment: str, api_version: str = API_VERSION) -> None:
        if not DEPLOYMENT.fullmatch(deployment):
            raise ValueError(
                f"Azure deployment name {deployment!r} is not 1-64 letters, digits, '.', '_' "
                "or '-' starting with a letter or digit"
            )
        if not VERSION.fullmatch(api_version):
            raise ValueError(
                f"Azure api-version {api_version!r} is not a date like {API_VERSION} "
                "(optionally with -preview)"
            )
        self.deployment = deployment
        self.api_version = api_version
        base = f"/openai/deployments/{quote(deployment, safe='')}/"
        query = f"?api-version={quote(api_version, safe='')}"
        self._paths = {api: base + endpoint + query for api, endpoint in ENDPOINTS.items()}

    def speaks(self, api: Api, native_responses: bool) -> bool:
        return api in self._paths

    def target(self, base_url: str, api_key: str | None) -> Target:
        return Target(base_url, (("api-key", api_key),) if api_key else ())

    def path(self, api: Api) -> str:
        return self._paths[api]

    def __repr__(self) -> str:
        return f"AzureDialect({self.deployment!r}, {self.api_version!r})"
