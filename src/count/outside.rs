//! Which classes of a model are counted outside the differential.

/// The classes of `labels` named in `names` (case-insensitively), spelt as the model
/// spells them and in label order, and the names the model does not have.
///
/// The configuration lists such classes once for every model, so a four-class model
/// simply has none of them; the unknown names are returned so the caller can say so.
pub fn outside_classes(labels: &[String], names: &[String]) -> (Vec<String>, Vec<String>) {
    let matches = |label: &String, name: &String| label.eq_ignore_ascii_case(name.trim());
    let known = labels
        .iter()
        .filter(|label| names.iter().any(|name| matches(label, name)))
        .cloned()
        .collect();
    let unknown = names
        .iter()
        .filter(|name| !labels.iter().any(|label| matches(label, name)))
        .cloned()
        .collect();
    (known, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_match_labels_in_any_case_and_unknown_ones_are_returned() {
        let seven = strings(&[
            "EOSINOPHIL",
            "LYMPHOCYTE",
            "MONOCYTE",
            "NEUTROPHIL",
            "BASOPHIL",
            "ERYTHROBLAST",
            "IG",
        ]);
        let (known, unknown) = outside_classes(&seven, &strings(&["ig", "Erythroblast", "X"]));
        assert_eq!(known, strings(&["ERYTHROBLAST", "IG"]));
        assert_eq!(unknown, strings(&["X"]));
        let (known, unknown) = outside_classes(&seven[..4], &strings(&["ERYTHROBLAST"]));
        assert!(known.is_empty());
        assert_eq!(unknown, strings(&["ERYTHROBLAST"]));
    }
}
