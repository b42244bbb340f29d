"""``purebpf btf dump``: C, raw and JSON output, and a one-line error for unknown types."""

from __future__ import annotations

import json

from purebpf.btf import BTFBuilder
from purebpf.cli.main import main


def test_dump_types_as_c(capsys):
    assert main(["btf", "dump", "struct", "list_head", "pid_t"]) == 0
    out = capsys.readouterr().out
    assert "struct list_head {\n\tstruct list_head *next;\n\tstruct list_head *prev;\n};" in out
    assert "typedef __kernel_pid_t pid_t;" in out and "__VMLINUX_H__" not in out


def test_dump_raw_and_json(capsys, kernel_btf):
    (pid_t,) = kernel_btf.find_ids("pid_t")
    assert main(["btf", "dump", "--format", "raw", "pid_t"]) == 0
    assert capsys.readouterr().out == f"[{pid_t}] TYPEDEF 'pid_t' type_id={kernel_btf.type_by_id(pid_t).type}\n"
    assert main(["btf", "dump", "--json", "struct list_head", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["kind"] == "STRUCT" and [m["name"] for m in data[0]["members"]] == ["next", "prev"]
    assert data[1] == {"kind": "INT", "id": 1, "name": "long unsigned int", "size": 8, "encoding": 0, "bits": 64,
                       "bit_offset": 0}


def test_dump_file_whole_header(capsys, tmp_path):
    b = BTFBuilder()
    b.add_struct("only", [("x", b.add_int("int", 4, signed=True))])
    path = tmp_path / "x.btf"
    path.write_bytes(b.to_bytes())
    assert main(["btf", "dump", "--file", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("#ifndef __VMLINUX_H__") and "struct only {\n\tint x;\n};" in out


def test_unknown_type_is_one_line_error(capsys):
    assert main(["btf", "dump", "no_such_type_anywhere"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no_such_type_anywhere" in err and "Traceback" not in err
