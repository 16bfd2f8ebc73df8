"""Image thumbnails for `/object/access_url?type=image&width&height&format`, as OpenIM's MinIO engine makes them.

The requested box is clipped to the image; the picture is scaled to fit in it keeping its aspect ratio. Format
png, jpeg (jpg) or gif; anything else is png. Asking for the image's own size and format, or for more than
1024 pixels a side, answers the original. A thumbnail is generated once and stored beside the objects
(`openim/thumbnail/<md5 of the key>/image_w<W>_h<H>.<format>`): keys are content-addressed, so it never goes stale.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections import OrderedDict
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from openim.infra.objects import ObjectStore
from openim.protocol.errors import ArgsError

__all__ = ["ImageBox", "ImageInfo", "Thumbnails"]

MAX_IMAGE_SIZE = 50 << 20  # bytes read to make a thumbnail (OpenIM: 50 MB)
MAX_IMAGE_PIXELS = 50_000_000  # a decompression bomb is refused before it is decoded
MAX_SIDE = 1024
THUMBNAIL_PATH = "openim/thumbnail"
_FORMATS = ("png", "jpeg", "gif")


@dataclass(frozen=True, slots=True)
class ImageInfo:
    width: int
    height: int
    format: str  # Pillow's name, lower case: png, jpeg, gif, webp, ...


@dataclass(frozen=True, slots=True)
class ImageBox:
    """What a client asked for; 0 = the image's own size."""

    width: int
    height: int
    format: str


class Thumbnails:
    def __init__(self, store: ObjectStore, *, cache_size: int = 1024) -> None:
        self.store = store
        self._info: OrderedDict[str, ImageInfo] = OrderedDict()  # key → info; keys never change content
        self._cache_size = cache_size

    async def key_for(self, key: str, size: int, box: ImageBox) -> tuple[str, str]:
        """The stored key to answer with (the original or its thumbnail, made now if missing) and its type."""
        if size > MAX_IMAGE_SIZE:
            raise ArgsError("image too large for a thumbnail")
        info = await self._image_info(key)
        width = info.width if box.width <= 0 or box.width > info.width else box.width
        height = info.height if box.height <= 0 or box.height > info.height else box.height
        fmt = box.format.lower()
        fmt = "jpeg" if fmt == "jpg" else fmt
        fmt = fmt if fmt in _FORMATS else "png"
        if (
            box.width > MAX_SIDE
            or box.height > MAX_SIDE
            or (width == info.width and height == info.height and fmt == info.format)
        ):
            return key, f"image/{info.format}"
        tag = hashlib.md5(key.encode()).hexdigest()
        thumb = f"{THUMBNAIL_PATH}/{tag}/image_w{width}_h{height}.{fmt}"
        if await self.store.stat(thumb) is None:
            data = await self.store.read(key, limit=MAX_IMAGE_SIZE)
            encoded = await asyncio.to_thread(_render, data, width, height, fmt)
            await self.store.put(thumb, encoded, content_type=f"image/{fmt}")
        return thumb, f"image/{fmt}"

    async def _image_info(self, key: str) -> ImageInfo:
        info = self._info.get(key)
        if info is None:
            data = await self.store.read(key, limit=MAX_IMAGE_SIZE)
            info = await asyncio.to_thread(_inspect, data)
            self._info[key] = info
            if len(self._info) > self._cache_size:
                self._info.popitem(last=False)
        return info


def _open(data: bytes) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ArgsError("object is not an image") from None
    if img.width * img.height > MAX_IMAGE_PIXELS:
        raise ArgsError("image has too many pixels for a thumbnail")
    return img


def _inspect(data: bytes) -> ImageInfo:
    img = _open(data)
    return ImageInfo(img.width, img.height, (img.format or "png").lower())


def _render(data: bytes, width: int, height: int, fmt: str) -> bytes:
    img = _open(data)
    scale = min(width / img.width, height / img.height)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    thumb = img.convert("RGBA" if fmt != "jpeg" else "RGB").resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, format=fmt.upper(), **({"quality": 75} if fmt == "jpeg" else {}))
    return out.getvalue()
