#!/usr/bin/env python3
"""Relaxes R_X86_64_GOTPCREL relocations of a relocatable x86-64 ELF object in place.

The Linux 6.1 module loader rejects GOTPCREL (type 9). The precompiled `core` of
x86_64-unknown-none is position-independent, so its calls into other `core` functions go
through the GOT even when the shim is built with relocation-model=static. This does what a
linker's GOTPCRELX relaxation does, for the three instruction forms found:

  ff 15 disp32  call *sym@GOTPCREL(%rip)  ->  67 e8 rel32  addr32 call sym
  ff 25 disp32  jmp  *sym@GOTPCREL(%rip)  ->  90 e9 rel32  nop; jmp sym
  REX 8b disp32 mov sym@GOTPCREL(%rip),r  ->  REX 8d rel32  lea sym(%rip),r

and retypes the relocation to R_X86_64_PC32 (same addend). Any other form is an error.
Usage: relax_gotpcrel.py OBJ
"""
import struct
import sys

R_GOTPCREL, R_PC32 = 9, 2


def main(path):
    data = bytearray(open(path, "rb").read())
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "ELF64 LE only"
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    n = 0
    for (_name, typ, _fl, _addr, off, size, _link, info, _al, entsize) in secs:
        if typ != 4:  # SHT_RELA
            continue
        target_off = secs[info][4]
        for e in range(size // entsize):
            eo = off + e * entsize
            r_off, r_info, _addend = struct.unpack_from("<QQq", data, eo)
            if r_info & 0xFFFFFFFF != R_GOTPCREL:
                continue
            p = target_off + r_off
            op = bytes(data[p - 2:p])
            if op == b"\xff\x15":
                data[p - 2:p] = b"\x67\xe8"
            elif op == b"\xff\x25":
                data[p - 2:p] = b"\x90\xe9"
            elif op[0] == 0x8B and (op[1] & 0xC7) == 0x05 and (data[p - 3] & 0xF0) == 0x40:
                data[p - 2] = 0x8D
            else:
                sys.exit(f"{path}: GOTPCREL at {r_off:#x} after unknown opcode {op.hex()}")
            struct.pack_into("<Q", data, eo + 8, (r_info & ~0xFFFFFFFF) | R_PC32)
            n += 1
    open(path, "wb").write(data)
    print(f"  relaxed {n} GOTPCREL relocation(s)")


if __name__ == "__main__":
    main(sys.argv[1])
