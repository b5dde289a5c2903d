//! What a session has learnt about its microscope. A frame's own measurements of the
//! red cells (their diameter, the frame's ruler; their saturation, the stain's strength)
//! scatter from frame to frame with what happens to be in view (on the BCCD fields the
//! saturation's 5th–95th percentile is 0.79–1.19 for one microscope), and correcting each
//! frame by its own noisy value loses cells. The objective and the stain do not change
//! between frames, so the locator takes the median of the last frames instead.
//!
//! A pure state machine: frames are observed in order, nothing else.

use std::collections::VecDeque;

use super::bulk::DEFAULT_RED_CELL_HUE;

/// Frames remembered: the last 25, so a change of objective is followed within about 13.
pub const WINDOW: usize = 25;
/// Measurements needed before the session's value replaces each frame's own.
pub const MIN_FRAMES: usize = 5;

/// The values a session gives the locator; `None` leaves the frame's own measurement.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Norms {
    /// Typical red-cell diameter, picture pixels ([`super::ruler`]: rough, every frame).
    pub red_cell_px: Option<f32>,
    /// Diameter of whole, round red cells, picture pixels ([`super::round_ruler`]: their
    /// true size, measured on fewer frames).
    pub round_red_cell_px: Option<f32>,
    /// Red-cell saturation against the reference ([`super::bulk::Bulk::saturation`]).
    pub saturation: Option<f32>,
    /// Red-cell hue, degrees ([`super::bulk::Bulk::red_cell_hue`]), which sets the direction
    /// of the nuclear stain.
    pub red_cell_hue: Option<f32>,
}

/// Running medians of the red-cell measurements of the last [`WINDOW`] frames.
#[derive(Debug, Clone, Default)]
pub struct SessionNorms {
    rulers: VecDeque<f32>,
    round_rulers: VecDeque<f32>,
    /// The rough ruler of the frames that measured [`Self::round_rulers`], in step with it.
    paired_rulers: VecDeque<f32>,
    saturations: VecDeque<f32>,
    /// Hues unwrapped around [`DEFAULT_RED_CELL_HUE`] (its value plus the signed turn
    /// to the hue), so that their median does not split at 0°/360°.
    hues: VecDeque<f32>,
}

/// A hue as [`DEFAULT_RED_CELL_HUE`] plus its signed turn from it (-180..180], so
/// hues either side of 0° stay neighbours.
fn unwrap_hue(deg: f32) -> Option<f32> {
    deg.is_finite().then(|| {
        DEFAULT_RED_CELL_HUE + (deg - DEFAULT_RED_CELL_HUE + 180.0).rem_euclid(360.0) - 180.0
    })
}

fn push(window: &mut VecDeque<f32>, value: Option<f32>) {
    if let Some(v) = value.filter(|v| v.is_finite() && *v > 0.0) {
        if window.len() == WINDOW {
            window.pop_front();
        }
        window.push_back(v);
    }
}

/// Median of the window, sorted on the stack (called for every located frame).
fn median(window: &VecDeque<f32>) -> Option<f32> {
    if window.len() < MIN_FRAMES {
        return None;
    }
    let mut v = [0.0f32; WINDOW];
    for (slot, value) in v.iter_mut().zip(window) {
        *slot = *value;
    }
    let v = &mut v[..window.len()];
    v.sort_unstable_by(f32::total_cmp);
    Some(v[v.len() / 2])
}

impl SessionNorms {
    /// A session that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records what the locator measured on a frame ([`super::Sighting::measured`]);
    /// frames without red cells add nothing.
    pub fn observe(&mut self, frame: Norms) {
        push(&mut self.rulers, frame.red_cell_px);
        let valid = |v: Option<f32>| v.filter(|v| v.is_finite() && *v > 0.0);
        if let (Some(rough), Some(round)) =
            (valid(frame.red_cell_px), valid(frame.round_red_cell_px))
        {
            push(&mut self.round_rulers, Some(round));
            push(&mut self.paired_rulers, Some(rough));
        }
        push(&mut self.saturations, frame.saturation);
        push(&mut self.hues, frame.red_cell_hue.and_then(unwrap_hue));
    }

    /// The round-cell ruler's median, scaled down when the view has changed since it was
    /// measured. It is measured on fewer frames than the rough ruler, so after a change to a
    /// weaker objective it would lag behind by dozens of frames, and a floor from the
    /// stronger objective's red cells would drop every nucleus. The rough ruler of the same
    /// frames, against the session's, says by how much the red cells have shrunk since.
    /// Only shrinking is followed: a floor that lags low lets a platelet through, one that
    /// lags high loses white cells (and the rough ruler's own scatter between fields, up to
    /// 1.5x on one microscope, would then raise the floor over the smallest nuclei).
    fn round_ruler(&self) -> Option<f32> {
        let (then, now) = (median(&self.paired_rulers)?, median(&self.rulers)?);
        Some(median(&self.round_rulers)? * (now / then).min(1.0))
    }

