"""Where a policy comes from: its entry point and the distribution that registers it.

Every error about a particular policy names this, so a user knows which package
to fix, upgrade or uninstall.
"""

from __future__ import annotations

import importlib.metadata

POLICY_ENTRY_POINT_GROUP = "ccpolicy.policies"
"""The entry-point group a distribution registers its policies under."""


def policy_entry_points() -> list[importlib.metadata.EntryPoint]:
    """Every entry point in the policy group, sorted by name (metadata only, nothing imported)."""
    found = importlib.metadata.entry_points(group=POLICY_ENTRY_POINT_GROUP)
    return sorted(found, key=lambda ep: (ep.name, ep.value))


def provenance(ep: importlib.metadata.EntryPoint) -> str:
    """``"distribution version"`` of the package that registers ``ep``."""
    dist = ep.dist
    return f"{dist.name} {dist.version}" if dist else "an unknown distribution"


def describe_entry_point(ep: importlib.metadata.EntryPoint) -> str:
    """``policy 'name' = 'module:Class' from distribution version``."""
    return f"policy {ep.name!r} = {ep.value!r} from {provenance(ep)}"


def describe_policy_class(cls: type, name: str) -> str:
    """The entry point that registers ``cls`` as ``name``, or the class when none does."""
    target = f"{cls.__module__}:{cls.__qualname__}"
    for ep in policy_entry_points():
        if ep.name == name and ep.value == target:
            return describe_entry_point(ep)
    return f"policy {name!r} = {target!r}, not registered under {POLICY_ENTRY_POINT_GROUP}"


def exception_text(exc: BaseException) -> str:
    """``Type: message``, or the type alone when the message is empty (``sys.exit()``)."""
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
