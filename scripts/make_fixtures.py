#!/usr/bin/env python3
"""Generate the extra image fixtures used by src/image/tests.rs.

Writes small PNG/JPEG files produced by several encoders (Pillow, ImageMagick, pngcrush,
libjpeg-turbo's cjpeg/jpegtran, and a few hand-assembled ones) into
tests/fixtures/images/. The existing sample.* and large.png fixtures are not touched.

Requirements (Debian): python3-pil (or `pip install pillow`), and
    apt-get install -y imagemagick libjpeg-turbo-progs pngcrush
Run from anywhere:  python3 scripts/make_fixtures.py
Output is deterministic for a given set of encoder versions; the Rust tests only rely on
the dimensions listed in src/image/tests.rs (checked again here with Pillow).
"""

import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

from PIL import Image, ImageCms, PngImagePlugin

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "images")
PROTECTED = {
    "sample.png", "sample.jpg", "sample-progressive.jpg", "sample.gif",
    "sample.webp", "sample.svg", "sample.html", "large.png",
}
MAX_SIZE = 30 * 1024


def tool(*names):
    for name in names:
        path = shutil.which(name) if not os.path.isabs(name) else (name if os.path.exists(name) else None)
        if path:
            return path
    sys.exit(f"missing tool: one of {names}")


# Prefer the real ImageMagick binary over any wrapper earlier on PATH.
CONVERT = tool("/usr/bin/convert", "convert")
CJPEG = tool("cjpeg")
DJPEG = tool("djpeg")
JPEGTRAN = tool("jpegtran")
PNGCRUSH = tool("pngcrush")


