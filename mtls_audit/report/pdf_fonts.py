"""The fonts embedded in the PDF carry the run's time, so that the same evidence gives the same
bytes whichever library subsets them and whenever it runs.

WeasyPrint embeds a subset of each font, made by HarfBuzz-Subset (libharfbuzz-subset0) when the
system has it, else by fontTools. fontTools stamps the subset's ``head.modified`` with the time
it runs (or ``SOURCE_DATE_EPOCH``), so two renderings of one evidence document a second apart
differed in their font bytes, and hence in the whole file; HarfBuzz keeps the original font's
date. ``stamp_fonts`` is a WeasyPrint finisher (it runs on the finished PDF objects, before the
file is written) that sets every embedded font's modification date to the run's.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

# WeasyPrint embeds TrueType (FontFile2) or OpenType (FontFile3, Subtype OpenType) files.
FONT_FILE_KEYS = ("FontFile2", "FontFile3")

Finisher = Callable[[Any, Any], None]


def stamp_fonts(moment: datetime) -> Finisher:
    """A WeasyPrint finisher that dates every embedded font file ``moment``."""
    from fontTools.misc.timeTools import timestampSinceEpoch

    stamp = timestampSinceEpoch(moment.timestamp())

    def finish(document: Any, pdf: Any) -> None:
        for descriptor in pdf.objects:
            if not isinstance(descriptor, dict) or descriptor.get("Type") != "/FontDescriptor":
                continue
            for key in FONT_FILE_KEYS:
                if key in descriptor:
                    _restamp(pdf.objects[int(descriptor[key].split()[0])], stamp)

    return finish


def _restamp(stream: Any, stamp: int) -> None:
    """Set the ``head.modified`` of the font in a pydyf stream (an sfnt: TrueType or OpenType)."""
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(b"".join(stream.stream)), recalcTimestamp=False)
    if "head" not in font or font["head"].modified == stamp:
        return
    font["head"].modified = stamp
    out = io.BytesIO()
    font.save(out)
    stream.stream = [out.getvalue()]
    if "Length1" in stream.extra:
        stream.extra["Length1"] = len(stream.stream[0])
