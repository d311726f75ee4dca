"""Reads a Parquet file with pyarrow (independent of the Rust parquet crate) and prints, as JSON:
its columns with their types spelled as Glue/Hive types, every row, and each column chunk's codec.

Usage: read_parquet.py FILE
"""

from __future__ import annotations

import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def glue_type(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_struct(t):
        members = ",".join(f"{t.field(i).name}:{glue_type(t.field(i).type)}" for i in range(t.num_fields))
        return f"struct<{members}>"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"array<{glue_type(t.value_type)}>"
    return f"unsupported:{t}"


def main() -> None:
    path = sys.argv[1]
    table = pq.read_table(path)
    meta = pq.ParquetFile(path).metadata
    codecs = sorted(
        {meta.row_group(g).column(c).compression for g in range(meta.num_row_groups) for c in range(meta.num_columns)}
    )
    out = {
        "columns": [[f.name, glue_type(f.type), f.nullable] for f in table.schema],
        "rows": table.to_pylist(),
        "codecs": codecs,
        "format_version": meta.format_version,
    }
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