    /// The session's values, once [`MIN_FRAMES`] frames measured them.
    pub fn norms(&self) -> Norms {
        Norms {
            red_cell_px: median(&self.rulers),
            round_red_cell_px: self.round_ruler(),
            saturation: median(&self.saturations),
            red_cell_hue: median(&self.hues).map(|h| h.rem_euclid(360.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(ruler: Option<f32>, saturation: Option<f32>) -> Norms {
        Norms {
            red_cell_px: ruler,
            saturation,
            ..Norms::default()
        }
    }

    #[test]
    fn nothing_until_enough_frames_then_the_median() {
        let mut s = SessionNorms::new();
        for i in 0..MIN_FRAMES - 1 {
            s.observe(seen(Some(30.0 + i as f32), Some(1.0)));
            assert_eq!(s.norms(), Norms::default());
        }
        s.observe(seen(Some(90.0), Some(0.5)));
        let n = s.norms();
        assert_eq!(n.red_cell_px, Some(32.0));
        assert_eq!(n.saturation, Some(1.0));
    }

    #[test]
    fn the_round_cell_ruler_has_its_own_window() {
        // Whole round red cells are measured on fewer frames than the rough ruler; each
        // waits for its own five.
        let mut s = SessionNorms::new();
        for i in 0..MIN_FRAMES * 2 {
            let round = (i % 2 == 0).then_some(100.0 + i as f32);
            s.observe(Norms {
                red_cell_px: Some(30.0),
                round_red_cell_px: round,
                ..Norms::default()
            });
            let n = s.norms();
            assert_eq!(n.red_cell_px.is_some(), i + 1 >= MIN_FRAMES, "frame {i}");
            assert_eq!(n.round_red_cell_px.is_some(), i + 1 >= 2 * MIN_FRAMES - 1);
        }
        assert_eq!(s.norms().round_red_cell_px, Some(104.0));
        // Without the rough ruler of the same frame, a round reading is not kept.
        let mut s = SessionNorms::new();
        for _ in 0..WINDOW {
            s.observe(Norms {
                round_red_cell_px: Some(100.0),
                ..Norms::default()
            });
        }
        assert_eq!(s.norms().round_red_cell_px, None);
    }

    #[test]
    fn after_a_change_of_objective_the_round_ruler_follows_the_rough_one_down() {
        // 100x: rough 32, round 100, on every third frame. Then a weaker objective: every
        // size halves, and the round-cell ruler, measured on fewer frames, lags behind.
        let mut s = SessionNorms::new();
        for i in 0..WINDOW * 3 {
            s.observe(Norms {
                red_cell_px: Some(32.0),
                round_red_cell_px: (i % 3 == 0).then_some(100.0),
                ..Norms::default()
            });
        }
        assert_eq!(s.norms().round_red_cell_px, Some(100.0));
        for i in 0..WINDOW * 3 {
            s.observe(Norms {
                red_cell_px: Some(16.0),
                round_red_cell_px: (i % 3 == 0).then_some(50.0),
                ..Norms::default()
            });
            let n = s.norms();
            // Never the old view's size with the new view's sizes.
            let limit = if n.red_cell_px == Some(16.0) {
                50.0
            } else {
                100.0
            };
            assert!(n.round_red_cell_px.unwrap() <= limit, "frame {i}: {n:?}");
        }
        assert_eq!(s.norms().round_red_cell_px, Some(50.0));
        // Back to the stronger objective: the round-cell ruler is not scaled up; it lags
        // low (a lower floor) until its own window has caught up.
        for _ in 0..WINDOW * 3 {
            s.observe(Norms {
                red_cell_px: Some(32.0),
                round_red_cell_px: None,
                ..Norms::default()
            });
            assert!(s.norms().round_red_cell_px.unwrap() <= 50.0);
        }
    }

    #[test]
    fn frames_without_red_cells_or_with_nonsense_add_nothing() {
        let mut s = SessionNorms::new();
        for _ in 0..10 {
            s.observe(seen(None, Some(f32::NAN)));
            s.observe(seen(Some(-1.0), Some(0.0)));
        }
        assert_eq!(s.norms(), Norms::default());
    }

    #[test]
    fn a_new_objective_takes_over_within_half_the_window() {
        let mut s = SessionNorms::new();
        for _ in 0..WINDOW {
            s.observe(seen(Some(32.0), None));
        }
        for k in 1..=WINDOW {
            s.observe(seen(Some(16.0), None));
            let want = if k > WINDOW / 2 { 16.0 } else { 32.0 };
            assert_eq!(s.norms().red_cell_px, Some(want), "after {k} frames");
        }
        assert_eq!(s.norms().saturation, None);
    }

    #[test]
    fn hues_either_side_of_red_keep_their_median_near_red() {
        let mut s = SessionNorms::new();
        for hue in [350.0, 355.0, 5.0, 10.0, 0.0, f32::NAN] {
            s.observe(Norms {
                red_cell_hue: Some(hue),
                ..Norms::default()
            });
        }
        // Unwrapped: 350, 355, 365, 370, 360 -> 360, i.e. 0; a plain median would say 10.
        assert_eq!(s.norms().red_cell_hue, Some(0.0));
        assert_eq!(s.norms().saturation, None);
        let mut s = SessionNorms::new();
        for hue in [300.0, 310.0, 305.0, 290.0, 320.0] {
            s.observe(Norms {
                red_cell_hue: Some(hue),
                ..Norms::default()
            });
        }
        assert_eq!(s.norms().red_cell_hue, Some(305.0));
    }
}
