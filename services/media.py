"""Photos and voice messages: kept outside any public folder, one set of files per attachment, shown without EXIF/GPS.

``MEDIA_DIR/original/<sha[:2]>/<sha>-<name>`` keeps the bytes exactly as LINE sent them (for the
record); ``MEDIA_DIR/clean/<sha[:2]>/<sha>-<name>.jpg`` is a re-encoded copy with no metadata,
which is the only one staff pages and exports use. ``name`` is the attachment's own (``a<id>``),
so that the same photo forwarded into two residents' reports is two sets of files: deleting one
(an unsend, the anonymous-report clean-up) never touches the other. Files stored before that
(named by the SHA-256 alone) may be shared; ``services.photos.unshared`` decides whether such a
file may go.

A voice message is kept as LINE sent it: ``MEDIA_DIR/voice/<sha[:2]>/<sha>-<name>.m4a``, one file
per attachment (its ``clean_key``; it has no ``original_key``).
"""
from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

MAX_SIDE = 2048
# Larger images are refused before they are decoded (a small file can declare a huge image: a
# decompression bomb). 64 megapixels is 8000 x 8000, above any phone photo LINE sends by default.
MAX_PIXELS = 64_000_000


# A voice message longer than LINE's own limit would be larger than this (AAC at 64 kbit/s for
# 10 minutes is under 5 MB).
MAX_VOICE_BYTES = 20 * 1024 * 1024


class TooLarge(ValueError):
    """The image declares more pixels than MAX_PIXELS (or a voice message is over MAX_VOICE_BYTES);
    nothing was decoded or stored."""


def audio_type(data: bytes) -> str:
    """``audio/mp4`` for an MP4/M4A file (what LINE sends for a voice message), else a plain binary type."""
    return "audio/mp4" if data[4:8] == b"ftyp" else "application/octet-stream"


@dataclass(frozen=True)
class StoredMedia:
    sha256: str
    size: int
    content_type: str
    original_key: str | None
    clean_key: str | None


class MediaStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        p = (self.root / key).resolve()
        if self.root.resolve() not in p.parents:
            raise ValueError("media key outside the media folder")
        return p

    def _write(self, key: str, data: bytes) -> None:
        p = self.path(key)
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = p.with_suffix(p.suffix + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, p)

    def save(self, data: bytes, content_type: str | None = None, name: str | None = None) -> StoredMedia:
        """Store the bytes and the clean copy; raises TooLarge (storing nothing) for a huge image."""
        clean = strip_metadata(data)
        sha = hashlib.sha256(data).hexdigest()
        stem = f"{sha}-{name}" if name else sha
        original_key = f"original/{sha[:2]}/{stem}"
        if not self.path(original_key).exists():
            self._write(original_key, data)
        clean_key = f"clean/{sha[:2]}/{stem}.jpg"
        if clean is not None:
            if not self.path(clean_key).exists():
                self._write(clean_key, clean)
        else:
            clean_key = None
        return StoredMedia(sha, len(data), content_type or "application/octet-stream", original_key, clean_key)

    def save_voice(self, data: bytes, name: str) -> StoredMedia:
        """Store a voice message as LINE sent it (m4a), under ``voice/``; raises TooLarge (storing
        nothing) above MAX_VOICE_BYTES. It is the only copy: ``clean_key`` is what staff hear."""
        if len(data) > MAX_VOICE_BYTES:
            raise TooLarge(f"{len(data)} bytes")
        sha = hashlib.sha256(data).hexdigest()
        key = f"voice/{sha[:2]}/{sha}-{name}.m4a"
        if not self.path(key).exists():
            self._write(key, data)
        return StoredMedia(sha, len(data), audio_type(data), None, key)

    def delete(self, *keys: str | None) -> None:
        for key in keys:
            if key:
                try:
                    self.path(key).unlink()
                except FileNotFoundError:
                    pass


def strip_metadata(data: bytes) -> bytes | None:
    """A JPEG copy with the orientation applied and no EXIF, GPS, comment or other metadata; None if
    not an image. Raises TooLarge, before decoding, for an image of more than MAX_PIXELS."""
    try:
        with Image.open(io.BytesIO(data)) as img:  # reads the header only
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise TooLarge(f"{width}x{height}")
            if img.format == "JPEG":
                img.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode a large JPEG at a reduced scale
            img = ImageOps.exif_transpose(img)
            img = img.convert("RGB")
            img.thumbnail((MAX_SIDE, MAX_SIDE))
            # Pillow writes what ``info`` holds (a JPEG or GIF comment, an ICC profile, ...): start empty.
            img.info = {}
            out = io.BytesIO()
            img.save(out, format="JPEG", quality=85)  # no exif=, comment= or icc_profile= argument
            return out.getvalue()
    except Image.DecompressionBombError as exc:  # beyond Pillow's own limit: refused at open
        raise TooLarge(str(exc)[:60]) from None
    except TooLarge:
        raise
    except (OSError, ValueError):
        return None
