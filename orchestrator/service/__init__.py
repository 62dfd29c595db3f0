"""breadth as a service: the HTTP API (FastAPI) over the durable job queue."""

from orchestrator.service.app import create_app
from orchestrator.service.state import ServiceConfig

__all__ = ["ServiceConfig", "create_app"]
