"""A refused row is named by its place in the file, also when several files import in one transaction
(DuckDB numbers a temp table's rows from 2^55 inside a transaction), and the refusal is the error raised."""
from __future__ import annotations

import pytest

from ingest import IngestError, ingest_file, ingest_files
from store import db

# One file per CSV adapter whose key is empty on file row 3 (the header being row 1).
FILES = {
    "jira.csv": ("Issue key,Issue id,Summary\nA-1,1,x\n,2,y\n", "Issue key"),
    "gitlab.csv": ("Title,Description,Issue ID,URL,State,Author,Author Username,Assignee,Assignee Username,"
                   "Confidential,Locked,Due Date,Created At (UTC),Updated At (UTC),Closed At (UTC),Milestone,"
                   "Weight,Labels,Time Estimate,Time Spent\n"
                   "a,b,1,http://h/g/p/-/issues/1,Open,u,u,,,No,No,,2024-01-01 10:00:00,2024-01-01 10:00:00,,,,,0,0\n"
                   "a,b,,http://h/g/p/-/issues/2,Open,u,u,,,No,No,,2024-01-01 10:00:00,2024-01-01 10:00:00,,,,,0,0\n",
                   None),
    "azure.csv": ("ID,Work Item Type,Title,State\n1,Bug,x,New\n,Bug,y,New\n", "ID"),
    "redmine.csv": ("#,Tracker,Status,Subject\n1,Bug,New,x\n,Bug,New,y\n", "#"),
}


@pytest.mark.parametrize("name", sorted(FILES))
@pytest.mark.parametrize("batched", [False, True])
def test_empty_key_row_number(tmp_path, name, batched):
    text, column = FILES[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    cur = db.cursor(db.connect(":memory:"))
    with pytest.raises(IngestError) as err:
        if batched:
            ingest_files(cur, [path], project_key="P")
        else:
            ingest_file(cur, path, project_key="P")
    assert err.value.file == name
    assert err.value.row == 3
    if column:
        assert err.value.column == column
    assert cur.execute("SELECT count(*) FROM imports").fetchone() == (0,)


def test_unparsable_date_rows_inside_a_batch(tmp_path):
    path = tmp_path / "dates.csv"
    path.write_text("Issue key,Issue id,Issue Type,Status,Created\nA-1,1,Task,To Do,03/Jun/24 9:00 AM\n"
                    "A-2,2,Task,To Do,yesterday\n", encoding="utf-8")
    cur = db.cursor(db.connect(":memory:"))
    (result,) = ingest_files(cur, [path])
    assert {"code": "unparsable_dates", "column": "Created", "count": 1, "rows": [3],
            "example": "yesterday"} in result.warnings
