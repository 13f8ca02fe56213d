"""Episode transcripts as plain text: WebVTT, SRT or plain text in, the words a listener hears out.

Cue formats lose everything that is not speech: the WEBVTT header, NOTE/STYLE/REGION blocks, cue identifiers and SRT
sequence numbers, timing lines, and markup inside cues (voice, class, italic, ruby, language and timestamp tags,
SRT `<font>` and `{\\an8}` overrides); entities are decoded. Cue lines are joined into paragraphs, a new one starting
where the speaker changes or the talk pauses. Plain text is kept as written, whitespace tidied.

Framework-free and without a database: the API, the feed fetcher and tests all call `parse_transcript`.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from podsponsor.catalog.exceptions import (
    TranscriptEmpty,
    TranscriptNotText,
    TranscriptTooLarge,
    UnsupportedTranscriptType,
)

TranscriptFormat = Literal["text", "vtt", "srt"]
FORMATS: Final[tuple[TranscriptFormat, ...]] = ("text", "vtt", "srt")
MAX_TRANSCRIPT_BYTES: Final = 5 * 1024 * 1024
# The media types that name a cue format; text/plain (or none) leaves the format to the content.
CUE_MEDIA_TYPES: Final[dict[str, TranscriptFormat]] = {
    "text/vtt": "vtt",
    "application/x-subrip": "srt",
    "application/srt": "srt",
    "text/srt": "srt",
    "text/x-srt": "srt",
}
DETECTED_MEDIA_TYPES: Final = frozenset({"", "text/plain"})
ACCEPTED = "text/vtt, application/x-subrip or text/plain"
# Between one cue's end and the next one's start, a silence this long (seconds) reads as a new paragraph: turns and
# topic changes pause, sentences within a turn rarely do.
PARAGRAPH_PAUSE: Final = 3.0
# Text in another encoding (Windows-1252 subtitles) has a stray invalid byte here and there; binary files have many.
BINARY_SAMPLE: Final = 4096
BINARY_SHARE: Final = 0.1
# A line repeated from the cue before counts once only from this many words on.
ROLLING_MIN_WORDS: Final = 3
# Where detection looks for a cue timing line when a file has no WEBVTT header.
DETECTION_LINES: Final = 20

_BOM = "\ufeff"
_VTT_HEADER = re.compile(r"WEBVTT(?:[ \t\n]|$)")
_VTT_SKIPPED_BLOCK = re.compile(r"(?:NOTE|STYLE|REGION)(?:[ \t]|$)")
_TIMESTAMP = r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_TIMING = re.compile(rf"\s*{_TIMESTAMP}\s*-->\s*{_TIMESTAMP}")
_SRT_START = re.compile(r"\d+[ \t]*\n[ \t]*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}[ \t]*-->")
# Tags open with a letter (`<v Ann>`, `<c.loud>`, `<i>`, `<lang en>`, `<font color=…>`) or are timestamps
# (`<00:01.000>`); a `<` followed by anything else is text ("I <3 it").
_TAG = re.compile(r"</?[A-Za-z][^<>\n]*>|<(?:\d+:)?\d{1,2}:\d{2}\.\d{1,3}>")
_VOICE = re.compile(r"<v(?:\.[^\s>]+)*[ \t]+([^>]+)>")
_SRT_OVERRIDE = re.compile(r"\{\\[^{}]*\}")
# Ruby annotations (`<rt>`) repeat the base text as a reading aid: kept, every such word would count twice.
_RUBY_TEXT = re.compile(r"<rt\b[^>]*>.*?(?:</rt>|(?=</ruby>)|$)")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[^\S\n]+")
_WORD = re.compile(r"\S*[^\W_]\S*")
_MARKUP_START = re.compile(r"<(?:!doctype|html|head|body|\?xml|tt|div|p)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedTranscript:
    format: TranscriptFormat
    text: str
    words: int


@dataclass
class _Cue:
    start: float | None
    end: float | None
    lines: list[str] = field(default_factory=list)


def parse_transcript(raw: bytes, format: TranscriptFormat | None = None) -> ParsedTranscript:
    """The transcript's plain text and word count; `format` None detects it from the content."""
    if len(raw) > MAX_TRANSCRIPT_BYTES:
        raise too_large()
    content = _decoded(raw)
    detected = format or detect_format(content)
    if detected == "text":
        _refuse_other_documents(content)
        text = _plain(content)
    else:
        text = _from_cues(_cues(content.split("\n"), detected))
    words = count_words(text)
    if not words:
        raise TranscriptEmpty(_empty_reason(detected), errors=[{"field": "body", "reason": "no words"}])
    return ParsedTranscript(detected, text, words)


