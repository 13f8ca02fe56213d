from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: str
    subject_type: str | None
    subject_id: uuid.UUID | None
    actor_user_id: uuid.UUID | None
    payload: dict[str, Any]
    at: datetime
