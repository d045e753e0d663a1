"""Reading and writing tables in CSV and Parquet files, whole and in row batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.data import files
from flows.data.output import TableWriter, write_table
from flows.errors import ConfigError, DataValidationError


def _frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": np.arange(rows),
            "city": [["Oslo", "Lima", None][i % 3] for i in range(rows)],
            "amount": np.linspace(0.0, 1.0, rows),
        }
    )


@pytest.fixture(params=["table.csv", "table.parquet", "folder"])
def stored(request, tmp_path) -> tuple[Path, pd.DataFrame]:
    """The same 1,000 rows as a CSV file, a Parquet file and a folder of three Parquet files."""
    data = _frame(1_000)
    if request.param == "folder":
        folder = tmp_path / "parts"
        folder.mkdir()
        for i, start in enumerate((0, 400, 700)):
            part = data.iloc[start : (400, 700, 1_000)[i]]
            part.to_parquet(folder / f"part-{i}.parquet", index=False)
        return folder, data
    path = tmp_path / request.param
    write_table(data, path)
    return path, data


class TestReading:
    def test_the_whole_table_reads_back_as_written(self, stored):
        path, data = stored
        pd.testing.assert_frame_equal(files.read_table(path), data, check_dtype=False)

    def test_batches_have_exactly_the_asked_rows_and_only_the_last_is_short(self, stored):
        path, data = stored
        batches = list(files.iter_batches(path, batch_rows=300))
        assert [len(b) for b in batches] == [300, 300, 300, 100]
        pd.testing.assert_frame_equal(
            pd.concat(batches, ignore_index=True), data, check_dtype=False
        )

    def test_batches_carry_only_the_asked_columns(self, stored):
        path, _ = stored
        [first, *_] = files.iter_batches(path, batch_rows=10, columns=["amount", "id"])
        assert sorted(first.columns) == ["amount", "id"]

    def test_a_missing_category_reads_as_missing_not_as_an_empty_string(self, stored):
        path, _ = stored
        assert files.read_table(path)["city"].isna().sum() == 333

    def test_text_columns_keep_leading_zeros_in_csv(self, tmp_path):
        path = tmp_path / "zips.csv"
        path.write_text("zip,amount\n007,1\n010,2\n")
        assert files.read_table(path, text_columns=["zip"])["zip"].tolist() == ["007", "010"]

    def test_column_names_come_from_the_header_alone(self, stored):
        path, _ = stored
        assert files.column_names(path) == ["id", "city", "amount"]


class TestBadFiles:
    @pytest.mark.parametrize(
        ("name", "content", "message"),
        [
            ("empty.csv", "", "is empty: it has no header and no rows"),
            ("header.csv", "a,b\n", "has no rows"),
            ("dup.csv", "a,b,a\n1,2,3\n", "repeats column name\\(s\\) 'a'"),
        ],
    )
    def test_a_bad_csv_file_is_refused_with_one_line(self, tmp_path, name, content, message):
        path = tmp_path / name
        path.write_text(content)
        with pytest.raises(DataValidationError, match=message) as raised:
            files.read_table(path)
        assert "\n" not in str(raised.value)

    def test_an_unknown_suffix_is_refused_naming_the_accepted_ones(self, tmp_path):
        with pytest.raises(ConfigError, match=r"use a \.csv or \.parquet file \(or \.pq\)"):
            files.table_format(tmp_path / "data.xlsx")

    def test_a_missing_file_is_named(self, tmp_path):
        with pytest.raises(DataValidationError, match="does not exist"):
            files.read_table(tmp_path / "nope.csv")

    def test_a_folder_without_parquet_files_is_refused(self, tmp_path):
        with pytest.raises(DataValidationError, match="holds no .parquet files"):
            files.read_table(tmp_path)

    def test_a_file_that_is_not_parquet_is_refused(self, tmp_path):
        path = tmp_path / "fake.parquet"
        path.write_text("not parquet at all")
        with pytest.raises(DataValidationError, match="cannot be read as parquet"):
            files.read_table(path)

    def test_asking_for_a_column_the_file_lacks_names_it(self, stored):
        path, _ = stored
        with pytest.raises(DataValidationError, match="nope"):
            list(files.iter_batches(path, columns=["id", "nope"]))


class TestWriting:
    @pytest.mark.parametrize("name", ["out.csv", "out.parquet"])
    def test_batches_written_one_by_one_read_back_as_one_table(self, tmp_path, name):
        data = _frame(250)
        path = tmp_path / name
        with TableWriter(path) as writer:
            for start in range(0, 250, 100):
                writer.write(data.iloc[start : start + 100])
        assert writer.rows == 250
        pd.testing.assert_frame_equal(files.read_table(path), data, check_dtype=False)

    @pytest.mark.parametrize("name", ["out.csv", "out.parquet"])
    def test_a_failure_midway_leaves_neither_output_nor_temporary_file(self, tmp_path, name):
        path = tmp_path / name
        path.write_text("previous")
        with pytest.raises(RuntimeError), TableWriter(path) as writer:
            writer.write(_frame(10))
            raise RuntimeError("scoring failed")
        assert path.read_text() == "previous"
        assert sorted(p.name for p in tmp_path.iterdir()) == [name]
