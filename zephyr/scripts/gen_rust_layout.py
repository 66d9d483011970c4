#!/usr/bin/env python3
"""Reads the layout probe (zephyr/src/zr_layout.c compiled for the application) and writes the
text file that crates/zephyr-sys/build.rs turns into Rust items.

Every ZR_* absolute symbol of the object file becomes a line `NAME VALUE`, VALUE being the
symbol's raw (unsigned) value; the first line, `bits N`, says how wide an address is, so a
negative constant can be read back. Uses pyelftools, which Zephyr's own build requires.

Usage: gen_rust_layout.py OBJECT OUTPUT
"""
import sys

from elftools.elf.elffile import ELFFile


def main():
    obj, out = sys.argv[1], sys.argv[2]
    lines = []
    with open(obj, "rb") as f:
        elf = ELFFile(f)
        bits = elf.elfclass
        symtab = elf.get_section_by_name(".symtab")
        if symtab is None:
            sys.exit(f"{obj}: no symbol table")
        for sym in symtab.iter_symbols():
            if sym.name.startswith("ZR_") and sym["st_shndx"] == "SHN_ABS":
                lines.append(f"{sym.name} {sym['st_value']}")
    if not lines:
        sys.exit(f"{obj}: no ZR_* symbols: is it the layout probe?")
    text = f"bits {bits}\n" + "\n".join(sorted(lines)) + "\n"
    try:
        with open(out) as f:
            if f.read() == text:
                return  # unchanged: keep the timestamp, so cargo does not rebuild
    except FileNotFoundError:
        pass
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
