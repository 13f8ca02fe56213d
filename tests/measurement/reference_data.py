"""The shared OPAWG and ipcat copies as test inputs: read, checked and compiled the way the product does it, plus a
local HTTP server that serves a folder of list files the way their public hosts do."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from functools import lru_cache, partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from podsponsor.measurement.classify import Classifier, DatacenterRange, PatternEntry, ReferenceLists
from podsponsor.measurement.lists import FILE_NAMES, PATTERN_KINDS, ListFile, ParsedList, parse

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
OPAWG = SHARED / "opawg"
IPCAT = SHARED / "ipcat"
UA_FILES = ("bots", "apps", "libraries", "browsers")
KIND_OF_FILE = {"bots": "bot", "apps": "app", "libraries": "library", "browsers": "browser"}


def folder_of(kind: str) -> Path:
    return IPCAT if kind == "datacenters" else OPAWG


def shared_file(kind: str) -> ListFile:
    path = folder_of(kind) / FILE_NAMES[kind]
    return ListFile(kind, str(path), path.read_bytes())


def entries(kind: str) -> list[dict[str, Any]]:
    return list(json.loads((OPAWG / FILE_NAMES[kind]).read_text(encoding="utf-8"))["entries"])


@lru_cache(maxsize=1)
def shared_parsed() -> dict[str, ParsedList]:
    return {kind: parse(shared_file(kind)) for kind in FILE_NAMES}


def reference_lists(parsed: dict[str, ParsedList]) -> ReferenceLists:
    patterns = {
        kind: [PatternEntry(e.name, e.pattern or "", e.category) for e in parsed[kind].entries]
        for kind in PATTERN_KINDS
    }
    ranges = [DatacenterRange(e.range_start or 0, e.range_end or 0, e.name) for e in parsed["datacenters"].entries]
    return ReferenceLists(patterns=patterns, datacenters=ranges)


@lru_cache(maxsize=1)
def shared_classifier() -> Classifier:
    return Classifier(reference_lists(shared_parsed()))


def copy_lists(target: Path) -> Path:
    """Every list file in one folder, as an operator would mirror them."""
    target.mkdir(parents=True, exist_ok=True)
    for kind, name in FILE_NAMES.items():
        shutil.copyfile(folder_of(kind) / name, target / name)
    return target


class ListServer:
    """Serves a folder over HTTP on 127.0.0.1 and records the paths asked for."""

    def __init__(self, folder: Path) -> None:
        self.requested: list[str] = []
        owner = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requested.append(self.path)
                super().do_GET()

            def log_message(self, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve(folder: Path) -> Iterator[ListServer]:
    server = ListServer(folder)
    yield server
    server.stop()
