//! White cells in slide coordinates: each one classified once and counted once.
//!
//! The tracker is pure: it is told each frame's motion, whether the field is steady and
//! what the locator found, and answers with the cells to classify. Slide coordinates are
//! the pixel coordinates of the first frame, extended as the slide moves: a frame pixel
//! `p` is at `origin + p` on the slide, and the origin moves opposite to the picture.
//!
//! Motion estimates drift a little. On steady frames the detections matched to known
//! cells re-anchor the origin (their median disagreement is removed), so a cell met again
//! after a long pan is still recognised. Counted cells are remembered for the whole
//! session, however long they are out of view.

use crate::vision::PixelBox;

/// Settings of the tracker.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerParams {
    /// A detection belongs to a known cell when their slide positions are closer than this
    /// fraction of the cell's diameter.
    pub gate: f32,
    /// A cell is whole when its nucleus, grown by [`WHOLE_RIM`], is at least this many
    /// pixels inside every frame edge.
    pub edge_margin: u32,
    /// Steady, whole sightings needed before a cell is classified (filters flickering
    /// false detections).
    pub min_hits: u32,
    /// Stop asking for classifications once this many cells were counted.
    pub target: Option<u32>,
}

/// The rim of cytoplasm that must be in view around a nucleus for its cell to count as
/// whole, as a fraction of the nucleus's longer side on every side. Half the locator's
/// `cell_margin` (0.18): the margin box over-reads large cells, and a monocyte whose
/// annotated box stayed in view for seconds was never whole by it in a simulated scan, so
/// it was never counted. A cell cut by the frame edge still has its nucleus near the edge.
pub const WHOLE_RIM: f32 = 0.09;

impl Default for TrackerParams {
    fn default() -> Self {
        TrackerParams {
            gate: 0.8,
            edge_margin: 4,
            min_hits: 2,
            target: None,
        }
    }
}

/// One white cell found in a frame, in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// The whole cell (clipped at the frame border by the locator).
    pub cell: PixelBox,
    /// The nucleus; its centre is the cell's position.
    pub nucleus: PixelBox,
}

/// Where a tracked cell is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum CellState {
    /// Seen, not yet classified.
    Tracking,
    /// Handed out for classification; waiting for [`Tracker::counted`].
    Classifying,
    /// Counted; never handed out again.
    Counted,
}

/// A white cell the tracker knows.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedCell {
    /// Identifier, unique in the session.
    pub id: u64,
    /// Centre of the nucleus in slide coordinates.
    pub pos: (f64, f64),
    /// Diameter of the whole cell in pixels (largest whole sighting).
    pub diameter: f32,
    /// Steady, whole sightings.
    pub hits: u32,
    /// Life stage.
    pub state: CellState,
    /// Frame number of the last sighting.
    pub last_seen: u64,
}

/// A cell to classify now, in the frame just observed.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifyRequest {
    /// The tracked cell.
    pub cell_id: u64,
    /// Its box in the frame.
    pub cell: PixelBox,
    /// Its position on the slide.
    pub slide_pos: (f64, f64),
}

/// The tracker's state for one slide.
#[derive(Debug, Clone)]
pub struct Tracker {
    params: TrackerParams,
    origin: (f64, f64),
    velocity: (f64, f64),
    frame: u64,
    cells: Vec<TrackedCell>,
    next_id: u64,
    counted: u32,
}

