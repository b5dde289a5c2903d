"""Tests of the camera look (augment.camera_look / augment_look) on made-up images.

    python3 -m unittest discover -s models/training -p 'test_*.py'
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import quiet_tensorflow  # noqa: E402

quiet_tensorflow()
import tensorflow as tf  # noqa: E402

import augment  # noqa: E402
import train  # noqa: E402

SIZE = 64


def pbc_like() -> np.ndarray:
    """A pale background with one dark purple disc in the middle, float32 0..255."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    disc = (yy - SIZE / 2) ** 2 + (xx - SIZE / 2) ** 2 < (SIZE * 0.2) ** 2
    x = np.empty((SIZE, SIZE, 3), np.float32)
    x[:] = (230.0, 200.0, 190.0)
    x[disc] = (80.0, 40.0, 130.0)
    return x


STATS = np.array([[190.0, 180.0, 195.0, 20.0, 28.0, 21.0]], np.float32)


class CameraLookTest(unittest.TestCase):
    def look(self, seed: int) -> np.ndarray:
        return augment.camera_look(tf.constant(pbc_like()), SIZE, tf.constant([3, seed]), tf.constant(STATS)).numpy()

    def test_shape_and_range_are_kept(self) -> None:
        y = self.look(1)
        self.assertEqual(y.shape, (SIZE, SIZE, 3))
        self.assertGreaterEqual(float(y.min()), 0.0)
        self.assertLessEqual(float(y.max()), 255.0)

    def test_colours_move_to_the_kaggle_statistics(self) -> None:
        y = self.look(2)
        # the source mean is far from STATS; the result is near it (JPEG and clipping move it a little)
        np.testing.assert_allclose(y.mean((0, 1)), STATS[0, :3], atol=8.0)

    def test_the_cell_gets_smaller(self) -> None:
        dark = lambda im: int((im.sum(-1) < np.sort(im.sum(-1).ravel())[SIZE * SIZE // 2] - 60).sum())  # noqa: E731
        self.assertLess(dark(self.look(3)), dark(pbc_like()))

    def test_same_seed_same_image(self) -> None:
        np.testing.assert_array_equal(self.look(4), self.look(4))

    def test_kaggle_images_never_get_the_look(self) -> None:
        x = tf.constant(pbc_like().astype(np.uint8))
        for i in range(8):
            seed = tf.constant([5, i])
            plain = augment.augment(x, SIZE, seed).numpy()
            looked = augment.augment_look(x, SIZE, seed, tf.constant(STATS), tf.constant(False), 1.0).numpy()
            np.testing.assert_array_equal(plain, looked)

    def test_probability_one_gives_every_pbc_image_the_look(self) -> None:
        x = tf.constant(pbc_like().astype(np.uint8))
        seed = tf.constant([6, 0])
        plain = augment.augment(x, SIZE, seed).numpy()
        looked = augment.augment_look(x, SIZE, seed, tf.constant(STATS), tf.constant(True), 1.0).numpy()
        self.assertGreater(float(np.abs(plain - looked).mean()), 1.0)


class OpticalDensityLookTest(unittest.TestCase):
    def test_the_od_round_trip_gives_the_pixels_back(self) -> None:
        x = tf.constant(np.linspace(0.0, 255.0, 12, dtype=np.float32))
        back = augment.from_look_space(augment.to_look_space(x, "od"), "od").numpy()
        np.testing.assert_allclose(back, x.numpy(), atol=1e-3)

    def test_colours_move_to_the_kaggle_statistics_in_optical_density(self) -> None:
        target = augment.to_look_space(tf.constant(np.array([[190.0, 180.0, 195.0]], np.float32)), "od").numpy()
        stats = np.concatenate([target[0], [0.10, 0.15, 0.10]])[None].astype(np.float32)
        y = augment.camera_look(tf.constant(pbc_like()), SIZE, tf.constant([7, 1]), tf.constant(stats), "od").numpy()
        od = augment.to_look_space(tf.constant(y), "od").numpy()
        np.testing.assert_allclose(od.mean((0, 1)), stats[0, :3], atol=0.05)

    def test_od_stats_of_a_flat_image(self) -> None:
        im = np.full((1, 4, 4, 3), 63, np.uint8)
        stats = train.kaggle_look_stats(im, "od")
        np.testing.assert_allclose(stats[0, :3], np.full(3, np.log(4.0)), rtol=1e-5)
        np.testing.assert_allclose(stats[0, 3:], 0.0, atol=1e-6)

    def test_an_unknown_space_is_refused(self) -> None:
        with self.assertRaises(ValueError):
            augment.to_look_space(tf.constant([1.0]), "lab")


class MicroscopeAugmentationTest(unittest.TestCase):
    def test_stain_transform_without_change_gives_the_image_back(self) -> None:
        x = tf.constant(pbc_like() / 255.0)
        y = augment.stain_transform(x, tf.ones(3), tf.zeros(3)).numpy()
        np.testing.assert_allclose(y, x.numpy(), atol=1e-4)

    def test_more_haematoxylin_darkens_the_nucleus_more_than_the_background(self) -> None:
        x = tf.constant(pbc_like() / 255.0)
        y = augment.stain_transform(x, tf.constant([1.5, 1.0, 1.0]), tf.zeros(3)).numpy()
        c = SIZE // 2
        self.assertLess(float(y[c, c].sum()), float(x.numpy()[c, c].sum()) - 0.05)
        self.assertLess(float(np.abs(y[0, 0] - x.numpy()[0, 0]).max()), 0.05)

    def test_a_yellow_cast_takes_blue_away(self) -> None:
        x = tf.constant(np.full((4, 4, 3), 0.9, np.float32))
        for i in range(20):
            y = augment.colour_cast(x, tf.constant([9, i])).numpy()
            self.assertLessEqual(float(y.max()), 0.9 + 1e-6)
            self.assertLess(float(y.min()), 0.9 - 0.02)

    def test_augment_is_seeded_and_in_range(self) -> None:
        x = tf.constant(pbc_like().astype(np.uint8))
        for i in range(6):
            a = augment.augment(x, SIZE, tf.constant([11, i])).numpy()
            b = augment.augment(x, SIZE, tf.constant([11, i])).numpy()
            np.testing.assert_array_equal(a, b)
            self.assertEqual(a.shape, (SIZE, SIZE, 3))
            self.assertGreaterEqual(float(a.min()), 0.0)
            self.assertLessEqual(float(a.max()), 255.0)

    def test_settings_are_described_for_the_metadata(self) -> None:
        d = augment.describe()
        for key in ("stain_jitter", "colour_cast", "gamma", "sensor_noise", "jpeg", "gaussian_blur"):
            self.assertIn(key, d)
        self.assertEqual(d["scale"], list(augment.SCALE_RANGE))


class LookStatsTest(unittest.TestCase):
    def test_black_corners_are_left_out(self) -> None:
        im = np.full((1, 10, 10, 3), 200, np.uint8)
        im[0, :3, :3] = 0  # a rotation corner
        im[0, 5, 5] = (100, 150, 200)
        stats = train.kaggle_look_stats(im)
        self.assertEqual(stats.shape, (1, 6))
        n = 100 - 9
        expected_mean = (200.0 * (n - 1) + np.array([100.0, 150.0, 200.0])) / n
        np.testing.assert_allclose(stats[0, :3], expected_mean, rtol=1e-5)
        self.assertAlmostEqual(float(stats[0, 5]), 0.0, places=4)


if __name__ == "__main__":
    unittest.main()
