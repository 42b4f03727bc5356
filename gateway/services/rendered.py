"""WADO-RS rendered resources (PS3.18 §10.4.1.1.4): an instance or frame as JPEG or PNG.

For a browser or a report, not for diagnosis: pixel data is decoded from the verified
instance bytes (the case store's read path, as everywhere), the modality LUT applied
(Rescale Slope/Intercept), then the first Window Center/Width of the dataset (PS3.3
C.11.2.1.2, linear) or, without one, the frame's own min/max maps it to 8 bits;
MONOCHROME1 is inverted; colour images go out as RGB. Pillow encodes the result.
``quality`` (JPEG, 1-100) and ``viewport`` (fit into ``width,height``) are honoured.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pydicom
from numpy.typing import NDArray
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_modality_lut
from pydicom.pixels.utils import pixel_array

from gateway.exceptions import BadRequest, NotAcceptable, NotFound
from gateway.services.accept import parse_accept

JPEG = "image/jpeg"
PNG = "image/png"
#: The largest viewport side we scale to: a rendered image is a preview, not a copy.
MAX_VIEWPORT = 4096


@dataclass(frozen=True, slots=True)
class Options:
    quality: int = 90
    viewport: tuple[int, int] | None = None


def negotiate(header: str | None) -> str:
    """JPEG unless the client prefers PNG; anything else is 406 (as the default: JPEG)."""
    for media in parse_accept(header):
        if media.type in {JPEG, "image/*", "*/*"}:
            return JPEG
        if media.type == PNG:
            return PNG
    raise NotAcceptable(f"rendered images are available as {JPEG} or {PNG}")


def parse_viewport(text: str | None) -> tuple[int, int] | None:
    """``"512,512"`` → ``(512, 512)``; the cropping parameters of PS3.18 are refused."""
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise BadRequest("viewport must be 'width,height' (positive integers)")
    width, height = int(parts[0]), int(parts[1])
    if not (0 < width <= MAX_VIEWPORT and 0 < height <= MAX_VIEWPORT):
        raise BadRequest(f"viewport sides must be 1 to {MAX_VIEWPORT}")
    return width, height


def _first(value: object) -> float:
    if isinstance(value, list | tuple | pydicom.multival.MultiValue):
        return float(value[0])
    return float(value)  # type: ignore[arg-type]


def _to_8bit(ds: Dataset, frame: NDArray[np.generic]) -> NDArray[np.uint8]:
    values = np.asarray(apply_modality_lut(frame, ds), dtype=np.float64)
    if "WindowCenter" in ds and "WindowWidth" in ds:
        center, width = _first(ds.WindowCenter), max(_first(ds.WindowWidth), 1.0)
        low = center - 0.5 - (width - 1) / 2
        high = center - 0.5 + (width - 1) / 2
    else:
        low, high = float(values.min()), float(values.max())
    span = high - low if high > low else 1.0
    scaled = np.clip((values - low) / span, 0.0, 1.0) * 255.0
    if str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1":
        scaled = 255.0 - scaled
    return scaled.round().astype(np.uint8)


def _image(ds: Dataset, frame: NDArray[np.generic]) -> Image.Image:
    if int(ds.get("SamplesPerPixel", 1)) == 1:
        return Image.fromarray(_to_8bit(ds, frame), mode="L")
    if frame.dtype != np.uint8:  # 16-bit colour: scale to 8 bits per channel
        top = float(frame.max()) or 1.0
        frame = (frame.astype(np.float64) * (255.0 / top)).round().astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(frame), mode="RGB")


def render(*, stream: BinaryIO, frame: int, media_type: str, options: Options) -> bytes:
    """Frame ``frame`` (1-based) of the verified instance in ``stream``, encoded."""
    with stream:
        ds = pydicom.dcmread(io.BytesIO(stream.read()))
    if "PixelData" not in ds:
        raise NotFound("this instance has no pixel data")
    count = int(ds.get("NumberOfFrames", 1) or 1)
    if not 1 <= frame <= count:
        raise NotFound(f"this instance has frames 1 to {count}")
    try:
        pixels = pixel_array(ds, index=frame - 1)  # colour comes out as RGB
    except Exception as exc:  # no decoder for the syntax, or undecodable data
        syntax = ds.file_meta.TransferSyntaxUID
        raise NotAcceptable(f"pixel data in {syntax} cannot be rendered here") from exc
    image = _image(ds, pixels)
    if options.viewport is not None:
        image.thumbnail(options.viewport)
    out = io.BytesIO()
    if media_type == PNG:
        image.save(out, format="PNG")
    else:
        image.save(out, format="JPEG", quality=options.quality)
    return out.getvalue()
