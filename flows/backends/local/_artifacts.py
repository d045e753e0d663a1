"""The embedded registry's artifact files: written atomically, read only when their SHA-256 matches.

Layout under the artifact folder::

    <VERSION>/model.pkl        the pickled model
    <VERSION>/train_rows.npy   the hashes of its training rows, when recorded

The registry's database records each file's SHA-256 at logging time; every read is
checked against it, so an altered or missing artifact is refused, never loaded.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.backends.local.durable import remove_temporaries, write_atomically
from flows.errors import ArtifactIntegrityError
from flows.identifiers import validate_identifier

if TYPE_CHECKING:
    import numpy as np

MODEL_FILE = "model.pkl"
ROWS_FILE = "train_rows.npy"
RECENT_MODELS_KEPT = 2
"""Unpickled models a process keeps: a weekly cycle's champion and challenger."""


class _RecentModels:
    """The models this process last logged or loaded, by artifact path and SHA-256.

    The evaluate step scores the challenger that the retrain step has just logged,
    usually in the same process but through a freshly opened registry; keeping the
    object saves unpickling it again and holding a second copy of it in memory. A hit
    is still checked against the file's SHA-256, so an altered artifact is refused
    whether or not it was kept.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._models: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path, sha: str) -> Any | None:
        key = (str(path.resolve()), sha)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
            return self._models.get(key)

    def keep(self, path: Path, sha: str, model: Any) -> None:
        key = (str(path.resolve()), sha)
        with self._lock:
            self._models[key] = model
            self._models.move_to_end(key)
            while len(self._models) > self.size:
                self._models.popitem(last=False)


_recent_models = _RecentModels(RECENT_MODELS_KEPT)


class ArtifactStore:
    """One model's artifact folders, each version's files checked by SHA-256."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def version_folder(self, name: str) -> Path:
        """The artifact folder of version ``name``, always inside this store."""
        validate_identifier(name, what="Version name")
        return self.folder / name

    def write(self, name: str, model: Any, rows: np.ndarray | None) -> tuple[str, str | None]:
        """Write the version's files atomically; returns the SHA-256 of the model and the rows.

        The caller holds the registry's write lock, so no other process writes this
        folder meanwhile; files an earlier, killed attempt left are replaced.
        """
        payload = pickle.dumps(model, protocol=5)
        folder = self.version_folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        remove_temporaries(folder)
        sha = write_atomically(folder / MODEL_FILE, payload)
        if rows is None:
            (folder / ROWS_FILE).unlink(missing_ok=True)
            return sha, None
        return sha, write_atomically(folder / ROWS_FILE, _npy_bytes(rows))

    def remember(self, name: str, sha: str, model: Any) -> None:
        """Keep the just-logged ``model`` for this process's next load of it."""
        _recent_models.keep(self.version_folder(name) / MODEL_FILE, sha, model)

    def load_model(self, name: str, sha: str) -> Any:
        """The unpickled model, after checking its file against ``sha``."""
        path = self.version_folder(name) / MODEL_FILE
        model = _recent_models.get(path, sha)
        if model is None:
            model = pickle.loads(_verified_bytes(name, path, sha, refusing="load it"))
            _recent_models.keep(path, sha, model)
        else:
            _verify_file(name, path, sha)
        return model

    def load_rows(self, name: str, sha: str) -> np.ndarray:
        """The training-row hashes, after checking their file against ``sha``."""
        import numpy as np

        path = self.version_folder(name) / ROWS_FILE
        return np.load(io.BytesIO(_verified_bytes(name, path, sha, refusing="load it")))

    def check_model(self, name: str, sha: str, *, refusing: str) -> None:
        """Raise :class:`ArtifactIntegrityError` unless the model file matches ``sha``."""
        _verify_file(name, self.version_folder(name) / MODEL_FILE, sha, refusing=refusing)


def _npy_bytes(array: np.ndarray) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def _verified_bytes(name: str, path: Path, expected_sha: str, *, refusing: str) -> bytes:
    """The file's bytes, only if they hash to the SHA-256 recorded at logging time."""
    try:
        payload = path.read_bytes()
    except OSError as exc:
        raise _missing(name, path, exc) from exc
    _check_sha(name, path, hashlib.sha256(payload).hexdigest(), expected_sha, refusing)
    return payload


def _verify_file(name: str, path: Path, expected_sha: str, *, refusing: str = "load it") -> None:
    """Check the file against its SHA-256 without holding its bytes in memory."""
    try:
        with open(path, "rb") as file:
            actual = hashlib.file_digest(file, "sha256").hexdigest()
    except OSError as exc:
        raise _missing(name, path, exc) from exc
    _check_sha(name, path, actual, expected_sha, refusing)


def _missing(name: str, path: Path, exc: OSError) -> ArtifactIntegrityError:
    return ArtifactIntegrityError(
        f"Artifact of version {name} is missing: {path} ({exc.strerror}). "
        "Restore the file or roll back to another version."
    )


def _check_sha(name: str, path: Path, actual: str, expected: str, refusing: str) -> None:
    if actual != expected:
        raise ArtifactIntegrityError(
            f"Artifact of version {name} ({path}) does not match the SHA-256 recorded when it "
            f"was logged (expected {expected[:16]}…, got {actual[:16]}…); refusing to {refusing}."
        )
