#!/usr/bin/env python3
"""Prints the import graph of src/'s top-level modules and any circles in it."""
import os, re, sys
from collections import defaultdict
src = sys.argv[1] if len(sys.argv) > 1 else "src"
tops = set()
for name in os.listdir(src):
    if name.endswith(".rs") and name not in ("lib.rs", "main.rs"):
        tops.add(name[:-3])
    elif os.path.isdir(os.path.join(src, name)):
        tops.add(name)
graph = defaultdict(set)
for root, _, files in os.walk(src):
    for f in files:
        if not f.endswith(".rs"): continue
        path = os.path.join(root, f)
        rel = os.path.relpath(path, src).split(os.sep)
        top = rel[0][:-3] if rel[0].endswith(".rs") else rel[0]
        if top not in tops: continue
        text = open(path).read()
        text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
        text = re.sub(r"//.*", "", text)
        for m in re.finditer(r"crate::(\w+)", text):
            if m.group(1) in tops and m.group(1) != top: graph[top].add(m.group(1))
        for m in re.finditer(r"use crate::\{([^;]*)\}", text, re.S):
            for t in re.findall(r"(?:^|[\s,{])(\w+)(?=::|\s*[,}]|$)", m.group(1)):
                if t in tops and t != top: graph[top].add(t)
# strongly connected components (Tarjan)
index, low, stack, on, sccs, i = {}, {}, [], set(), [], [0]
def strong(v):
    index[v] = low[v] = i[0]; i[0] += 1; stack.append(v); on.add(v)
    for w in graph[v]:
        if w not in index: strong(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        sccs.append(comp)
for v in sorted(tops):
    if v not in index: strong(v)
for v in sorted(tops): print(f"{v} -> {', '.join(sorted(graph[v]))}")
circles = [sorted(c) for c in sccs if len(c) > 1]
print("circles:", circles if circles else "none")
sys.exit(1 if circles else 0)
