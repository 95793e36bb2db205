"""The panel's long-lived state: the running hub, the services it calls, its pages."""

from __future__ import annotations

from dataclasses import dataclass

from modelport.components import Components
from modelport.hub.services import Services
from modelport.web.pages import Pages


@dataclass(frozen=True, slots=True)
class Panel:
    hub: Components
    services: Services
    pages: Pages