async def parse_off_loop(raw: bytes, format: TranscriptFormat | None = None) -> ParsedTranscript:
    """`parse_transcript` in a worker thread: a 5 MB transcript takes long enough to stall other requests."""
    return await asyncio.to_thread(parse_transcript, raw, format)


def count_words(text: str) -> int:
    """Whitespace-separated tokens holding at least one letter or digit: "don't" and "COVID-19" are one word each,
    a lone dash or ellipsis none."""
    return len(_WORD.findall(text))


def detect_format(content: str) -> TranscriptFormat:
    head = content.lstrip()
    if _VTT_HEADER.match(head):
        return "vtt"
    if _SRT_START.match(head):
        return "srt"
    for line in head.split("\n", DETECTION_LINES)[:DETECTION_LINES]:
        timing = _TIMING.match(line)
        if timing:
            return "srt" if "," in timing.group(0) else "vtt"
    return "text"


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def upload_format(format: TranscriptFormat | None, content_type: str | None) -> TranscriptFormat | None:
    """The format an upload declares: `?format=` first, else its Content-Type; None leaves it to detection."""
    if format is not None:
        return format
    declared = media_type(content_type)
    if declared in CUE_MEDIA_TYPES:
        return CUE_MEDIA_TYPES[declared]
    if declared in DETECTED_MEDIA_TYPES:
        return None
    raise UnsupportedTranscriptType(
        f"a transcript is sent as {ACCEPTED} (or with ?format=vtt, srt or text), not as {declared}",
        errors=[{"field": "content-type", "value": declared, "reason": f"use {ACCEPTED}"}],
    )


def too_large() -> TranscriptTooLarge:
    megabytes = MAX_TRANSCRIPT_BYTES / (1024 * 1024)
    return TranscriptTooLarge(f"a transcript is at most {megabytes:g} MB", max_bytes=MAX_TRANSCRIPT_BYTES)


async def read_capped(chunks: AsyncIterator[bytes], declared_length: str | None) -> bytes:
    """A request body, refused past MAX_TRANSCRIPT_BYTES without reading the rest."""
    if declared_length and declared_length.isdigit() and int(declared_length) > MAX_TRANSCRIPT_BYTES:
        raise too_large()
    received = bytearray()
    async for chunk in chunks:
        received += chunk
        if len(received) > MAX_TRANSCRIPT_BYTES:
            raise too_large()
    return bytes(received)


def _not_text(reason: str) -> TranscriptNotText:
    return TranscriptNotText(f"the transcript {reason}", errors=[{"field": "body", "reason": reason}])


def _decoded(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _not_text("is UTF-16 text; save it as UTF-8")
    if b"\x00" in raw:
        raise _not_text("is binary data (audio, a document or an archive?), not text")
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        sample = raw[:BINARY_SAMPLE].decode("utf-8", "replace")
        if sample.count("\ufffd") > BINARY_SHARE * len(sample):
            raise _not_text("is binary data (audio, a document or an archive?), not text") from exc
        byte = raw[exc.start]
        raise _not_text(
            f"is not UTF-8: byte 0x{byte:02x} at offset {exc.start} is not valid UTF-8; save it as UTF-8"
        ) from exc
    content = content.removeprefix(_BOM).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", content)


def _refuse_other_documents(content: str) -> None:
    """An HTML page or a JSON transcript stored as "plain text" would feed markup to matching; say what it is."""
    head = content.lstrip()
    kind = None
    if _MARKUP_START.match(head):
        kind = "HTML or XML"
    elif head[:1] in ("{", "["):
        try:
            json.loads(content)
            kind = "JSON"
        except ValueError:
            kind = None
    if kind:
        raise UnsupportedTranscriptType(
            f"the transcript is {kind}; podsponsor reads WebVTT, SRT and plain text",
            errors=[{"field": "body", "reason": f"{kind}, not WebVTT, SRT or plain text"}],
        )


def _empty_reason(format: TranscriptFormat) -> str:
    if format == "text":
        return "the transcript is empty"
    name = "WebVTT" if format == "vtt" else "SRT"
    return f"the {name} transcript has no spoken text once timings, cue ids and markup are removed"


def _plain(content: str) -> str:
    paragraphs: list[str] = []
    current: list[str] = []
    for line in content.split("\n"):
        tidy = _SPACES.sub(" ", _INVISIBLE.sub("", line)).strip()
        if tidy:
            current.append(tidy)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction.ljust(3, "0")) / 1000


