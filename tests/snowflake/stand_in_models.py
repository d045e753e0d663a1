"""The models the recording stand-in keeps: versions with their files, aliases, default and tags."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml


@dataclass
class StoredVersion:
    """One version as CREATE MODEL stored it: its files, comment, metadata and user alias."""

    name: str
    created_on: datetime
    files: dict[str, bytes]
    comment: str | None = None
    metadata: str = "{}"
    alias: str | None = None
    spec: dict[str, Any] = field(init=False)
    manifest: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.spec = yaml.safe_load(self.files["model/model.yaml"])
        self.manifest = yaml.safe_load(self.files["MANIFEST.yml"])


@dataclass
class StoredModel:
    """One model: its versions, default version and tag values."""

    name: str
    created_on: datetime
    versions: dict[str, StoredVersion] = field(default_factory=dict)
    default: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
