"""Input and output of the reference-list, review-queue and log-import endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LabelName = Literal["bot", "app", "browser", "library", "ignore"]
ReviewStatus = Literal["pending", "labelled", "all"]


class ListVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="recorded with every count that used this list")
    kind: str = Field(description="bots, apps, libraries, browsers, devices, referrers, prefixes or datacenters")
    source: str = Field(description="the file or address it was loaded from")
    sha256: str = Field(description="of the file as loaded; loading the same file again changes nothing")
    entry_count: int
    loaded_at: datetime
    activated_at: datetime


class UnknownUserAgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_agent: str
    first_seen: datetime
    last_seen: datetime
    hits: int = Field(description="requests seen with it (a review priority, not an audited count)")
    label: LabelName | None = Field(description="null while it waits for review")
    name: str | None
    labelled_by: uuid.UUID | None
    labelled_at: datetime | None


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: LabelName = Field(description="what the user agent is; 'ignore' takes it off the queue and changes nothing")
    name: str | None = Field(
        None, min_length=1, max_length=200, description="the app, browser or library it is (required for those)"
    )


LogFormatName = Literal["cloudfront", "csv", "jsonl"]


class LogLineErrorOut(BaseModel):
    line: int = Field(description="the line's number in the file, from 1")
    reason: str


class LogImportSummaryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    file_name: str
    sha256: str = Field(description="of the content (unzipped); importing the same content again stores nothing new")
    format: LogFormatName
    status: str
    lines_read: int = Field(description="lines in the file, headers and blank lines included")
    requests_stored: int = Field(description="requests stored by this import")
    requests_already_stored: int = Field(description="requests an earlier import of the same content had stored")
    error_count: int = Field(description="lines that could not be read; they were skipped, the others stored")
    first_ts: datetime | None
    last_ts: datetime | None
    days: list[date] = Field(description="UTC days with requests in the file; their counts were queued")
    created_by: uuid.UUID | None
    started_at: datetime
    finished_at: datetime | None


class LogImportOut(LogImportSummaryOut):
    errors: list[LogLineErrorOut] = Field(description="the first 1,000 lines that could not be read, in file order")
