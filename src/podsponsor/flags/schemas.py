from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class FlagOut(BaseModel):
    name: str
    enabled: bool
    source: Literal["environment", "tenant"]


class FlagSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None  # null: drop the tenant's override, back to the environment default
