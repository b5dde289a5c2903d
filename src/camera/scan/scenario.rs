//! Named, seeded scanning scenarios and the camera paths they produce.

use super::render::{Effects, Pose};
use super::rng::Rng;

/// How the technician moves over the slide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// Row after row, alternating direction, stopping on each field.
    Serpentine,
    /// Each row forward, then back over it (stopping at other places), then the next row.
    BackAndForth,
}

/// A scanning scenario: the slide, the movement and the camera's imperfections.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scenario {
    /// Name used on the command line.
    pub name: &'static str,
    /// Seed of every random choice (fields, speeds, pauses, tremor, flicker).
    pub seed: u64,
    /// Slide size in BCCD fields (columns, rows).
    pub fields: (u32, u32),
    /// Scanning pattern.
    pub pattern: Pattern,
    /// Range of mean pan speeds between stops, pixels per second.
    pub speed: (f64, f64),
    /// Range of pause lengths at each stop, seconds.
    pub pause: (f64, f64),
    /// Hand tremor while paused: largest excursion in pixels.
    pub tremor: f64,
    /// Exposure time as a fraction of the frame time (motion blur).
    pub exposure: f64,
    /// Largest defocus (box blur radius, pixels) reached by the slow focus drift.
    pub focus_drift: u32,
    /// Relative amplitude of exposure flicker (0.1 = ±10 %).
    pub flicker: f64,
    /// JPEG quality of the camera (100 = none).
    pub jpeg_quality: u8,
    /// Camera frame rate.
    pub fps: f64,
}

/// The frame size of every scenario (a common USB microscope camera mode).
pub const FRAME_SIZE: (u32, u32) = (640, 480);
/// Horizontal and vertical distance between stops: every white cell of the slide is
/// whole in at least one stop (a BCCD cell is at most ~230 px across).
pub const STOP_STEP: (f64, f64) = (380.0, 230.0);

impl Scenario {
    fn base(name: &'static str, seed: u64) -> Scenario {
        Scenario {
            name,
            seed,
            fields: (8, 4),
            pattern: Pattern::Serpentine,
            speed: (500.0, 1000.0),
            pause: (0.5, 1.0),
            tremor: 0.6,
            exposure: 0.3,
            focus_drift: 0,
            flicker: 0.0,
            jpeg_quality: 90,
            fps: 30.0,
        }
    }

    /// The standard scenarios `live-eval` runs by default.
    pub fn standard() -> Vec<Scenario> {
        vec![
            Scenario::base("steady-pans", 11),
            Scenario {
                pattern: Pattern::BackAndForth,
                ..Scenario::base("back-and-forth", 22)
            },
            Scenario {
                speed: (1500.0, 3000.0),
                pause: (0.35, 0.7),
                exposure: 0.6,
                tremor: 1.0,
                ..Scenario::base("fast-scan-blur", 33)
            },
            Scenario {
                focus_drift: 3,
                flicker: 0.15,
                jpeg_quality: 55,
                ..Scenario::base("flicker-focus", 44)
            },
        ]
    }

    /// A standard scenario by name.
    pub fn by_name(name: &str) -> Option<Scenario> {
        Scenario::standard().into_iter().find(|s| s.name == name)
    }

    /// Names of the standard scenarios.
    pub fn names() -> Vec<&'static str> {
        Scenario::standard().iter().map(|s| s.name).collect()
    }

    /// The stops of the scan over a slide of `slide` pixels, in visiting order.
    fn stops(&self, slide: (u32, u32), rng: &mut Rng) -> Vec<(f64, f64)> {
        let max_x = f64::from(slide.0.saturating_sub(FRAME_SIZE.0));
        let max_y = f64::from(slide.1.saturating_sub(FRAME_SIZE.1));
        let axis = |max: f64, step: f64, shift: f64| -> Vec<f64> {
            let n = (max / step).ceil().max(0.0) as usize;
            (0..=n)
                .map(|i| (i as f64 * step + shift).min(max))
                .collect()
        };
        let mut out = Vec::new();
        for (row, y) in axis(max_y, STOP_STEP.1, 0.0).into_iter().enumerate() {
            let mut xs = axis(max_x, STOP_STEP.0, 0.0);
            if row % 2 == 1 {
                xs.reverse();
            }
            out.extend(xs.iter().map(|&x| (x, y)));
            if self.pattern == Pattern::BackAndForth {
                // Back over the same row, stopping half a step off the first pass.
                let shift = STOP_STEP.0 * rng.range(0.3, 0.7);
                let mut back = axis(max_x - shift, STOP_STEP.0, shift);
                if row % 2 == 0 {
                    back.reverse();
                }
                out.extend(back.iter().map(|&x| (x, y)));
                out.extend(xs.iter().step_by(2).map(|&x| (x, y)));
            }
        }
        out
    }

    /// The camera's pose and effects for every frame of the scan of a `slide`-sized slide.
    pub fn path(&self, slide: (u32, u32)) -> Vec<(Pose, Effects)> {
        let mut rng = Rng::new(self.seed);
        let stops = self.stops(slide, &mut rng);
        let mut positions: Vec<(f64, f64)> = Vec::new();
        let mut at = stops.first().copied().unwrap_or((0.0, 0.0));
        for &stop in &stops {
            let dist = (stop.0 - at.0).hypot(stop.1 - at.1);
            if dist > 0.0 {
                let speed = rng.range(self.speed.0, self.speed.1);
                let n = ((dist / speed) * self.fps).ceil().max(1.0) as usize;
                for i in 1..=n {
                    // Eased start and stop, as a hand moves.
                    let u = i as f64 / n as f64;
                    let s = 0.5 - 0.5 * (std::f64::consts::PI * u).cos();
                    positions.push((at.0 + (stop.0 - at.0) * s, at.1 + (stop.1 - at.1) * s));
                }
            }
            at = stop;
            let n = (rng.range(self.pause.0, self.pause.1) * self.fps).round() as usize;
            let mut wobble = (0.0f64, 0.0f64);
            for _ in 0..n {
                wobble.0 = (wobble.0 + rng.range(-0.3, 0.3) * self.tremor)
                    .clamp(-self.tremor, self.tremor);
                wobble.1 = (wobble.1 + rng.range(-0.3, 0.3) * self.tremor)
                    .clamp(-self.tremor, self.tremor);
                positions.push((at.0 + wobble.0, at.1 + wobble.1));
            }
        }
        let phase = rng.range(0.0, std::f64::consts::TAU);
        positions
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| {
                let prev = if i == 0 { (x, y) } else { positions[i - 1] };
                let t = i as f64 / self.fps;
                let defocus = (f64::from(self.focus_drift)
                    * (0.5 + 0.5 * (t * std::f64::consts::TAU / 7.0 + phase).sin()))
                .round() as u32;
                let gain = 1.0
                    + self.flicker * (t * std::f64::consts::TAU * 1.7).sin() * 0.6
                    + self.flicker * rng.range(-0.4, 0.4);
                (
                    Pose {
                        x,
                        y,
                        vx: x - prev.0,
                        vy: y - prev.1,
                    },
                    Effects {
                        exposure: self.exposure,
                        defocus,
                        gain,
                        jpeg_quality: self.jpeg_quality,
                    },
                )
            })
            .collect()
    }
}
