#!/usr/bin/env python3
"""Checks that every #include in the tree points down the layers (README.md, "Layout").

Each top-level folder is one layer (api/client/ is a layer of its own: the client library that
emberctl uses links no VMM). A layer may include itself and the layers it is allowed to use,
listed below; anything else is an upward or sideways include and fails the check. The table is
also checked for cycles.

    scripts/check-layers.py [ROOT]        exit 0 when clean, 1 with one line per bad include
    scripts/check-layers.py --self-test   proves the check fails on a wrong include (ctest)
"""
import os
import re
import sys
import tempfile

# layer -> the layers it may include. The order of this table is bottom-up.
LAYERS = {
    "base": set(),
    "memory": {"base"},
    "config": {"base"},
    "devices": {"base", "memory"},
    "mmds": {"base", "config", "devices"},
    "snapshot": {"base", "memory"},
    "vmm": {"base", "memory", "config", "devices", "mmds", "snapshot"},
    "api/client": {"base"},
    "api": {"base", "memory", "config", "mmds", "vmm", "api/client"},
    # The binaries.
    "ember": {"base", "config", "vmm", "api"},
    "jailer": {"base"},
    "agent": {"base"},
    "emberctl": {"base", "config", "snapshot", "api/client", "agent"},
}
# Folders that may include any layer: they stand beside the product, not in it.
FREE = {"tests", "benchmarks", "scripts", "build", "build-asan"}
SOURCE_SUFFIXES = (".h", ".cc", ".c", ".hpp", ".cpp")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(path):
    """The layer a repository-relative path belongs to, or None when outside every layer."""
    parts = path.split("/")
    if len(parts) >= 2 and "/".join(parts[:2]) in LAYERS:
        return "/".join(parts[:2])
    return parts[0] if parts[0] in LAYERS else None


def table_cycles():
    """Layer names on a cycle of the table (empty when the table is a DAG)."""
    state = {}
    on_cycle = []

    def visit(node, stack):
        state[node] = "open"
        for dep in LAYERS[node]:
            if dep not in LAYERS:
                on_cycle.append(f"{node} -> {dep} (unknown layer)")
            elif state.get(dep) == "open":
                on_cycle.append(" -> ".join(stack + [node, dep]))
            elif dep not in state:
                visit(dep, stack + [node])
        state[node] = "done"

    for name in LAYERS:
        if name not in state:
            visit(name, [])
    return on_cycle


def check(root):
    """One message per include that crosses a layer upward or sideways."""
    problems = [f"layer table has a cycle: {c}" for c in table_cycles()]
    for top in sorted(os.listdir(root)):
        if top.startswith(".") or top in FREE or not os.path.isdir(os.path.join(root, top)):
            continue
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.relpath(os.path.join(folder, name), root)
                here = layer_of(path)
                if here is None:
                    problems.append(f"{path}: in no layer; add its folder to scripts/check-layers.py")
                    continue
                with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = layer_of(m.group(1))
                        if target is None or target == here or target in LAYERS[here]:
                            continue
                        problems.append(f"{path}:{number}: {here}/ includes {m.group(1)} "
                                        f"({target}/ is not below {here}/)")
    return problems


def self_test():
    """A clean tree passes; an upward include, a sideways one, and a cycle in the table fail."""
    with tempfile.TemporaryDirectory() as root:
        def write(path, text):
            os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
            with open(os.path.join(root, path), "w") as f:
                f.write(text)

        write("base/result.h", "#pragma once\n")
        write("devices/queue.h", '#include "base/result.h"\n')
        write("vmm/vm.cc", '#include "devices/queue.h"\n#include <vector>\n')
        write("api/client/client.cc", '#include "base/result.h"\n')
        write("tests/unit/x_test.cc", '#include "vmm/vm.cc"\n#include "api/client/client.cc"\n')
        assert check(root) == [], check(root)

        write("devices/bad.cc", '#include "vmm/vm.h"\n')  # upward
        write("api/client/bad.cc", '  # include "vmm/vm.h"\n')  # the client links no VMM
        write("jailer/bad.cc", '#include "agent/protocol.h"\n')  # sideways
        found = check(root)
        assert len(found) == 3, found
        assert any(p.startswith("devices/bad.cc:1:") for p in found), found
        assert any(p.startswith("api/client/bad.cc:1:") for p in found), found
        assert any(p.startswith("jailer/bad.cc:1:") for p in found), found

    saved = LAYERS["base"]
    LAYERS["base"] = {"vmm"}
    try:
        assert table_cycles(), "a cycle in the table went unnoticed"
    finally:
        LAYERS["base"] = saved
    print("check-layers self-test: PASS")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    problems = check(os.path.abspath(root))
    for p in problems:
        print(p)
    if problems:
        print(f"check-layers: FAIL: {len(problems)} include(s) cross a layer upward")
        return 1
    print("check-layers: PASS: every include points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
