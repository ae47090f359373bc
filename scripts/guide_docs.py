#!/usr/bin/env python3
"""scripts/guide_docs.py - refresh the program listings of docs/TRAINING.md and
docs/MODELS.md: every ```c block whose first line starts with
"/* examples/guide/X.c" is replaced by that file, so the guides show exactly
the programs tests/guide/guide_test.sh builds and runs (it fails when they
differ).  Run from the repository root after editing an examples/guide file."""
import pathlib
import re

root = pathlib.Path(__file__).resolve().parent.parent
for doc in ("docs/TRAINING.md", "docs/MODELS.md", "docs/ONNX.md"):
    p = root / doc
    if not p.exists():
        continue
    text = p.read_text()

    def sub(m):
        name = re.match(r"/\* (examples/guide/[a-z_]+\.c)", m.group(1))
        if not name:
            return m.group(0)
        return "```c\n" + (root / name.group(1)).read_text() + "```"
    new = re.sub(r"```c\n(.*?)```", sub, text, flags=re.S)
    if new != text:
        p.write_text(new)
        print(f"updated {doc}")