def base_image(w=64, h=48):
    """Deterministic RGB test picture: gradients, a few shapes and mild noise."""
    img = Image.new("RGB", (w, h))
    px = img.load()
    seed = 12345
    for y in range(h):
        for x in range(w):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            n = (seed >> 16) % 9 - 4
            r = (x * 255 // max(w - 1, 1) + n) % 256
            g = (y * 255 // max(h - 1, 1) + n) % 256
            b = 200 if (x // 8 + y // 8) % 2 else 40
            if (x - w // 2) ** 2 + (y - h // 2) ** 2 < (h // 4) ** 2:
                r, g, b = 250, 250, 30
            px[x, y] = (r, g, b)
    return img


def write(name, data, check_with_djpeg=False):
    assert name not in PROTECTED, name
    if len(data) > MAX_SIZE:
        sys.exit(f"{name}: {len(data)} bytes is over the {MAX_SIZE}-byte budget")
    if check_with_djpeg:
        # Pillow's own marker walker rejects TEM; libjpeg (what browsers use) accepts it.
        data_ppm = run([DJPEG, "-strict"], data)
        with Image.open(io.BytesIO(data_ppm)) as im:
            print(f"{name:40} {len(data):6} bytes  JPEG  (djpeg) {im.size[0]}x{im.size[1]}")
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    if check_with_djpeg:
        return
    with Image.open(io.BytesIO(data)) as im:
        im.load()  # must decode
        print(f"{name:40} {len(data):6} bytes  {im.format:5} {im.mode:6} {im.size[0]}x{im.size[1]}")


def pil_bytes(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def run(cmd, stdin=None):
    return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, check=True).stdout


def magick(src_img, args, out_ext):
    """Encode `src_img` (saved as a lossless PNG) with ImageMagick `convert`."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "in.png")
        dst = os.path.join(d, "out." + out_ext)
        src_img.save(src)
        prefix = args.pop() if args and args[-1].endswith(":") else ""
        run([CONVERT, src, "-strip", *args, prefix + dst])
        with open(dst, "rb") as f:
            return f.read()


def png_chunk(ty, data):
    return struct.pack(">I", len(data)) + ty + data + struct.pack(">I", zlib.crc32(ty + data))


def main():
    os.makedirs(OUT, exist_ok=True)
    img = base_image()
    rgba = img.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(img.size))

    # ---- PNG, Pillow ------------------------------------------------------------
    write("png-rgb-pillow.png", pil_bytes(img, "PNG", optimize=True))
    write("png-rgba-pillow.png", pil_bytes(rgba, "PNG"))
    pal = img.quantize(colors=16)
    pal.info["transparency"] = 0  # adds tRNS after PLTE
    write("png-paletted-pillow.png", pil_bytes(pal, "PNG", transparency=0))
    write("png-gray-pillow.png", pil_bytes(img.convert("L"), "PNG"))
    gray16 = img.convert("L").point(lambda v: v * 257, "I").convert("I;16")
    write("png-gray16-pillow.png", pil_bytes(gray16, "PNG"))
    write("png-1bit-pillow.png", pil_bytes(img.convert("1"), "PNG"))
    meta = PngImagePlugin.PngInfo()
    meta.add_text("Title", "fixture")
    meta.add_text("Comment", "compressed text " * 8, zip=True)
    meta.add_itxt("Description", "international text \u00e9", lang="fr", tkey="D\u00e9scription")
    write("png-text-chunks-pillow.png",
          pil_bytes(img.resize((32, 24)), "PNG", pnginfo=meta, dpi=(72, 72)))
    frames = [img.resize((32, 24)), img.resize((32, 24)).transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    write("png-apng-pillow.png",
          pil_bytes(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0))

    # ---- PNG, ImageMagick ---------------------------------------------------------
    write("png-interlaced-magick.png", magick(img, ["-interlace", "PNG"], "png"))
    write("png-rgb16-magick.png", magick(img, ["-depth", "16", "PNG48:"], "png"))
    write("png-gray-alpha-magick.png",
          magick(rgba, ["-colorspace", "Gray", "-define", "png:color-type=4"], "png"))
    write("png-paletted-magick.png", magick(img, ["-colors", "32", "PNG8:"], "png"))
    write("png-rgba-interlaced-magick.png",
          magick(rgba, ["-interlace", "PNG", "PNG32:"], "png"))

    # ---- PNG, pngcrush ------------------------------------------------------------
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "in.png"), os.path.join(d, "out.png")
        img.save(src)
        run([PNGCRUSH, "-q", "-reduce", "-rem", "alla", src, dst])
        with open(dst, "rb") as f:
            write("png-reduced-pngcrush.png", f.read())

    # ---- PNG, hand-assembled: IDAT split into many chunks (incl. empty ones) --------
    w, h = 24, 16
    raw = b"".join(b"\x00" + bytes((x * 10 + y) % 256 for x in range(w)) for y in range(h))
    z = zlib.compress(raw, 9)
    parts = [z[i:i + 17] for i in range(0, len(z), 17)]
    body = png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    body += png_chunk(b"gAMA", struct.pack(">I", 45455))
    body += png_chunk(b"IDAT", b"")
    for p in parts:
        body += png_chunk(b"IDAT", p)
    body += png_chunk(b"IDAT", b"")
    body += png_chunk(b"tIME", struct.pack(">HBBBBB", 2024, 1, 2, 3, 4, 5))
    body += png_chunk(b"IEND", b"")
    write("png-multi-idat-python.png", b"\x89PNG\r\n\x1a\n" + body)

    # ---- JPEG, Pillow -------------------------------------------------------------
    write("jpeg-baseline-420-pillow.jpg", pil_bytes(img, "JPEG", quality=75, subsampling=2))
    write("jpeg-baseline-444-pillow.jpg", pil_bytes(img, "JPEG", quality=75, subsampling=0))
    write("jpeg-progressive-pillow.jpg",
          pil_bytes(img, "JPEG", quality=80, progressive=True, optimize=True))
    write("jpeg-cmyk-pillow.jpg", pil_bytes(img.convert("CMYK"), "JPEG", quality=75))
    write("jpeg-gray-pillow.jpg", pil_bytes(img.convert("L"), "JPEG", quality=75))
    exif = Image.Exif()
    exif[0x010F] = "FixtureCam"  # Make
    exif[0x0110] = "Model 1"     # Model
    exif[0x0112] = 1             # Orientation
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    write("jpeg-exif-icc-pillow.jpg",
          pil_bytes(img, "JPEG", quality=70, exif=exif.tobytes(), icc_profile=icc))
    write("jpeg-restart-pillow.jpg",
          pil_bytes(img, "JPEG", quality=75, restart_marker_blocks=1))

    # ---- JPEG, ImageMagick --------------------------------------------------------
    write("jpeg-baseline-magick.jpg",
          magick(img, ["-quality", "80", "-sampling-factor", "2x2", "-comment", "made by magick"], "jpg"))
    write("jpeg-444-magick.jpg", magick(img, ["-quality", "80", "-sampling-factor", "1x1"], "jpg"))
    write("jpeg-progressive-magick.jpg", magick(img, ["-quality", "80", "-interlace", "JPEG"], "jpg"))
    write("jpeg-cmyk-magick.jpg", magick(img, ["-colorspace", "CMYK", "-quality", "80"], "jpg"))
    write("jpeg-gray-magick.jpg", magick(img, ["-colorspace", "Gray", "-quality", "80"], "jpg"))

    # ---- JPEG, libjpeg-turbo command-line tools -------------------------------------
    ppm = pil_bytes(img, "PPM")
    write("jpeg-restart-cjpeg.jpg", run([CJPEG, "-quality", "75", "-restart", "1B"], ppm))
    write("jpeg-arithmetic-cjpeg.jpg", run([CJPEG, "-quality", "75", "-arithmetic"], ppm))
    write("jpeg-progressive-arithmetic-cjpeg.jpg",
          run([CJPEG, "-quality", "75", "-arithmetic", "-progressive"], ppm))
    write("jpeg-optimized-smooth-cjpeg.jpg", run([CJPEG, "-quality", "75", "-optimize", "-smooth", "10"], ppm))
    base = pil_bytes(img, "JPEG", quality=75)
    write("jpeg-progressive-restart-jpegtran.jpg",
          run([JPEGTRAN, "-progressive", "-restart", "2", "-copy", "all"], base))
    write("jpeg-grayscale-optimized-jpegtran.jpg",
          run([JPEGTRAN, "-grayscale", "-optimize", "-copy", "none"], base))

    # ---- JPEG, hand-edited: fill bytes before markers and a TEM marker ---------------
    data = pil_bytes(img.resize((32, 24)), "JPEG", quality=60)
    assert data[:4] == b"\xff\xd8\xff\xe0"
    sos = data.index(b"\xff\xda")
    app0_end = 4 + struct.unpack(">H", data[4:6])[0]
    edited = data[:app0_end] + b"\xff\x01" + b"\xff\xff" + data[app0_end:sos] + b"\xff\xff\xff" \
        + data[sos:-2] + b"\xff\xff" + data[-2:]
    write("jpeg-fill-bytes-tem-python.jpg", edited, check_with_djpeg=True)

    # ---- Other formats that must be rejected as unsupported ------------------------
    with open(os.path.join(OUT, "unsupported-bmp-pillow.bmp"), "wb") as f:
        f.write(pil_bytes(img.resize((8, 8)), "BMP"))
    with open(os.path.join(OUT, "unsupported-tiff-pillow.tiff"), "wb") as f:
        f.write(pil_bytes(img.resize((8, 8)), "TIFF"))
    print("done")


if __name__ == "__main__":
    main()
