"""Demo extension: the drills' archives (演练档案), so that the archive check has something to find.

Most drills hold every kind their level requires (archive.DEFAULT_REQUIRED); a share of them lack one
kind, more often at the lower levels, as a county's real archives do. The files themselves are a few
small generated samples (a PDF, a PNG) written once beside the database under attachments/demo/ and
shared by every demo row; uploading a real file replaces nothing.
"""

from __future__ import annotations

import random
import struct
import zlib
from datetime import datetime, time
from pathlib import PurePath
from typing import TYPE_CHECKING

from ..archive import DEFAULT_REQUIRED, KIND_LABELS
from ..db import TZ, insert_frame

if TYPE_CHECKING:
    from ..db import Database

# Share of drills whose archive lacks one required kind, by level.
INCOMPLETE_SHARE = {"county": 0.08, "township": 0.15, "enterprise": 0.2, "village": 0.3}
SAMPLE_DIR = PurePath("attachments", "demo")


def sample_pdf(text: str) -> bytes:
    """A one-page PDF saying `text` (ASCII only: the sample's name, not its Chinese label)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def sample_png(width: int = 64, height: int = 48, rgb: tuple[int, int, int] = (192, 57, 43)) -> bytes:
    """A plain-coloured PNG (a stand-in for a photo of the drill or of its sign-in sheet)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _samples() -> dict[str, tuple[str, bytes]]:
    """kind -> (file name, content) of the shared sample files."""
    pdf = {k: (f"{KIND_LABELS[k]}（演示）.pdf", sample_pdf(f"demo {k}")) for k in ("scheme", "evaluation", "summary")}
    return {
        **pdf,
        "script": (f"{KIND_LABELS['script']}（演示）.pdf", sample_pdf("demo script")),
        "sign_in": (f"{KIND_LABELS['sign_in']}（演示）.png", sample_png(rgb=(240, 240, 240))),
        "photo": (f"{KIND_LABELS['photo']}（演示）.png", sample_png()),
    }


def extend(db: Database, scale: int, rng: random.Random) -> dict:
    from ..drills import attachments_dir

    data_dir = attachments_dir(db).parent  # stored paths are relative to it
    (data_dir / SAMPLE_DIR).mkdir(parents=True, exist_ok=True)
    stored = {}
    for kind, (name, data) in _samples().items():
        relative = SAMPLE_DIR / f"{kind}{PurePath(name).suffix}"
        (data_dir / relative).write_bytes(data)
        stored[kind] = (name, relative.as_posix(), len(data))

    drills = db.query("SELECT id, level, held_on FROM drills ORDER BY id")
    rows = []
    for drill_id, level, held_on in drills:
        kinds = list(DEFAULT_REQUIRED.get(level, []))
        if kinds and rng.random() < INCOMPLETE_SHARE.get(level, 0):
            kinds.remove(rng.choice(kinds))
        if level in ("county", "township") and "photo" not in kinds:
            kinds.append("photo")
        uploaded = datetime.combine(held_on, time(18, 0), TZ)
        for kind in kinds:
            name, stored_path, size = stored[kind]
            rows.append(
                {
                    "drill_id": drill_id,
                    "kind": kind,
                    "original_name": name,
                    "stored_path": stored_path,
                    "size_bytes": size,
                    "uploaded_by": "demo",
                    "uploaded_at": uploaded,
                }
            )

    if rows:
        db.write(lambda cur: insert_frame(cur, "drill_attachments", rows))
    return {"drill_attachments": len(rows)}
