//! Orientation views on the shipped model: classifying with 8 views is the average of
//! classifying the 8 turns and mirrors one by one, so the answer does not depend on how the
//! cell lies; the metadata sets the count and the options override it.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use hematovision::model::litert::Runtime;
use hematovision::model::preprocess::read_rgb;
use hematovision::model::{
    Classifier, ClassifierOptions, ModelBundle, ModelError, TfliteClassifier,
};
use image::RgbImage;
use image::imageops::{self, FilterType};

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}

fn runtime() -> Runtime {
    Runtime::load(None).expect("libLiteRt.so (run cross/fetch-litert.sh)")
}

/// A real Kaggle cell, made exactly the model's input size so preprocessing resamples
/// nothing and turning the picture turns the tensor exactly.
fn cell() -> RgbImage {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/datasets/kaggle-wbc4/test/EOSINOPHIL/_0_1616.jpeg");
    let image = read_rgb(&path).unwrap();
    imageops::resize(&image, 224, 224, FilterType::Triangle)
}

/// The eight turns and mirrors of a square picture, made with the image crate.
fn dihedral(image: &RgbImage) -> Vec<RgbImage> {
    let turns = [
        image.clone(),
        imageops::rotate90(image),
        imageops::rotate180(image),
        imageops::rotate270(image),
    ];
    let mirrors: Vec<RgbImage> = turns.iter().map(imageops::flip_horizontal).collect();
    turns.into_iter().chain(mirrors).collect()
}

/// The shipped model `file` on one thread with `views` (`None`: as its metadata says).
fn load(file: &str, views: Option<usize>) -> Result<TfliteClassifier, ModelError> {
    let bundle = Arc::new(ModelBundle::load(&models().join(file))?);
    let options = ClassifierOptions {
        threads: NonZeroUsize::new(1),
        views: views.and_then(NonZeroUsize::new),
    };
    TfliteClassifier::new(&runtime(), bundle, &options)
}

fn open(file: &str, views: Option<usize>) -> TfliteClassifier {
    load(file, views).unwrap()
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 1e-5, "{what}: {a:?} vs {b:?}");
}

#[test]
fn eight_views_average_the_turns_and_mirrors_of_the_cell() {
    let image = cell();
    for file in [
        "hematovision-wbc4.tflite",
        "hematovision-wbc4-float32.tflite",
    ] {
        let mut eight = open(file, None);
        assert_eq!(
            eight.info().views,
            8,
            "{file}: metadata.json asks for 8 views"
        );
        assert!(eight.info().to_string().contains("8 views"));
        let mut one = open(file, Some(1));
        assert_eq!(one.info().views, 1);

        let pictures = dihedral(&image);
        let singles: Vec<Vec<f32>> = pictures.iter().map(|p| one.classify(p).unwrap()).collect();
        let mut mean = vec![0.0f32; singles[0].len()];
        for s in &singles {
            for (m, v) in mean.iter_mut().zip(s) {
                *m += v / 8.0;
            }
        }
        let averaged = eight.classify(&image).unwrap();
        assert_close(&averaged, &mean, file);
        // however the cell lies, the answer is the same
        for (i, p) in pictures.iter().enumerate() {
            let turned = eight.classify(p).unwrap();
            assert_close(&turned, &averaged, &format!("{file}, view {i}"));
        }
        // the views differ from one another, so averaging does something
        assert!(
            singles.iter().any(|s| s != &singles[0]),
            "{file}: all views gave the same answer"
        );
    }
}

#[test]
fn fewer_views_average_the_upright_and_half_turned_cell() {
    let image = cell();
    let mut two = open("hematovision-wbc4.tflite", Some(2));
    assert_eq!(two.info().views, 2);
    let mut one = open("hematovision-wbc4.tflite", Some(1));
    let a = one.classify(&image).unwrap();
    let b = one.classify(&imageops::rotate180(&image)).unwrap();
    let mean: Vec<f32> = a.iter().zip(&b).map(|(x, y)| (x + y) / 2.0).collect();
    assert_close(&two.classify(&image).unwrap(), &mean, "2 views");
}

#[test]
fn an_impossible_view_count_is_a_typed_error_naming_the_choices() {
    let err = load("hematovision-wbc4.tflite", Some(3)).unwrap_err();
    assert!(matches!(err, ModelError::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("1, 2, 4 or 8"), "{err}");
}
