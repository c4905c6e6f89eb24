#!/usr/bin/env python3
# tests/cli/import_cycles.py — finds import circles between vpcbpf's own modules (X.c and X.h are one module X).
"""
Two graphs, because one alone misses circles:
  includes  X -> Y when a file of module X has #include "Y.h" (resolved from the
            repository root or the including file's directory; build/ outputs
            such as skeletons are not modules).
  calls     X -> Y when X's object file uses a symbol that Y's object file
            defines (nm). cli/cli.h and cni/cni.h declare functions of many
            files, so including them says nothing about who calls whom: a
            circle through them shows only here.
Prints each circle (one strongly connected component, with the edges that
make it) and exits 1 when there is one; 0 when there is none.

usage: import_cycles.py [--root DIR] [--objects DIR]... [--known FILE]
  --root DIR     the source tree (default: the repository this file is in)
  --objects DIR  a directory of X.o files whose names follow the sources'
                 (build/obj: build/obj/cli/main.o is module cli/main); may repeat
  --known FILE   circles still being taken apart, one a line: KIND MODULE MODULE...
                 (# comments). Each must be found exactly so: a known circle
                 that grew, shrank or went away fails too, so the list is
                 mended in the same commit that mends the code.
"""
import argparse
import collections
import os
import re
import subprocess
import sys

SOURCE_DIRS = ["bpf", "maps", "cli", "cni", "tests/unit", "tests/fuzz", "tests/bench", "vmtest"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def module_of(path):
    """cli/main.c and cli/main.h -> cli/main; bpf/nic.bpf.c and bpf/maps.bpf.h -> bpf/nic, bpf/maps."""
    for ext in (".bpf.c", ".bpf.h", ".c", ".h", ".o"):
        if path.endswith(ext):
            return path[: -len(ext)]
    return path


def include_graph(root):
    edges = collections.defaultdict(dict)  # module -> {module: "file:line"}
    for d in SOURCE_DIRS:
        top = os.path.join(root, d)
        if not os.path.isdir(top):
            continue
        for dirpath, dirs, files in os.walk(top):
            dirs.sort()
            for f in sorted(files):
                if not f.endswith((".c", ".h")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), root)
                src = module_of(rel)
                with open(os.path.join(root, rel), errors="replace") as fh:
                    for n, line in enumerate(fh, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        name = m.group(1)
                        for cand in (os.path.normpath(os.path.join(os.path.dirname(rel), name)), os.path.normpath(name)):
                            if os.path.isfile(os.path.join(root, cand)):
                                dst = module_of(cand)
                                if dst != src:
                                    edges[src].setdefault(dst, "%s:%d #include \"%s\"" % (rel, n, name))
                                break
    return edges


def call_graph(obj_dirs):
    defined, used = {}, collections.defaultdict(set)
    for top in obj_dirs:
        for dirpath, dirs, files in os.walk(top):
            dirs.sort()
            for f in sorted(files):
                if not f.endswith(".o"):
                    continue
                path = os.path.join(dirpath, f)
                mod = module_of(os.path.relpath(path, top))
                out = subprocess.run(["nm", path], capture_output=True, text=True, check=True).stdout
                for line in out.splitlines():
                    p = line.split()
                    if len(p) == 2 and p[0] == "U":
                        used[mod].add(p[1])
                    elif len(p) == 3 and p[1] in "TDBRCGSV":
                        defined.setdefault(p[2], mod)
    edges = collections.defaultdict(dict)
    for mod, syms in used.items():
        for s in sorted(syms):
            dst = defined.get(s)
            if dst and dst != mod:
                edges[mod].setdefault(dst, "uses %s" % s)
    return edges


def circles(edges):
    """Tarjan's strongly connected components of more than one module (iterative: no recursion limit)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    nodes = set(edges) | {d for e in edges.values() for d in e}
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, {}))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, {})))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def report(kind, edges, known):
    found = circles(edges)
    bad = 0
    for comp in found:
        members = set(comp)
        if (kind, tuple(comp)) in known:
            known.discard((kind, tuple(comp)))
            print("known %s circle (still to take apart): %s" % (kind, " <-> ".join(comp)))
            continue
        bad += 1
        print("%s circle: %s" % (kind, " <-> ".join(comp)))
        for a in comp:
            for b, why in sorted(edges.get(a, {}).items()):
                if b in members:
                    print("    %s -> %s  (%s)" % (a, b, why))
    return bad


def main():
    ap = argparse.ArgumentParser(description="import circles between vpcbpf's modules")
    ap.add_argument("--root", default=os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../..")))
    ap.add_argument("--objects", action="append", default=[])
    ap.add_argument("--known")
    a = ap.parse_args()
    known = set()
    if a.known:
        with open(a.known) as fh:
            for line in fh:
                w = line.split("#", 1)[0].split()
                if w:
                    known.add((w[0], tuple(sorted(w[1:]))))
    n = report("include", include_graph(a.root), known)
    if a.objects:
        n += report("call", call_graph(a.objects), known)
    for kind, comp in sorted(known):
        print("the known %s circle %s is not there as listed: update %s" % (kind, " <-> ".join(comp), a.known))
        n += 1
    if n:
        print("%d import circle(s): move what both sides need into a module of its own (no forward declarations)" % n)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
