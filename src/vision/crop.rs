//! Choosing the cell to classify among those in view (the square around it is
//! [`super::framing`]'s).

use super::locator::Candidate;

/// The cell picked for classification.
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenCell {
    /// The chosen candidate.
    pub candidate: Candidate,
    /// Its index in the candidate list.
    pub index: usize,
    /// How many candidates were in view (more than 1: the display says which one was taken).
    pub count: usize,
}

/// Picks the candidate whose cell centre is nearest the reticle, or the image centre when
/// there is no reticle; ties go to the earlier (higher-scoring) candidate. `None` when no
/// cell was found.
pub fn choose_cell(
    candidates: &[Candidate],
    image_size: (u32, u32),
    reticle: Option<(u32, u32)>,
) -> Option<ChosenCell> {
    let (tx, ty) = match reticle {
        Some((x, y)) => (x as f32, y as f32),
        None => (image_size.0 as f32 / 2.0, image_size.1 as f32 / 2.0),
    };
    let distance = |c: &Candidate| {
        let (cx, cy) = c.cell.centre();
        (cx - tx).powi(2) + (cy - ty).powi(2)
    };
    let (index, candidate) = candidates
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| distance(a).total_cmp(&distance(b)))?;
    Some(ChosenCell {
        candidate: candidate.clone(),
        index,
        count: candidates.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::PixelBox;

    fn cand(x0: u32, y0: u32, x1: u32, y1: u32, score: f32) -> Candidate {
        let b = PixelBox { x0, y0, x1, y1 };
        Candidate {
            cell: b,
            nucleus: b,
            score,
            at_border: false,
        }
    }

    #[test]
    fn chooses_nearest_centre_or_reticle_and_counts() {
        let cs = [
            cand(0, 0, 100, 100, 0.9),
            cand(280, 200, 360, 280, 0.5),
            cand(500, 380, 600, 480, 0.4),
        ];
        let chosen = choose_cell(&cs, (640, 480), None).unwrap();
        assert_eq!((chosen.index, chosen.count), (1, 3));
        let chosen = choose_cell(&cs, (640, 480), Some((600, 470))).unwrap();
        assert_eq!(chosen.index, 2);
        assert_eq!(chosen.candidate, cs[2]);
        assert!(choose_cell(&[], (640, 480), None).is_none());
    }
}
