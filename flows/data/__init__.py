"""The data a cycle works on: its shape, its periods, its plan, and the models' specs.

- ``contract``: which columns are time, label, features and id (``[data]``);
- ``columns``: one column at a time: times, period numbers, numbers, categories;
- ``files``: CSV and Parquet files, read and written;
- ``periods``: period ranges and the training, test and hold-out windows;
- ``plan``: what one run trains, tests and judges on, computed once;
- ``specs``: which scikit-learn classifier to train, and how its input is prepared;
- ``quickstart``: the quickstart's synthetic applications, and row hashes.

Nothing here imports a registry, a backend or an orchestrator.
"""

__all__ = ["columns", "contract", "files", "periods", "plan", "quickstart", "specs"]