fn centre(b: &PixelBox) -> (f64, f64) {
    let (x, y) = b.centre();
    (f64::from(x), f64::from(y))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

impl Tracker {
    /// A tracker for a new slide.
    pub fn new(params: TrackerParams) -> Self {
        Tracker {
            params,
            origin: (0.0, 0.0),
            velocity: (0.0, 0.0),
            frame: 0,
            cells: Vec::new(),
            next_id: 1,
            counted: 0,
        }
    }

    /// The settings.
    pub fn params(&self) -> &TrackerParams {
        &self.params
    }

    /// Slide position of the current frame's top-left pixel.
    pub fn origin(&self) -> (f64, f64) {
        self.origin
    }

    /// Every cell known in this session.
    pub fn cells(&self) -> &[TrackedCell] {
        &self.cells
    }

    /// Cells counted so far (marked with [`Tracker::counted`]; an undo in the app does not
    /// unmark them: an undone cell stays seen, so it is not counted again).
    pub fn counted_total(&self) -> u32 {
        self.counted
    }

    /// Whether the target count was reached (no more classifications are asked for).
    pub fn target_reached(&self) -> bool {
        self.params.target.is_some_and(|t| self.counted >= t)
    }

    /// Moves to the next frame. `shift` is the picture's displacement from the previous
    /// frame (see [`super::Motion`]); `None` when it is unknown, in which case the last
    /// known velocity is assumed (a pan usually goes on as it was).
    pub fn advance(&mut self, shift: Option<(f32, f32)>) {
        self.frame += 1;
        if let Some((dx, dy)) = shift {
            self.velocity = (f64::from(dx), f64::from(dy));
        }
        self.origin.0 -= self.velocity.0;
        self.origin.1 -= self.velocity.1;
    }

    /// Whether a cell with this `nucleus` is whole in view: the nucleus and a rim of
    /// [`WHOLE_RIM`] around it at least `edge_margin` inside every edge.
    fn is_whole(&self, nucleus: &PixelBox, frame: (u32, u32)) -> bool {
        let rim = (WHOLE_RIM * nucleus.width().max(nucleus.height()) as f32).round() as u32;
        let m = self.params.edge_margin.saturating_add(rim);
        nucleus.x0 >= m
            && nucleus.y0 >= m
            && nucleus.x1.saturating_add(m) <= frame.0
            && nucleus.y1.saturating_add(m) <= frame.1
    }

    /// Takes the locator's detections in the current frame (size `frame`) and returns the
    /// cells to classify now: steady field, cell whole, seen often enough, never counted,
    /// target not reached. New cells are only added on steady frames.
    pub fn observe(
        &mut self,
        detections: &[Detection],
        frame: (u32, u32),
        steady: bool,
    ) -> Vec<ClassifyRequest> {
        let local: Vec<(f64, f64)> = detections.iter().map(|d| centre(&d.nucleus)).collect();
        let whole: Vec<bool> = detections
            .iter()
            .map(|d| self.is_whole(&d.nucleus, frame))
            .collect();
        let diameters: Vec<f32> = detections
            .iter()
            .map(|d| d.cell.width().max(d.cell.height()) as f32)
            .collect();

        let mut pairs = self.associate(&local, &diameters);
        if steady {
            // Re-anchor on established cells seen whole: their median disagreement is drift.
            let (mut rx, mut ry): (Vec<f64>, Vec<f64>) = pairs
                .iter()
                .filter(|&&(d, c)| whole[d] && self.cells[c].hits > 0)
                .map(|&(d, c)| {
                    let p = &self.cells[c].pos;
                    (
                        self.origin.0 + local[d].0 - p.0,
                        self.origin.1 + local[d].1 - p.1,
                    )
                })
                .unzip();
            if !rx.is_empty() {
                self.origin.0 -= median(&mut rx);
                self.origin.1 -= median(&mut ry);
                pairs = self.associate(&local, &diameters);
            }
        }

        let mut matched = vec![None; detections.len()];
        for &(d, c) in &pairs {
            matched[d] = Some(c);
        }
        let mut requests = Vec::new();
        for (d, det) in detections.iter().enumerate() {
            let pos = (self.origin.0 + local[d].0, self.origin.1 + local[d].1);
            let index = match matched[d] {
                Some(c) => c,
                // While the field moves, positions are not trusted enough to found a cell.
                None if !steady => continue,
                None => {
                    self.cells.push(TrackedCell {
                        id: self.next_id,
                        pos,
                        diameter: diameters[d],
                        hits: 0,
                        state: CellState::Tracking,
                        last_seen: self.frame,
                    });
                    self.next_id += 1;
                    self.cells.len() - 1
                }
            };
            let cell = &mut self.cells[index];
            cell.last_seen = self.frame;
            if !(steady && whole[d]) {
                continue;
            }
            // Whole, steady sightings refine the position (a running mean of up to 8).
            let k = f64::from(cell.hits.min(7) + 1);
            cell.pos.0 += (pos.0 - cell.pos.0) / k;
            cell.pos.1 += (pos.1 - cell.pos.1) / k;
            cell.diameter = cell.diameter.max(diameters[d]);
            cell.hits = cell.hits.saturating_add(1);
            let reached = self.params.target.is_some_and(|t| self.counted >= t);
            if cell.state == CellState::Tracking && cell.hits >= self.params.min_hits && !reached {
                cell.state = CellState::Classifying;
                requests.push(ClassifyRequest {
                    cell_id: cell.id,
                    cell: det.cell,
                    slide_pos: cell.pos,
                });
            }
        }
        requests
    }

    /// One-to-one matches (detection index, cell index), nearest pairs first, within the
    /// gate.
    fn associate(&self, local: &[(f64, f64)], diameters: &[f32]) -> Vec<(usize, usize)> {
        let mut candidates = Vec::new();
        for (d, l) in local.iter().enumerate() {
            let p = (self.origin.0 + l.0, self.origin.1 + l.1);
            for (c, cell) in self.cells.iter().enumerate() {
                let gate = f64::from(self.params.gate * diameters[d].max(cell.diameter));
                let dist = (p.0 - cell.pos.0).hypot(p.1 - cell.pos.1);
                if dist < gate {
                    candidates.push((dist, d, c));
                }
            }
        }
        candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut used_d = vec![false; local.len()];
        let mut used_c = vec![false; self.cells.len()];
        let mut pairs = Vec::new();
        for (_, d, c) in candidates {
            if !used_d[d] && !used_c[c] {
                used_d[d] = true;
                used_c[c] = true;
                pairs.push((d, c));
            }
        }
        pairs
    }

    /// The app counted the cell (its classification was journaled). Returns false for an
    /// unknown id or a cell that was not waiting for classification.
    pub fn counted(&mut self, cell_id: u64) -> bool {
        match self.cells.iter_mut().find(|c| c.id == cell_id) {
            Some(c) if c.state == CellState::Classifying => {
                c.state = CellState::Counted;
                self.counted += 1;
                true
            }
            _ => false,
        }
    }

    /// The cell could not be counted (classifier or journal failure): it may be asked for
    /// again on a later steady frame.
    pub fn not_counted(&mut self, cell_id: u64) {
        if let Some(c) = self
            .cells
            .iter_mut()
            .find(|c| c.id == cell_id && c.state == CellState::Classifying)
        {
            c.state = CellState::Tracking;
            c.hits = 0;
        }
    }
}

#[cfg(test)]
mod tests;
