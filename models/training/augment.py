"""Stain-smear augmentation, written with stateless TF ops so a fixed seed gives the same images.

Every random choice is drawn from ``seed`` (a pair of int32 scalars), so the
n-th image of copy/epoch k always gets the same transform, whatever the thread
scheduling of ``tf.data``.
"""

from __future__ import annotations

import tensorflow as tf

# Ranges chosen for stained peripheral-blood smears: orientation is meaningless
# (flips, 90-degree turns), the cell may be framed a bit larger or smaller,
# and stain / white balance / focus vary between labs and microscopes.
SCALE_RANGE = (0.85, 1.2)
HUE_DELTA = 0.02
SATURATION_RANGE = (0.7, 1.4)
BRIGHTNESS_DELTA = 0.12
CONTRAST_RANGE = (0.8, 1.25)
CHANNEL_GAIN = 0.08
BLUR_PROBABILITY = 0.3
BLUR_SIGMA = (0.4, 1.3)


def _sub(seed: tf.Tensor, k: int) -> tf.Tensor:
    """A distinct stateless seed for the k-th random decision."""
    return tf.stack([seed[0], seed[1] * 32 + k])


def _gaussian_blur(x: tf.Tensor, sigma: tf.Tensor) -> tf.Tensor:
    """5x5 separable Gaussian blur of an HxWx3 float image."""
    r = tf.range(-2.0, 3.0)
    k = tf.exp(-(r**2) / (2.0 * sigma**2))
    k = k / tf.reduce_sum(k)
    kx = tf.tile(tf.reshape(k, [1, 5, 1, 1]), [1, 1, 3, 1])
    ky = tf.tile(tf.reshape(k, [5, 1, 1, 1]), [1, 1, 3, 1])
    y = tf.pad(x[None], [[0, 0], [2, 2], [2, 2], [0, 0]], mode="REFLECT")
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


def augment(image_u8: tf.Tensor, size: int, seed: tf.Tensor) -> tf.Tensor:
    """Augment one size x size x 3 uint8 image; returns float32 in 0..255 (not normalised)."""
    x = tf.cast(image_u8, tf.float32)
    x = tf.image.stateless_random_flip_left_right(x, _sub(seed, 0))
    k = tf.random.stateless_uniform([], _sub(seed, 1), 0, 4, dtype=tf.int32)
    x = tf.image.rot90(x, k)
    x = _rescale(x, size, seed)

    x = x / 255.0
    x = tf.image.stateless_random_hue(x, HUE_DELTA, _sub(seed, 5))
    x = tf.image.stateless_random_saturation(x, *SATURATION_RANGE, _sub(seed, 6))
    x = tf.image.stateless_random_brightness(x, BRIGHTNESS_DELTA, _sub(seed, 7))
    x = tf.image.stateless_random_contrast(x, *CONTRAST_RANGE, _sub(seed, 8))
    gain = tf.random.stateless_uniform([3], _sub(seed, 9), 1 - CHANNEL_GAIN, 1 + CHANNEL_GAIN)
    x = tf.clip_by_value(x * gain, 0.0, 1.0) * 255.0

    p = tf.random.stateless_uniform([], _sub(seed, 10))
    sigma = tf.random.stateless_uniform([], _sub(seed, 11), *BLUR_SIGMA)
    x = tf.cond(p < BLUR_PROBABILITY, lambda: _gaussian_blur(x, sigma), lambda: x)
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
        "gaussian_blur": {"p": BLUR_PROBABILITY, "sigma": list(BLUR_SIGMA), "kernel": 5},
    }

