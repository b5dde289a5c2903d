//! Deciding when the field is still enough to classify a cell.

use super::motion::Motion;

/// Counts consecutive frames whose motion is small and trustworthy.
#[derive(Debug, Clone, PartialEq)]
pub struct SteadyDetector {
    max_motion: f32,
    frames_needed: u32,
    min_confidence: f32,
    run: u32,
}

impl SteadyDetector {
    /// The field is steady once `frames_needed` consecutive frames each moved less than
    /// `max_motion` pixels with a correlation confidence of at least `min_confidence`.
    pub fn new(max_motion: f32, frames_needed: u32, min_confidence: f32) -> Self {
        SteadyDetector {
            max_motion,
            frames_needed: frames_needed.max(1),
            min_confidence,
            run: 0,
        }
    }

    /// Takes the next frame's motion (`None`: unknown, e.g. the first frame) and says
    /// whether the field is now steady.
    pub fn update(&mut self, motion: Option<&Motion>) -> bool {
        let still = motion.is_some_and(|m| {
            m.confidence >= self.min_confidence && m.magnitude() < self.max_motion
        });
        self.run = if still { self.run.saturating_add(1) } else { 0 };
        self.is_steady()
    }

    /// Whether the last frames were steady.
    pub fn is_steady(&self) -> bool {
        self.run >= self.frames_needed
    }

    /// Consecutive still frames so far.
    pub fn still_frames(&self) -> u32 {
        self.run
    }

    /// Forgets the history (e.g. after live mode was switched off and on).
    pub fn reset(&mut self) {
        self.run = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(dx: f32, confidence: f32) -> Motion {
        Motion {
            dx,
            dy: 0.0,
            confidence,
        }
    }

    #[test]
    fn steady_after_n_still_frames_and_broken_by_motion_or_doubt() {
        let mut s = SteadyDetector::new(2.0, 3, 0.1);
        assert!(!s.update(None));
        assert!(!s.update(Some(&m(0.5, 0.9))));
        assert!(!s.update(Some(&m(1.9, 0.9))));
        assert!(s.update(Some(&m(0.0, 0.9))));
        assert!(s.update(Some(&m(0.3, 0.9))));
        assert!(!s.update(Some(&m(2.5, 0.9))), "a pan breaks it");
        for _ in 0..3 {
            s.update(Some(&m(0.0, 0.9)));
        }
        assert!(s.is_steady());
        assert!(!s.update(Some(&m(0.0, 0.05))), "an unsure frame breaks it");
        assert_eq!(s.still_frames(), 0);
        s.update(Some(&m(0.0, 0.9)));
        s.reset();
        assert_eq!(s.still_frames(), 0);
    }
}