def _cue_at(line: str) -> _Cue | None:
    """The cue a timing line opens, or None when the line is not one. A line with an arrow whose times cannot be read
    still opens a cue (players do the same), only without times."""
    if "-->" not in line:
        return None
    timing = _TIMING.match(line)
    if timing is None:
        return _Cue(None, None)
    parts = timing.groups()
    return _Cue(_seconds(*parts[:4]), _seconds(*parts[4:]))


def _cues(lines: list[str], format: TranscriptFormat) -> list[_Cue]:
    """Cues in file order. Blocks are separated by blank lines; a line before a block's timing line is its cue id
    (SRT: its sequence number); the header and NOTE/STYLE/REGION blocks are skipped. Other lines outside cues are
    dropped in WebVTT (players ignore them) and read as more text of the cue before in SRT, whose writers put blank
    lines inside cues."""
    cues: list[_Cue] = []
    cue: _Cue | None = None
    loose: list[str] = []  # the current block's lines before any timing line
    skipping = False
    block_start = first_block = True
    for line in lines:
        if not line.strip():
            _keep_loose(cues, loose, format)
            cue, loose, skipping, block_start = None, [], False, True
            continue
        if block_start:
            header = first_block and bool(_VTT_HEADER.match(line.lstrip()))
            skipping = format == "vtt" and (header or bool(_VTT_SKIPPED_BLOCK.match(line)))
            block_start = first_block = False
        if skipping:
            continue
        opened = _cue_at(line)
        if opened is None:
            (cue.lines if cue is not None else loose).append(line)
            continue
        if cue is not None and cue.lines and cue.lines[-1].strip().isdigit():
            cue.lines.pop()  # an SRT sequence number without the blank line before it
        _keep_loose(cues, loose, format)
        cue, loose = opened, []
        cues.append(cue)
    _keep_loose(cues, loose, format)
    return cues


def _keep_loose(cues: list[_Cue], loose: list[str], format: TranscriptFormat) -> None:
    if format == "srt" and cues:
        cues[-1].lines += [line for line in loose if not line.strip().isdigit()]


def _speaker(line: str) -> str | None:
    voice = _VOICE.search(line)
    return voice.group(1).strip() if voice else None


def _cue_text(line: str) -> str:
    text = html.unescape(_TAG.sub("", _RUBY_TEXT.sub("", _SRT_OVERRIDE.sub("", line))))
    return _SPACES.sub(" ", _INVISIBLE.sub("", text)).strip()


def _from_cues(cues: Iterable[_Cue]) -> str:
    paragraphs: list[list[str]] = []
    speaker: str | None = None
    previous_end: float | None = None
    previous_line = ""
    for cue in cues:
        voice = next((found for found in map(_speaker, cue.lines) if found), None)
        paused = cue.start is not None and previous_end is not None and cue.start - previous_end >= PARAGRAPH_PAUSE
        if not paragraphs or paused or (voice is not None and voice != speaker):
            paragraphs.append([])
        speaker = voice or speaker
        previous_end = cue.end if cue.end is not None else previous_end
        for line in map(_cue_text, cue.lines):
            # Rolling captions (live and auto-generated ones) repeat the last line of a cue as the first of the next;
            # short lines are let through, since people do say "Yeah." twice.
            if line and (line != previous_line or len(line.split()) < ROLLING_MIN_WORDS):
                paragraphs[-1].append(line)
                previous_line = line
    return "\n\n".join(" ".join(lines) for lines in paragraphs if lines)
