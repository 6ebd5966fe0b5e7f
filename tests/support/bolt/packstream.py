"""PackStream v1, the Bolt protocol's value encoding, written from the specification
(neo4j.com/docs/bolt/current/packstream/) rather than borrowed from the driver, so the driver's
own decoder is what the stand-in tests.

Markers: null C0, false C2, true C3, float64 C1, integers as tiny ints (-16..127) or C8/C9/CA/CB
(8-64 bit, big-endian), bytes CC-CE, strings 8x/D0-D2, lists 9x/D4-D6, maps Ax/D8-DA and
structures Bx followed by a one-byte tag; sizes 0-15 fit in the marker's low nibble.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class Structure:
    """A tagged structure: a Bolt message, or a graph or temporal value."""

    tag: bytes
    fields: tuple


def _size(out: bytearray, n: int, tiny: int, markers: tuple[int, int, int]) -> None:
    if n < 16 and tiny:
        out.append(tiny + n)
    elif n < 0x100:
        out += bytes((markers[0], n))
    elif n < 0x10000:
        out.append(markers[1])
        out += struct.pack(">H", n)
    else:
        out.append(markers[2])
        out += struct.pack(">I", n)


def pack_into(out: bytearray, value: object) -> None:
    """Append the encoding of `value`."""
    if value is None:
        out.append(0xC0)
    elif value is True:
        out.append(0xC3)
    elif value is False:
        out.append(0xC2)
    elif isinstance(value, int):
        if -0x10 <= value < 0x80:
            out += struct.pack(">b", value)
        elif -0x80 <= value < 0x80:
            out += b"\xc8" + struct.pack(">b", value)
        elif -0x8000 <= value < 0x8000:
            out += b"\xc9" + struct.pack(">h", value)
        elif -0x80000000 <= value < 0x80000000:
            out += b"\xca" + struct.pack(">i", value)
        else:
            out += b"\xcb" + struct.pack(">q", value)
    elif isinstance(value, float):
        out += b"\xc1" + struct.pack(">d", value)
    elif isinstance(value, str):
        data = value.encode("utf-8")
        _size(out, len(data), 0x80, (0xD0, 0xD1, 0xD2))
        out += data
    elif isinstance(value, bytes | bytearray):
        _size(out, len(value), 0, (0xCC, 0xCD, 0xCE))
        out += value
    elif isinstance(value, list | tuple):
        _size(out, len(value), 0x90, (0xD4, 0xD5, 0xD6))
        for item in value:
            pack_into(out, item)
    elif isinstance(value, dict):
        _size(out, len(value), 0xA0, (0xD8, 0xD9, 0xDA))
        for k, v in value.items():
            pack_into(out, str(k))
            pack_into(out, v)
    elif isinstance(value, Structure):
        out.append(0xB0 + len(value.fields))
        out += value.tag
        for f in value.fields:
            pack_into(out, f)
    elif hasattr(value, "to_structure"):
        pack_into(out, value.to_structure())
    else:
        raise TypeError(f"cannot pack {type(value).__name__}")


def pack(value: object) -> bytes:
    """The encoding of one value."""
    out = bytearray()
    pack_into(out, value)
    return bytes(out)


class Unpacker:
    """Decodes values from a buffer, one after another."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("truncated PackStream value")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def _length(self, marker: int, base: int) -> int:
        fmt = {0: ">B", 1: ">H", 2: ">I"}[marker - base]
        return struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]

    def unpack(self) -> object:
        """The next value."""
        m = self._take(1)[0]
        if m < 0x80:
            return m
        if m >= 0xF0:
            return m - 0x100
        hi = m & 0xF0
        if hi == 0x80:
            return self._take(m & 0x0F).decode("utf-8")
        if hi == 0x90:
            return [self.unpack() for _ in range(m & 0x0F)]
        if hi == 0xA0:
            return self._map(m & 0x0F)
        if hi == 0xB0:
            tag = self._take(1)
            return Structure(tag, tuple(self.unpack() for _ in range(m & 0x0F)))
        fixed = {0xC0: None, 0xC2: False, 0xC3: True}
        if m in fixed:
            return fixed[m]
        ints = {0xC8: ">b", 0xC9: ">h", 0xCA: ">i", 0xCB: ">q", 0xC1: ">d"}
        if m in ints:
            fmt = ints[m]
            return struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]
        if 0xCC <= m <= 0xCE:
            return bytes(self._take(self._length(m, 0xCC)))
        if 0xD0 <= m <= 0xD2:
            return self._take(self._length(m, 0xD0)).decode("utf-8")
        if 0xD4 <= m <= 0xD6:
            return [self.unpack() for _ in range(self._length(m, 0xD4))]
        if 0xD8 <= m <= 0xDA:
            return self._map(self._length(m, 0xD8))
        raise ValueError(f"unknown PackStream marker 0x{m:02X}")

    def _map(self, n: int) -> dict:
        out = {}
        for _ in range(n):
            key = self.unpack()
            if not isinstance(key, str):
                raise ValueError("PackStream map keys must be strings")
            out[key] = self.unpack()
        return out
