from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from podsponsor.metrics.presets import FIELDS

PresetName = Literal["canonical", "spotify", "megaphone", "youtube", "apple", "generic"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ImportOptions(Strict):
    """How to read a file: a preset (else detected from the header), columns assigned by hand, a source label."""

    preset: PresetName | None = Field(None, description="the export's format; detected from the header when unset")
    mapping: dict[str, str | None] | None = Field(
        None, description="target field → the file's column name; overrides the preset's choice for that field"
    )
    source: str | None = Field(
        None, min_length=1, max_length=100, description="the source of the numbers, e.g. 'spotify'; default: preset's"
    )

    @field_validator("preset", "source", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # A form's empty field means "not chosen".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("mapping", mode="before")
    @classmethod
    def _mapping_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not JSON ({exc.msg})") from exc
        return value

    @field_validator("mapping")
    @classmethod
    def _known_fields(cls, value: dict[str, str | None] | None) -> dict[str, str | None] | None:
        unknown = sorted(set(value or {}) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; fields are {', '.join(FIELDS)}")
        if value and any(column is not None and len(column) > 500 for column in value.values()):
            raise ValueError("a column name is longer than 500 characters")
        return value


class ImportUrlIn(ImportOptions):
    url: AnyHttpUrl = Field(description="a CSV file on the web, e.g. a spreadsheet published as CSV")


class RowError(BaseModel):
    row: int | None = Field(description="spreadsheet row number: the header is row 1")
    column: str | None
    value: str | None
    reason: str
    suggestion: str | None = None


class ImportSummaryOut(BaseModel):
    """An import as the history lists it (without its row errors)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    file_name: str
    sha256: str
    size_bytes: int
    origin: str = Field(description="upload, url or cli")
    source_url: str | None
    format: str | None = Field(description="canonical, spotify, megaphone, youtube, apple or generic")
    source: str | None
    status: str = Field(description="pending, processing, completed or failed")
    rows_total: int
    rows_processed: int
    rows_imported: int = Field(description="rows written (inserted + updated)")
    rows_inserted: int
    rows_updated: int
    rows_skipped: int = Field(description="blank and total rows left out")
    progress: float
    error_count: int = Field(description="every error found; `errors` keeps the first 1,000")
    duplicate_of: uuid.UUID | None = Field(description="the earlier import of the same file: nothing was changed")
    last_sync_watermark: date | None = Field(description="the newest day imported for this source")
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    created_at: datetime


class ImportOut(ImportSummaryOut):
    preset: str | None
    mapping: dict[str, Any]
    errors: list[RowError]


class PresetOut(BaseModel):
    name: str
    label: str
    columns: list[str]


class FieldOut(BaseModel):
    name: str
    label: str


class PreviewOut(BaseModel):
    format: str
    delimiter: str
    encoding: str
    columns: list[str]
    sample: list[list[str]] = Field(description="up to 10 data rows as read")
    suggested_mapping: dict[str, str] = Field(description="target field → column, as the import would read it")
    presets: list[PresetOut]
    fields: list[FieldOut] = Field(description="the target fields a column can be mapped to")
    problems: list[RowError] = Field(description="what would fail the import, from the header and sample rows")


class MetricDailyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: date
    podcast_id: uuid.UUID
    episode_id: uuid.UUID
    source: str
    downloads: int | None
    listeners: int | None
    completion_rate: float | None
    ctr: float | None
    conversions: int | None
    revenue_cents: int | None
    import_id: uuid.UUID | None
    updated_at: datetime


class DailyTotalOut(BaseModel):
    day: date
    downloads: int | None
    listeners: int | None
    completion_rate: float | None = Field(description="weighted by downloads")
    ctr: float | None = Field(description="weighted by downloads")
    conversions: int | None
    revenue_cents: int | None
    rows: int = Field(description="episode-source rows summed into the day")
