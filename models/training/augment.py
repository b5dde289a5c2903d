"""Stain-smear augmentation, written with stateless TF ops so a fixed seed gives the same images.

Every random choice is drawn from ``seed`` (a pair of int32 scalars), so the
n-th image of copy/epoch k always gets the same transform, whatever the thread
scheduling of ``tf.data``.
"""

from __future__ import annotations

import math

import tensorflow as tf

# Ranges chosen for stained peripheral-blood smears: orientation is meaningless
# (flips, 90-degree turns), the cell may be framed a bit larger or smaller,
# and stain / white balance / focus vary between labs and microscopes.
# Since 2.0 the ranges span other microscopes too: a wider scale, stain-space jitter, the colour
# casts and camera gammas of real microscopes, stronger defocus, sensor noise and JPEG.
SCALE_RANGE = (0.75, 1.5)
HUE_DELTA = 0.02
SATURATION_RANGE = (0.7, 1.4)
BRIGHTNESS_DELTA = 0.12
CONTRAST_RANGE = (0.8, 1.25)
CHANNEL_GAIN = 0.08
BLUR_PROBABILITY = 0.4
BLUR_SIGMA = (0.4, 2.0)
BLUR_KERNEL = 7
# Stain space: optical density split into haematoxylin-, eosin- and residual-like channels
# (Ruifrok & Johnston's H&E-DAB vectors), each scaled by 1 +- STAIN_SCALE and shifted by
# +- STAIN_SHIFT (in optical density), with probability STAIN_PROBABILITY.
STAIN_PROBABILITY = 0.8
STAIN_SCALE = 0.25
STAIN_SHIFT = 0.05
_RGB_FROM_HED = ((0.65, 0.70, 0.29), (0.07, 0.99, 0.11), (0.27, 0.57, 0.78))
# Lamp / camera colour casts (per-channel transmission of the empty slide): yellow (Motic-like),
# grey-blue (LED, cool white balance), pink (CellaVision-like), each at a random strength.
CASTS = ((1.0, 1.0, 0.66), (0.80, 0.86, 1.0), (1.0, 0.86, 0.90))
CAST_PROBABILITY = 0.5
CAST_STRENGTH = (0.3, 1.0)
GAMMA_RANGE = (0.8, 1.25)
NOISE_PROBABILITY = 0.5
NOISE_SIGMA = (1.0, 8.0)  # in 0..255 units
JPEG_PROBABILITY = 0.3
JPEG_QUALITY = (40, 90)


def _sub(seed: tf.Tensor, k: int) -> tf.Tensor:
    """A distinct stateless seed for the k-th random decision."""
    return tf.stack([seed[0], seed[1] * 32 + k])


def _gaussian_blur(x: tf.Tensor, sigma: tf.Tensor, kernel: int = BLUR_KERNEL) -> tf.Tensor:
    """kernel x kernel separable Gaussian blur of an HxWx3 float image."""
    h = kernel // 2
    r = tf.range(-float(h), float(h) + 1.0)
    k = tf.exp(-(r**2) / (2.0 * sigma**2))
    k = k / tf.reduce_sum(k)
    kx = tf.tile(tf.reshape(k, [1, kernel, 1, 1]), [1, 1, 3, 1])
    ky = tf.tile(tf.reshape(k, [kernel, 1, 1, 1]), [1, 1, 3, 1])
    y = tf.pad(x[None], [[0, 0], [h, h], [h, h], [0, 0]], mode="REFLECT")
    y = tf.nn.depthwise_conv2d(y, kx, [1, 1, 1, 1], "VALID")
    y = tf.nn.depthwise_conv2d(y, ky, [1, 1, 1, 1], "VALID")
    return y[0]


