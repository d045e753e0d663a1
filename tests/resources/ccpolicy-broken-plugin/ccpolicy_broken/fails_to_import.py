"""A policy module that cannot be imported, as when a plugin's dependency is missing."""

raise ImportError("No module named 'acme_scoring' (required by ccpolicy_broken)")
