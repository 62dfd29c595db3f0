"""The live pages of the service: a job's DAG as it runs, and the job list (``/ui``).

The page's scripts and the vendored cytoscape.js (+ dagre) ship in this package
(``static/``), so it works offline; ``routes`` serves them and what they read.
"""

from orchestrator.service.ui.routes import router

__all__ = ["router"]
