//! A small in-place radix-2 FFT over `f32` complex numbers, with the twiddle factors and
//! the bit-reversal permutation computed once per size so a transform allocates nothing.

use std::f32::consts::PI;

/// A complex number `re + i·im`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Complex {
    /// Real part.
    pub re: f32,
    /// Imaginary part.
    pub im: f32,
}

impl Complex {
    /// `re + i·im`.
    pub const fn new(re: f32, im: f32) -> Self {
        Complex { re, im }
    }

    fn mul(self, o: Complex) -> Complex {
        Complex::new(
            self.re * o.re - self.im * o.im,
            self.re * o.im + self.im * o.re,
        )
    }
}

/// A planned 1-D FFT of one power-of-two length.
#[derive(Debug, Clone)]
pub struct Fft {
    n: usize,
    /// `exp(-2πik/n)` for `k < n/2`.
    twiddles: Vec<Complex>,
    /// Bit-reversed index of every position.
    reversed: Vec<u32>,
}

/// A length that is not a power of two (or is zero).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("FFT length {0} is not a power of two")]
pub struct BadLength(pub usize);

impl Fft {
    /// Plans a transform of length `n` (a power of two, at least 1).
    pub fn new(n: usize) -> Result<Fft, BadLength> {
        if n == 0 || !n.is_power_of_two() {
            return Err(BadLength(n));
        }
        let bits = n.trailing_zeros();
        let twiddles = (0..n / 2)
            .map(|k| {
                let a = -2.0 * PI * k as f32 / n as f32;
                Complex::new(a.cos(), a.sin())
            })
            .collect();
        let reversed = (0..n as u32)
            .map(|i| {
                if bits == 0 {
                    0
                } else {
                    i.reverse_bits() >> (32 - bits)
                }
            })
            .collect();
        Ok(Fft {
            n,
            twiddles,
            reversed,
        })
    }

    /// The planned length.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Transforms `data` in place: forward computes `Σ x_j exp(-2πijk/n)`, inverse the same
    /// with `+` and without the `1/n` factor. `data.len()` must equal [`Fft::len`]; other
    /// lengths are left untouched.
    pub fn run(&self, data: &mut [Complex], inverse: bool) {
        if data.len() != self.n {
            return;
        }
        for i in 0..self.n {
            let j = self.reversed[i] as usize;
            if j > i {
                data.swap(i, j);
            }
        }
        let mut half = 1;
        while half < self.n {
            let step = self.n / (2 * half);
            for start in (0..self.n).step_by(2 * half) {
                for k in 0..half {
                    let mut w = self.twiddles[k * step];
                    if inverse {
                        w.im = -w.im;
                    }
                    let a = data[start + k];
                    let b = data[start + k + half].mul(w);
                    data[start + k] = Complex::new(a.re + b.re, a.im + b.im);
                    data[start + k + half] = Complex::new(a.re - b.re, a.im - b.im);
                }
            }
            half *= 2;
        }
    }
}

/// A planned 2-D FFT over a row-major `width x height` grid.
#[derive(Debug, Clone)]
pub struct Fft2 {
    rows: Fft,
    cols: Fft,
    column: Vec<Complex>,
}

impl Fft2 {
    /// Plans a `width x height` transform (both powers of two).
    pub fn new(width: usize, height: usize) -> Result<Fft2, BadLength> {
        Ok(Fft2 {
            rows: Fft::new(width)?,
            cols: Fft::new(height)?,
            column: vec![Complex::default(); height],
        })
    }

    /// Width of the grid.
    pub fn width(&self) -> usize {
        self.rows.len()
    }

    /// Height of the grid.
    pub fn height(&self) -> usize {
        self.cols.len()
    }

    /// Transforms a row-major grid in place (see [`Fft::run`]); a wrongly sized grid is left
    /// untouched.
    pub fn run(&mut self, grid: &mut [Complex], inverse: bool) {
        let (w, h) = (self.width(), self.height());
        if grid.len() != w * h {
            return;
        }
        for row in grid.chunks_exact_mut(w) {
            self.rows.run(row, inverse);
        }
        for x in 0..w {
            for y in 0..h {
                self.column[y] = grid[y * w + x];
            }
            self.cols.run(&mut self.column, inverse);
            for y in 0..h {
                grid[y * w + x] = self.column[y];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[Complex]) -> Vec<Complex> {
        let n = x.len();
        (0..n)
            .map(|k| {
                x.iter()
                    .enumerate()
                    .fold(Complex::default(), |acc, (j, v)| {
                        let a = -2.0 * std::f64::consts::PI * (j * k) as f64 / n as f64;
                        let w = Complex::new(a.cos() as f32, a.sin() as f32);
                        let p = v.mul(w);
                        Complex::new(acc.re + p.re, acc.im + p.im)
                    })
            })
            .collect()
    }

    #[test]
    fn matches_the_naive_transform_and_inverts() {
        for n in [1usize, 2, 4, 8, 64] {
            let x: Vec<Complex> = (0..n)
                .map(|i| Complex::new((i as f32 * 0.7).sin(), (i as f32 * 1.3).cos()))
                .collect();
            let fft = Fft::new(n).unwrap();
            let mut y = x.clone();
            fft.run(&mut y, false);
            for (a, b) in y.iter().zip(naive(&x)) {
                assert!((a.re - b.re).abs() < 1e-3 && (a.im - b.im).abs() < 1e-3);
            }
            fft.run(&mut y, true);
            for (a, b) in y.iter().zip(&x) {
                assert!((a.re / n as f32 - b.re).abs() < 1e-4);
                assert!((a.im / n as f32 - b.im).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn rejects_lengths_that_are_not_powers_of_two() {
        assert_eq!(Fft::new(0).unwrap_err(), BadLength(0));
        assert_eq!(Fft::new(12).unwrap_err(), BadLength(12));
        assert!(Fft2::new(16, 24).is_err());
    }

    #[test]
    fn two_dimensional_transform_of_an_impulse_is_flat() {
        let mut fft = Fft2::new(8, 4).unwrap();
        let mut grid = vec![Complex::default(); 32];
        grid[0] = Complex::new(1.0, 0.0);
        fft.run(&mut grid, false);
        assert!(
            grid.iter()
                .all(|c| (c.re - 1.0).abs() < 1e-6 && c.im.abs() < 1e-6)
        );
        // A wrongly sized grid is left alone.
        let mut small = vec![Complex::new(2.0, 0.0); 3];
        fft.run(&mut small, false);
        assert!(small.iter().all(|c| c.re == 2.0));
    }
}
