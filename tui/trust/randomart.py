"""Provides OpenSSH's randomart ("drunken bishop") of a fingerprint, and a host key's size.

The picture ``ssh-keygen -lv`` and ``ssh -o VisualHostKey=yes`` draw: a bishop starts in the
middle of a 17x9 field and walks the raw digest, two bits a step (low bits first); each square
counts the visits, drawn as `` .o+=*BOX@%&#/^``, with ``S`` where it started and ``E`` where it
ended (``fingerprint_randomart`` in OpenSSH's ``sshkey.c``). It depends on the digest alone,
so the key a site was trusted with can be drawn from the stored SHA-256 as well.

The title names the key's type and size as ``sshkey_type``/``sshkey_size`` do (``[ED25519
256]``), read here from the key blob; a blob that does not parse gives no size and nothing
raises. Plain stdlib: no Textual, no Rich.
"""

from __future__ import annotations

import struct

FIELD_X = 17  # FLDBASE * 2 + 1
FIELD_Y = 9  # FLDBASE + 1
SYMBOLS = " .o+=*BOX@%&#/^SE"
_START, _END = len(SYMBOLS) - 2, len(SYMBOLS) - 1  # "S", "E"
_MOST = len(SYMBOLS) - 4  # a square's visits stop counting here ("^" is never a visit)

#: a key blob's type → the name ``sshkey_type`` prints
TYPE_NAMES = {
    "ssh-ed25519": "ED25519",
    "ssh-rsa": "RSA",
    "ssh-dss": "DSA",
    "ecdsa-sha2-nistp256": "ECDSA",
    "ecdsa-sha2-nistp384": "ECDSA",
    "ecdsa-sha2-nistp521": "ECDSA",
    "sk-ecdsa-sha2-nistp256@openssh.com": "ECDSA-SK",
    "sk-ssh-ed25519@openssh.com": "ED25519-SK",
}
_CURVES = {b"nistp256": 256, b"nistp384": 384, b"nistp521": 521}


def randomart(digest: bytes, title: str = "", hash_name: str = "SHA256") -> str:
    """The randomart of ``digest`` (the raw fingerprint bytes) as OpenSSH draws it.

    Args:
        digest: The raw digest (32 bytes for SHA-256); any length is drawn.
        title: The top border's label without brackets (``"ED25519 256"``), or ``""``
            for a plain border (a key whose type is not known).
        hash_name: The bottom border's label (``"SHA256"``).

    Returns:
        11 lines of 19 characters joined by ``\\n`` (no newline at the end).
    """
    field = [[0] * FIELD_Y for _ in range(FIELD_X)]
    x, y = FIELD_X // 2, FIELD_Y // 2
    for byte in digest:
        for _ in range(4):
            x = min(max(x + (1 if byte & 1 else -1), 0), FIELD_X - 1)
            y = min(max(y + (1 if byte & 2 else -1), 0), FIELD_Y - 1)
            if field[x][y] < _MOST:
                field[x][y] += 1
            byte >>= 2
    field[FIELD_X // 2][FIELD_Y // 2] = _START
    field[x][y] = _END
    lines = [_border(f"[{title}]" if title else "")]
    for row in range(FIELD_Y):
        lines.append("|" + "".join(SYMBOLS[field[col][row]] for col in range(FIELD_X)) + "|")
    lines.append(_border(f"[{hash_name}]" if hash_name else ""))
    return "\n".join(lines)


def _border(label: str) -> str:
    """``+--[label]--+``, the label centred as OpenSSH centres it (and cut as its
    17-byte buffer cuts it). Anything but printable ASCII becomes ``?``: one column each."""
    label = "".join(ch if " " <= ch <= "~" else "?" for ch in label[: FIELD_X - 1])
    left = (FIELD_X - len(label)) // 2
    return "+" + "-" * left + label + "-" * (FIELD_X - left - len(label)) + "+"


def key_title(key_type: str, blob: bytes) -> str:
    """The randomart title for a key: ``"ED25519 256"``, ``"RSA 3072"``, just the type when
    its size cannot be read, ``""`` when the type is not one OpenSSH names. Never raises."""
    name = TYPE_NAMES.get(key_type, "")
    if not name:
        return ""
    bits = key_bits(blob)
    title = f"{name} {bits}" if bits else name
    # OpenSSH falls back to the type alone when "[type size]" does not fit its buffer.
    return title if len(title) + 2 <= FIELD_X else name


def key_bits(blob: bytes) -> int | None:
    """The key's size in bits, as ``sshkey_size`` gives it (the RSA modulus' or DSA prime's
    bits, the ECDSA curve's size, 256 for Ed25519), or None when the blob does not parse.
    Never raises."""
    try:
        fields = _strings(blob)
    except ValueError:
        return None
    if not fields:
        return None
    kind = fields[0]
    if kind == b"ssh-rsa" and len(fields) == 3:  # e, n
        return _mpint_bits(fields[2])
    if kind == b"ssh-dss" and len(fields) == 5:  # p, q, g, y
        return _mpint_bits(fields[1])
    if kind.startswith((b"ecdsa-sha2-", b"sk-ecdsa-sha2-")) and len(fields) >= 3:
        return _CURVES.get(fields[1])  # sk keys carry the application after the point
    if kind in (b"ssh-ed25519", b"sk-ssh-ed25519@openssh.com") and len(fields) >= 2:
        return 256 if len(fields[1]) == 32 else None
    return None


def _strings(blob: bytes) -> list[bytes]:
    """The SSH ``string`` fields a key blob is made of.

    Raises:
        ValueError: a length runs past the end of the blob.
    """
    fields, offset = [], 0
    while offset < len(blob):
        if offset + 4 > len(blob):
            raise ValueError("truncated length")
        (length,) = struct.unpack_from(">I", blob, offset)
        offset += 4
        if offset + length > len(blob):
            raise ValueError("truncated field")
        fields.append(blob[offset : offset + length])
        offset += length
    return fields


def _mpint_bits(value: bytes) -> int | None:
    """The bits of a positive mpint (its leading zero byte, if any, does not count)."""
    if not value or value[0] & 0x80:
        return None  # zero or negative: no key
    return int.from_bytes(value, "big").bit_length() or None
