#!/usr/bin/env python3
"""Write deterministic ImageNet-like JPEG files for the decode+augment benchmark.

Each image is 500x375 (ImageNet's most common size), JPEG quality 90 (OpenCV's
default 4:2:0 chroma subsampling), built from smooth multi-octave colour fields,
soft and sharp-edged objects, thin strokes, patches of small shapes (foliage-like
clutter), multi-scale texture and sensor noise, so that the files compress like
photos: about 110 KB on average (roughly 85-130 KB per file).

    make_images.py DIR [--count 200] [--seed 0] [--detail 1.0]

Files are named img_00000.jpg, img_00001.jpg, ...
Only numpy and cv2 are used; the same seed always gives the same bytes.
"""

import argparse
import os
import sys

import cv2
import numpy as np

WIDTH, HEIGHT = 500, 375
QUALITY = 90
# Scales texture amplitude and clutter count; 1.0 gives a mean file size of ~110 KB.
DETAIL = 1.0
# Amplitude of the fine luminance texture, in 8-bit levels.
TEXTURE = 60.0


def fractal_field(rng, h, w, octaves=6, persistence=0.55):
    """Smooth 1/f-like noise in [0, 1]: sum of bicubically upsampled random grids."""
    field = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for k in range(octaves):
        gh, gw = 2 + 2**k, 2 + int(2**k * w / h)
        grid = rng.standard_normal((gh, gw)).astype(np.float32)
        field += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= persistence
    field /= total
    lo, hi = field.min(), field.max()
    return (field - lo) / max(hi - lo, 1e-6)


def muted_colour(rng):
    """A photo-like colour: a random hue pulled towards grey (BGR, 0..255)."""
    grey = rng.uniform(50, 210)
    hue = rng.uniform(0, 255, size=3)
    return (grey + (hue - grey) * rng.uniform(0.15, 0.6)).astype(np.float32)


def colour_background(rng, h, w):
    """Three smooth fields mixed around a muted palette, with a lighting ramp (HWC)."""
    fields = np.stack([fractal_field(rng, h, w) for _ in range(3)], axis=-1) - 0.5
    luma = fractal_field(rng, h, w)[..., None] - 0.5
    im = muted_colour(rng) + fields * rng.uniform(30, 70) + luma * rng.uniform(60, 140)
    ramp = np.linspace(-1, 1, h, dtype=np.float32)[:, None, None]
    return im + ramp * rng.uniform(-40, 40, size=3).astype(np.float32)


def add_blobs(rng, im):
    """Objects: ellipses with sharp or soft edges, their own colour and shading."""
    h, w = im.shape[:2]
    for _ in range(rng.integers(3, 9)):
        mask = np.zeros((h, w), np.float32)
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(15, w // 2)), int(rng.integers(15, h // 2)))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), rng.uniform(0.6, 6))[..., None]
        shade = fractal_field(rng, h, w, octaves=4)[..., None]
        im = im * (1 - mask) + mask * muted_colour(rng) * (0.6 + 0.8 * shade)
    return im


def add_strokes(rng, im):
    """Thin anti-aliased lines (branches, edges, text-like detail)."""
    h, w = im.shape[:2]
    for _ in range(rng.integers(3, 20)):
        p0 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        p1 = (p0[0] + int(rng.integers(-150, 150)), p0[1] + int(rng.integers(-150, 150)))
        colour = tuple(float(c) for c in muted_colour(rng))
        cv2.line(im, p0, p1, colour, int(rng.integers(1, 4)), cv2.LINE_AA)
    return im


def add_clutter(rng, im, detail):
    """Many small shapes (leaves, pebbles, fur tufts) over part of the frame."""
    h, w = im.shape[:2]
    region = fractal_field(rng, h, w, octaves=3) > rng.uniform(0.3, 0.6)
    ys, xs = np.nonzero(region)
    if len(ys) == 0:
        return im
    for _ in range(int(rng.integers(3000, 10000) * detail)):
        j = rng.integers(0, len(ys))
        centre = (int(xs[j]), int(ys[j]))
        axes = (int(rng.integers(1, 8)), int(rng.integers(1, 5)))
        colour = im[centre[1], centre[0]] * rng.uniform(0.6, 1.4) + rng.normal(0, 8, size=3)
        cv2.ellipse(im, centre, axes, float(rng.uniform(0, 180)), 0, 360,
                    tuple(float(c) for c in colour), -1, cv2.LINE_AA)
    return im


def add_texture(rng, im, detail):
    """Multi-scale luminance texture and sensor noise."""
    h, w = im.shape[:2]
    where = 0.3 + 0.7 * fractal_field(rng, h, w, octaves=3)[..., None]
    grain = np.zeros((h, w), np.float32)
    for sigma, weight in ((0.6, 1.6), (1.3, 1.2), (2.8, 1.0)):
        noise = rng.standard_normal((h, w)).astype(np.float32)
        grain += weight * sigma * cv2.GaussianBlur(noise, (0, 0), sigma)
    chroma = cv2.GaussianBlur(rng.standard_normal((h, w, 3)).astype(np.float32), (0, 0), 1.0)
    texture = (grain[..., None] + 0.5 * chroma) * where * TEXTURE * detail
    noise = rng.standard_normal((h, w, 3)).astype(np.float32) * 1.5
    return im + texture + noise


def make_image(seed, index, detail=DETAIL):
    """One deterministic BGR uint8 image for (seed, index)."""
    rng = np.random.default_rng([seed, index])
    im = colour_background(rng, HEIGHT, WIDTH)
    im = add_blobs(rng, im)
    im = add_strokes(rng, im)
    detail *= rng.lognormal(0.0, 0.25)
    im = add_clutter(rng, im, detail)
    im = add_texture(rng, im, detail)
    return np.clip(im, 0, 255).astype(np.uint8)


def encode_jpeg(im, quality=QUALITY):
    ok, buf = cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def write_images(out_dir, count, seed, detail=DETAIL):
    """Write count JPEG files into out_dir; return their sizes in bytes."""
    os.makedirs(out_dir, exist_ok=True)
    sizes = []
    for i in range(count):
        data = encode_jpeg(make_image(seed, i, detail))
        with open(os.path.join(out_dir, "img_%05d.jpg" % i), "wb") as f:
            f.write(data)
        sizes.append(len(data))
    return sizes


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dir", help="output folder (created if missing)")
    p.add_argument("--count", type=int, default=200, help="number of images (default 200)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--detail", type=float, default=DETAIL,
                   help="texture amplitude; raises file size (default %(default)s)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cv2.setNumThreads(1)
    sizes = write_images(args.dir, args.count, args.seed, args.detail)
    print("wrote %d images to %s, mean %.1f KB (min %.1f, max %.1f)" % (
        len(sizes), args.dir, np.mean(sizes) / 1024, min(sizes) / 1024, max(sizes) / 1024))
    return 0


if __name__ == "__main__":
    sys.exit(main())
