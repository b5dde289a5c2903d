//! `eval::model` on a real model and a real labelled tree: the Coral ImageNet model on its
//! three known pictures, laid out as `DIR/CLASS/*.png` with class folders in other cases.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hematovision::eval::model::{EvalError, evaluate};
use hematovision::eval::write_confusion_png;
use hematovision::model::litert::Runtime;
use hematovision::model::preprocess::read_rgb;
use hematovision::model::{Classifier, ClassifierOptions, ModelBundle, TfliteClassifier};

fn weights() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/weights/imagenet-mobilenet-v2")
}

fn classifier(dir: &Path) -> TfliteClassifier {
    let model = dir.join("model.tflite");
    std::fs::copy(weights().join("mobilenet_v2_1.0_224_quant.tflite"), &model).unwrap();
    std::fs::copy(
        weights().join("imagenet_labels.txt"),
        dir.join("labels.txt"),
    )
    .unwrap();
    let rt = Runtime::load(None).expect("libLiteRt.so (run cross/fetch-litert.sh)");
    let bundle = ModelBundle::load(&model).unwrap();
    TfliteClassifier::new(&rt, Arc::new(bundle), &ClassifierOptions::default()).unwrap()
}

/// Writes the known pictures as PNG/JPEG into `root/<folder>/`.
fn tree(root: &Path, layout: &[(&str, &str, &str)]) {
    for (folder, source, name) in layout {
        let dir = root.join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        let img = read_rgb(&weights().join("test_images").join(source)).unwrap();
        img.save(dir.join(name)).unwrap();
    }
}

#[test]
fn evaluates_a_labelled_tree_through_the_daemon_path() {
    let model_dir = tempfile::tempdir().unwrap();
    let mut c = classifier(model_dir.path());
    let data = tempfile::tempdir().unwrap();
    tree(
        data.path(),
        &[
            ("EGYPTIAN CAT", "cat.bmp", "cat.png"),
            ("Military Uniform", "grace_hopper.bmp", "hopper.PNG"),
            ("chickadee", "bird.bmp", "bird.jpg"),
        ],
    );
    // Not an image extension: ignored. An undecodable .jpeg: reported, not fatal.
    std::fs::write(data.path().join("chickadee/notes.txt"), "x").unwrap();
    std::fs::write(
        data.path().join("chickadee/broken.jpeg"),
        b"\xff\xd8 not really",
    )
    .unwrap();

    let mut calls = Vec::new();
    let report = evaluate(&mut c, data.path(), &mut |done, total| {
        calls.push((done, total))
    })
    .unwrap();
    assert_eq!(calls.last(), Some(&(4, 4)));
    assert_eq!(report.n, 3);
    assert_eq!(report.accuracy, 1.0);
    assert_eq!(report.failed.len(), 1);
    assert!(report.failed[0].file.ends_with("broken.jpeg"));
    let labels = c.labels();
    let cat = labels.iter().position(|l| l == "Egyptian cat").unwrap();
    assert_eq!(report.confusion[cat][cat], 1);
    assert_eq!(report.per_class[cat].support, 1);
    assert_eq!(report.per_class[cat].recall, 1.0);
    assert!(report.latency_ms.p50 > 0.0 && report.images_per_second > 0.0);

    let json = serde_json::to_value(&report).unwrap();
    for key in [
        "accuracy",
        "n",
        "per_class",
        "confusion",
        "images_per_second",
        "latency_ms",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["per_class"]["chickadee"]["support"], 1);
    assert_eq!(json["confusion"].as_array().unwrap().len(), labels.len());

    let text = report.to_string();
    assert!(text.contains("accuracy 100.00% (3/3 images)"), "{text}");
    assert!(text.contains("broken.jpeg"), "{text}");
    let png = data.path().join("confusion.png");
    write_confusion_png(&report, &png).unwrap();
    let drawn = image::open(&png).unwrap();
    assert!(
        drawn.width() > 1001 && drawn.width() < 4000,
        "{}",
        drawn.width()
    );
}

#[test]
fn unknown_class_folder_is_an_error_naming_it() {
    let model_dir = tempfile::tempdir().unwrap();
    let mut c = classifier(model_dir.path());
    let data = tempfile::tempdir().unwrap();
    tree(
        data.path(),
        &[
            ("Egyptian cat", "cat.bmp", "cat.png"),
            ("basophil", "bird.bmp", "b.png"),
        ],
    );
    let err = evaluate(&mut c, data.path(), &mut |_, _| {}).unwrap_err();
    assert!(
        matches!(&err, EvalError::UnknownClass { folder, .. } if folder == "basophil"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        evaluate(&mut c, empty.path(), &mut |_, _| {}),
        Err(EvalError::NoImages(_))
    ));
}
