#!/usr/bin/env python3
"""The layering of user/ (docs/design.md), checked on the sources and, given --objects, on the
symbols the objects use.

- core: includes only core; reports: core and reports; system: core and system; tracing:
  core, system and tracing; commands and user/main.c: anything. core and reports include no
  libbpf, libelf or BPF skeleton (they build into a library without them).
- A quoted include without a folder names a file of the including file's own folder.
- No import circles between modules (X.c + X.h): neither through includes nor, with
  --objects, through symbols (a function declared in one module and defined in another).
--self-test plants each kind of violation in a copy and fails unless each is caught.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ALLOWED = {
    'core': {'core'},
    'reports': {'core', 'reports'},
    'system': {'core', 'system'},
    'tracing': {'core', 'system', 'tracing'},
    'commands': {'core', 'reports', 'system', 'tracing', 'commands'},
    '': {'core', 'reports', 'system', 'tracing', 'commands'},
}
PURE = {'core', 'reports'}
SYSTEM_FORBIDDEN_IN_PURE = re.compile(r'#\s*include\s*<(bpf/|libelf\.h|gelf\.h)')
QUOTED = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def sources(root):
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            if f.endswith(('.c', '.h')):
                yield os.path.join(dirpath, f)


def folder_of(root, path):
    rel = os.path.relpath(path, root)
    return os.path.dirname(rel)


def check_includes(root, include_dir):
    errors = []
    graph = {}
    for path in sources(root):
        folder = folder_of(root, path)
        module = os.path.join(folder, os.path.splitext(os.path.basename(path))[0])
        text = open(path, encoding='utf-8', errors='replace').read()
        rel = os.path.relpath(path, root)
        if folder not in ALLOWED:
            errors.append(f'{rel}: user/{folder} is not a known layer')
            continue
        if folder in PURE:
            for m in SYSTEM_FORBIDDEN_IN_PURE.finditer(text):
                errors.append(f'{rel}: {folder} must not use {m.group(1)} (it builds without it)')
        for name in QUOTED.findall(text):
            if name.endswith('.skel.h'):
                if folder in PURE:
                    errors.append(f'{rel}: {folder} must not include the BPF skeleton {name}')
                continue
            if '/' in name:
                target_folder = os.path.dirname(name)
                target = os.path.join(root, name)
            elif os.path.exists(os.path.join(os.path.dirname(path), name)):
                target_folder = folder
                target = os.path.join(os.path.dirname(path), name)
            elif include_dir and os.path.exists(os.path.join(include_dir, name)):
                continue  # include/: the records both sides share
            else:
                errors.append(f'{rel}: "{name}" is neither in user/{folder} nor in include/; '
                              'name other folders\' headers as "folder/name.h"')
                continue
            if not os.path.exists(target):
                errors.append(f'{rel}: "{name}" does not exist')
                continue
            if target_folder not in ALLOWED[folder]:
                errors.append(f'{rel}: {folder or "user/"} must not include {name} '
                              f'({target_folder} is not below it)')
            tmod = os.path.join(target_folder, os.path.splitext(os.path.basename(name))[0])
            if tmod != module:
                graph.setdefault(module, set()).add(tmod)
    return errors, graph


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
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

    sys.setrecursionlimit(10000)
    for v in sorted(set(graph) | {w for ws in graph.values() for w in ws}):
        if v not in index:
            visit(v)
    return out


def symbol_graph(objdir):
    defined, used = {}, {}
    for dirpath, _, files in os.walk(objdir):
        for f in files:
            if not f.endswith('.o'):
                continue
            path = os.path.join(dirpath, f)
            module = os.path.splitext(os.path.relpath(path, objdir))[0]
            nm = subprocess.run(['nm', '-P', path], capture_output=True, text=True, check=True)
            for line in nm.stdout.splitlines():
                parts = line.split()
                if len(parts) < 2:
                    continue
                sym, kind = parts[0], parts[1]
                if kind == 'U':
                    used.setdefault(module, set()).add(sym)
                elif kind in 'TDBRCVW' and sym.startswith('tkt_'):
                    defined[sym] = module
    graph = {}
    for module, syms in used.items():
        for s in syms:
            if s in defined and defined[s] != module:
                graph.setdefault(module, set()).add(defined[s])
    return graph


def check(root, include_dir, objdir=None):
    errors, graph = check_includes(root, include_dir)
    for comp in cycles(graph):
        errors.append('include circle between ' + ', '.join(comp))
    if objdir:
        for comp in cycles(symbol_graph(objdir)):
            errors.append('symbol circle between ' + ', '.join(comp) +
                          ' (each calls into the other)')
    return errors


def self_test(root, include_dir):
    plants = [
        ('core layer', 'core/model.c', '#include "tracing/tracer.h"\n'),
        ('reports layer', 'reports/report.c', '#include "commands/cli.h"\n'),
        ('libbpf in core', 'core/util.c', '#include <bpf/libbpf.h>\n'),
        ('include circle', 'core/util.h', '#include "model.h"\n'),
    ]
    failed = False
    for what, rel, line in plants:
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, 'user')
            shutil.copytree(root, copy)
            with open(os.path.join(copy, rel), 'a') as f:
                f.write(line)
            if not check(copy, include_dir):
                print(f'check-layers: self-test: a planted {what} ({rel}) was not caught')
                failed = True
    return not failed


def main():
    args = sys.argv[1:]
    objdir = None
    if '--objects' in args:
        i = args.index('--objects')
        objdir = args[i + 1]
        del args[i:i + 2]
    root = args[0] if args else 'user'
    include_dir = os.path.join(os.path.dirname(os.path.abspath(root)), 'include')
    errors = check(root, include_dir, objdir)
    for e in errors:
        print('check-layers: ' + e)
    if errors:
        return 1
    if not self_test(root, include_dir):
        return 1
    print(f'check-layers: {root}: layers and circles OK (and each planted violation caught)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