def _rescale(x: tf.Tensor, size: int, seed: tf.Tensor) -> tf.Tensor:
    """Zoom by a random factor, then random-crop or reflect-pad back to size x size."""
    s = tf.random.stateless_uniform([], _sub(seed, 2), *SCALE_RANGE)
    n = tf.cast(tf.round(size * s), tf.int32)
    y = tf.image.resize(x, tf.stack([n, n]), method="bilinear", antialias=False)
    slack = tf.abs(n - size)
    oy = tf.random.stateless_uniform([], _sub(seed, 3), 0, slack + 1, dtype=tf.int32)
    ox = tf.random.stateless_uniform([], _sub(seed, 4), 0, slack + 1, dtype=tf.int32)

    def crop() -> tf.Tensor:
        return y[oy : oy + size, ox : ox + size, :]

    def pad() -> tf.Tensor:
        return tf.pad(y, [[oy, slack - oy], [ox, slack - ox], [0, 0]], mode="REFLECT")

    out = tf.cond(n >= size, crop, pad)
    return tf.ensure_shape(out, [size, size, 3])


def stain_jitter(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Scale and shift the stain amounts of an HxWx3 image in 0..1 (float) in H/E/residual space."""
    scale = tf.random.stateless_uniform([3], _sub(seed, 20), 1 - STAIN_SCALE, 1 + STAIN_SCALE)
    shift = tf.random.stateless_uniform([3], _sub(seed, 21), -STAIN_SHIFT, STAIN_SHIFT)
    return stain_transform(x, scale, shift)


def stain_transform(x: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor) -> tf.Tensor:
    """Stain amounts (H, E, residual; optical density) times `scale` plus `shift`, image in 0..1."""
    m = tf.constant(_RGB_FROM_HED, tf.float32)
    m = m / tf.norm(m, axis=1, keepdims=True)
    od = -tf.math.log(tf.maximum(x, 1.0 / 255.0))
    hed = tf.tensordot(od, tf.linalg.inv(m), 1)
    od = tf.tensordot(hed * scale + shift, m, 1)
    return tf.clip_by_value(tf.exp(-od), 0.0, 1.0)


def colour_cast(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Light an HxWx3 image in 0..1 through one of CASTS at a random strength."""
    j = tf.random.stateless_uniform([], _sub(seed, 22), 0, len(CASTS), dtype=tf.int32)
    t = tf.random.stateless_uniform([], _sub(seed, 23), *CAST_STRENGTH)
    cast = tf.gather(tf.constant(CASTS, tf.float32), j)
    return x * (1.0 + t * (cast - 1.0))


def augment(image_u8: tf.Tensor, size: int, seed: tf.Tensor) -> tf.Tensor:
    """Augment one size x size x 3 uint8 image; returns float32 in 0..255 (not normalised)."""
    x = tf.cast(image_u8, tf.float32)
    x = tf.image.stateless_random_flip_left_right(x, _sub(seed, 0))
    k = tf.random.stateless_uniform([], _sub(seed, 1), 0, 4, dtype=tf.int32)
    x = tf.image.rot90(x, k)
    x = _rescale(x, size, seed)

    x = x / 255.0
    p_stain = tf.random.stateless_uniform([], _sub(seed, 24))
    x = tf.cond(p_stain < STAIN_PROBABILITY, lambda: stain_jitter(x, seed), lambda: x)
    x = tf.image.stateless_random_hue(x, HUE_DELTA, _sub(seed, 5))
    x = tf.image.stateless_random_saturation(x, *SATURATION_RANGE, _sub(seed, 6))
    x = tf.image.stateless_random_brightness(x, BRIGHTNESS_DELTA, _sub(seed, 7))
    x = tf.image.stateless_random_contrast(x, *CONTRAST_RANGE, _sub(seed, 8))
    gain = tf.random.stateless_uniform([3], _sub(seed, 9), 1 - CHANNEL_GAIN, 1 + CHANNEL_GAIN)
    x = tf.clip_by_value(x * gain, 0.0, 1.0)
    p_cast = tf.random.stateless_uniform([], _sub(seed, 25))
    x = tf.cond(p_cast < CAST_PROBABILITY, lambda: colour_cast(x, seed), lambda: x)
    gamma = tf.exp(tf.random.stateless_uniform([], _sub(seed, 26), *[math.log(g) for g in GAMMA_RANGE]))
    x = tf.pow(tf.clip_by_value(x, 1e-6, 1.0), gamma) * 255.0

    p = tf.random.stateless_uniform([], _sub(seed, 10))
    sigma = tf.random.stateless_uniform([], _sub(seed, 11), *BLUR_SIGMA)
    x = tf.cond(p < BLUR_PROBABILITY, lambda: _gaussian_blur(x, sigma), lambda: x)
    p_noise = tf.random.stateless_uniform([], _sub(seed, 27))
    noise_sigma = tf.random.stateless_uniform([], _sub(seed, 28), *NOISE_SIGMA)
    noise = tf.random.stateless_normal(tf.shape(x), _sub(seed, 29)) * noise_sigma
    x = tf.cond(p_noise < NOISE_PROBABILITY, lambda: x + noise, lambda: x)
    x = tf.clip_by_value(x, 0.0, 255.0)
    p_jpeg = tf.random.stateless_uniform([], _sub(seed, 30))
    q = tf.random.stateless_uniform([], _sub(seed, 31), *JPEG_QUALITY, dtype=tf.int32)
    x = tf.cond(p_jpeg < JPEG_PROBABILITY,
                lambda: tf.ensure_shape(tf.image.adjust_jpeg_quality(x / 255.0, q) * 255.0, [size, size, 3]),
                lambda: x)
    return tf.clip_by_value(x, 0.0, 255.0)


# "Camera look" for the sharp PBC images: the Kaggle/BCCD camera gives blurrier, JPEG-compressed
# images in another stain, with the cell smaller and off-centre. Applied to a share of PBC images so
# their ~3,500 cells also teach the model what these classes look like through such a camera.
LOOK_PROBABILITY = 0.5
LOOK_RESOLUTION = (0.3, 0.6)  # downscale factor before scaling back up
LOOK_SCALE = (0.7, 0.95)  # the cell shrinks towards the Kaggle cell fraction, shifted within the slack
LOOK_JPEG_QUALITY = (30, 80)
# Where the camera look matches colours: "rgb" (per-channel mean and std of the pixel values) or
# "od" (the same in optical density, -ln((I + 1) / 256), in which stain amounts add up). Each space:
# (from pixel values, back to pixel values, floor added to the image's own spread before matching).
_LOOK_SPACES = {
    "rgb": (lambda x: x, lambda x: x, 1.0),
    "od": (lambda x: -tf.math.log((x + 1.0) / 256.0), lambda x: 256.0 * tf.exp(-x) - 1.0, 0.01),
}
LOOK_COLOUR_SPACES = tuple(_LOOK_SPACES)


def _look_space(space: str) -> tuple:
    if space not in _LOOK_SPACES:
        raise ValueError(f"unknown camera-look colour space {space!r}; use one of {LOOK_COLOUR_SPACES}")
    return _LOOK_SPACES[space]


def to_look_space(x: tf.Tensor, space: str) -> tf.Tensor:
    """Pixel values (0..255, float) in the camera look's colour space `space`."""
    return _look_space(space)[0](x)


def from_look_space(x: tf.Tensor, space: str) -> tf.Tensor:
    """Inverse of to_look_space (not clipped)."""
    return _look_space(space)[1](x)


def camera_look(x: tf.Tensor, size: int, seed: tf.Tensor, stats: tf.Tensor, space: str = "rgb") -> tf.Tensor:
    """Gives a size x size x 3 float32 (0..255) PBC image the look of a Kaggle one.

    In order: the cell shrinks (LOOK_SCALE) to a random place, detail is lost (area downscale
    by LOOK_RESOLUTION, bilinear back up), the colours take the per-channel mean and spread of
    a random Kaggle image (a row of `stats`: mean, then std, both in colour space `space`), and
    the result goes through JPEG at a random quality.
    """
    s = tf.random.stateless_uniform([], _sub(seed, 12), *LOOK_SCALE)
    n = tf.cast(tf.round(size * s), tf.int32)
    y = tf.image.resize(x, tf.stack([n, n]), method="bilinear", antialias=True)
    slack = size - n
    oy = tf.random.stateless_uniform([], _sub(seed, 13), 0, slack + 1, dtype=tf.int32)
    ox = tf.random.stateless_uniform([], _sub(seed, 14), 0, slack + 1, dtype=tf.int32)
    x = tf.ensure_shape(tf.pad(y, [[oy, slack - oy], [ox, slack - ox], [0, 0]], mode="SYMMETRIC"), [size, size, 3])
    r = tf.random.stateless_uniform([], _sub(seed, 15), *LOOK_RESOLUTION)
    m = tf.cast(tf.round(size * r), tf.int32)
    x = tf.image.resize(tf.image.resize(x, tf.stack([m, m]), method="area"), (size, size), method="bilinear")
    j = tf.random.stateless_uniform([], _sub(seed, 16), 0, tf.shape(stats)[0], dtype=tf.int32)
    x = to_look_space(x, space)
    mean, std = tf.reduce_mean(x, [0, 1]), tf.math.reduce_std(x, [0, 1]) + _look_space(space)[2]
    x = from_look_space((x - mean) / std * stats[j, 3:] + stats[j, :3], space)
    x = tf.clip_by_value(x, 0.0, 255.0) / 255.0
    q = tf.random.stateless_uniform([], _sub(seed, 17), *LOOK_JPEG_QUALITY, dtype=tf.int32)
    x = tf.image.adjust_jpeg_quality(x, q)
    return tf.ensure_shape(x * 255.0, [size, size, 3])


def augment_look(image_u8: tf.Tensor, size: int, seed: tf.Tensor, stats: tf.Tensor, pbc: tf.Tensor,
                 probability: float = LOOK_PROBABILITY, space: str = "rgb") -> tf.Tensor:
    """augment(), with the camera look first given to a share (`probability`) of the PBC images.

    `stats` holds one row per Kaggle image (mean, then std, in colour space `space`; see
    train.kaggle_look_stats); `pbc` says whether this image is a PBC one. Kaggle images only get
    augment().
    """
    p = tf.random.stateless_uniform([], _sub(seed, 18))
    x = tf.cast(image_u8, tf.float32)
    x = tf.cond(tf.logical_and(pbc, p < probability), lambda: camera_look(x, size, seed, stats, space),
                lambda: x)
    return augment(x, size, seed)


def describe_look(probability: float = LOOK_PROBABILITY, space: str = "rgb") -> dict:
    """The camera-look settings, for metadata.json (fine-tuning only; the head features do not use it)."""
    return {
        "applies_to": "pbc-wbc4/train images",
        "p": probability,
        "cell_scale": list(LOOK_SCALE),
        "placement": "random offset in the freed margin, symmetric padding",
        "resolution": list(LOOK_RESOLUTION),
        "colour": "per-channel mean and std of a random kaggle-wbc4/train image (black corners left out)",
        "colour_space": {"rgb": "RGB", "od": "optical density -ln((I+1)/256)"}[space],
        "jpeg_quality": list(LOOK_JPEG_QUALITY),
    }


def describe() -> dict:
    """The augmentation settings, for metadata.json."""
    return {
        "flip_left_right": True,
        "rot90": True,
        "scale": list(SCALE_RANGE),
        "hue_delta": HUE_DELTA,
        "saturation": list(SATURATION_RANGE),
        "brightness_delta": BRIGHTNESS_DELTA,
        "contrast": list(CONTRAST_RANGE),
        "channel_gain": CHANNEL_GAIN,
        "gaussian_blur": {"p": BLUR_PROBABILITY, "sigma": list(BLUR_SIGMA), "kernel": BLUR_KERNEL},
        "stain_jitter": {"p": STAIN_PROBABILITY, "space": "optical density in H/E/residual (Ruifrok) channels",
                         "scale": STAIN_SCALE, "shift_od": STAIN_SHIFT},
        "colour_cast": {"p": CAST_PROBABILITY, "casts_rgb_transmission": [list(c) for c in CASTS],
                        "strength": list(CAST_STRENGTH)},
        "gamma": list(GAMMA_RANGE),
        "sensor_noise": {"p": NOISE_PROBABILITY, "sigma": list(NOISE_SIGMA)},
        "jpeg": {"p": JPEG_PROBABILITY, "quality": list(JPEG_QUALITY)},
    }

