"""Reads an Iceberg table with pyiceberg (independent of the Rust writer) and prints, as JSON:
the metadata file read, the snapshot count, the operation of the current snapshot, and every
live row (pyiceberg's scan, through pyarrow).

Usage: read_iceberg.py TABLE_DIR_OR_METADATA_JSON
  A table directory is read through metadata/version-hint.text, as pyiceberg's StaticTable does.
"""

from __future__ import annotations

import json
import sys

from pyiceberg.table import StaticTable


def main() -> None:
    location = sys.argv[1]
    table = StaticTable.from_metadata(location)
    snapshot = table.current_snapshot()
    rows = table.scan().to_arrow().to_pylist()
    print(
        json.dumps(
            {
                "format_version": table.metadata.format_version,
                "snapshots": len(table.metadata.snapshots),
                "operation": snapshot.summary.operation.value if snapshot else None,
                "identifier_fields": sorted(table.schema().identifier_field_names()),
                "rows": rows,
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main()
