"""Typed identifiers."""

from __future__ import annotations

import uuid
from typing import NewType

JobId = NewType("JobId", str)
TaskId = NewType("TaskId", str)


def new_job_id() -> JobId:
    """A short random job id (12 hex digits)."""
    return JobId(uuid.uuid4().hex[:12])
