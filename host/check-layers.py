#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fails when a layer of libvigil-host needs a layer above it.

Usage: check-layers.py NM LAYER=LIBRARY.a ...  (bottom layer first)

The layers' static libraries are given in layer order, as host/meson.build
lists them (the one place the order is written). For every object of every
layer, each undefined symbol must be defined in the same layer or a layer
below; one that is defined only in a layer above is a cycle in the making
(the upper layer already depends on the lower one), and the check names the
object, the symbol and the layer that defines it. Symbols no layer defines
(GLib, SQLite, libc) are not the check's business.
"""
import os
import subprocess
import sys


def symbols(nm, library):
    """{object: (defined set, undefined set)} of @library's members."""
    out = subprocess.run([nm, '-g', library], check=True, capture_output=True,
                         text=True).stdout
    members = {}
    current = None
    for line in out.splitlines():
        if line.endswith(':'):
            current = members.setdefault(line[:-1], (set(), set()))
            continue
        parts = line.split()
        if current is None or len(parts) < 2:
            continue
        kind, name = parts[-2], parts[-1]
        if kind == 'U':
            current[1].add(name)
        elif kind not in ('w', 'v'):
            current[0].add(name)
    return members


def main(argv):
    if len(argv) < 4:
        sys.exit('usage: check-layers.py NM LAYER=LIBRARY.a ... (bottom first)')
    nm = argv[1]
    layers = [arg.split('=', 1) for arg in argv[2:]]
    defined_in = {}          # symbol -> index of the lowest layer defining it
    members = []
    for index, (name, library) in enumerate(layers):
        objs = symbols(nm, library)
        defined = set().union(*(d for d, _ in objs.values())) if objs else set()
        if not defined:
            # A library nm cannot read (LTO bytecode, a wrong nm) would make
            # the check pass vacuously: that is a failure, not a pass.
            sys.exit(f'{name}: no symbols read from {library} with {nm}')
        for sym in defined:
            defined_in.setdefault(sym, index)
        members.append(objs)

    problems = []
    for index, (name, _) in enumerate(layers):
        for obj, (_, undefined) in sorted(members[index].items()):
            obj = os.path.basename(obj)
            for sym in sorted(undefined):
                owner = defined_in.get(sym)
                if owner is not None and owner > index:
                    problems.append(f'{name}/{obj} uses {sym}, defined only in '
                                    f'the {layers[owner][0]} layer above it')
    order = ' -> '.join(name for name, _ in layers)
    if problems:
        print(f'layer order: {order}', file=sys.stderr)
        for p in problems:
            print(p, file=sys.stderr)
        print(f'{len(problems)} reference(s) up the layers: invert them '
              '(a callback or hook the upper layer registers), see '
              'docs/architecture.md', file=sys.stderr)
        return 1
    print(f'layer order {order}: no layer uses a layer above it')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
