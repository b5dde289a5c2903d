//! The LiteRT bindings against the Python reference interpreter: the tiny float32 and int8
//! MobileNetV2-style fixtures (tests/fixtures/models/make_fixtures.py) must give the recorded
//! outputs, within 1e-5 for float32 and exactly for int8.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use hematovision::model::litert::{CompiledModel, DType, LiteRtError, Model, Runtime};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/tiny")
}

fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn runtime() -> Runtime {
    Runtime::load(None).expect("libLiteRt.so (run cross/fetch-litert.sh)")
}

fn compile(rt: &Runtime, file: &str, threads: usize) -> CompiledModel {
    let bytes = std::fs::read(fixtures().join(file)).unwrap();
    let model = Model::from_bytes(rt, &bytes).unwrap();
    CompiledModel::new(&model, NonZeroUsize::new(threads).unwrap()).unwrap()
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn float32_model_matches_python_reference() {
    let rt = runtime();
    let reference = reference();
    for (name, threads) in [("tiny_f32", 1), ("tiny_logits_f32", 2)] {
        let r = &reference[name];
        let mut cm = compile(&rt, &format!("{name}.tflite"), threads);
        let input = cm.input_info(0).unwrap().clone();
        assert_eq!(input.dtype, DType::F32);
        assert_eq!(input.shape, vec![1, 32, 32, 3], "batch -1 must be resolved");
        assert_eq!(cm.output_info(0).unwrap().shape, vec![1, 4]);
        let all =
            f32s(&std::fs::read(fixtures().join(r["inputs_file"].as_str().unwrap())).unwrap());
        let n = input.element_count();
        for (k, expected) in r["outputs"].as_array().unwrap().iter().enumerate() {
            cm.set_input(0, &all[k * n..(k + 1) * n]).unwrap();
            cm.run().unwrap();
            let got = cm.output::<f32>(0).unwrap();
            for (g, e) in got.iter().zip(expected.as_array().unwrap()) {
                let e = e.as_f64().unwrap() as f32;
                assert!((g - e).abs() <= 1e-5, "{name} case {k}: {g} vs {e}");
            }
        }
    }
}

#[test]
fn int8_model_matches_python_reference_exactly() {
    let rt = runtime();
    let r = &reference()["tiny_int8"];
    let mut cm = compile(&rt, "tiny_int8.tflite", 2);
    let input = cm.input_info(0).unwrap().clone();
    assert_eq!(input.dtype, DType::I8);
    let q = input.quantization.expect("int8 input is quantised");
    let rq = &r["input_quantization"];
    assert_eq!(q.scale, rq["scale"].as_f64().unwrap() as f32);
    assert_eq!(q.zero_point, rq["zero_point"].as_i64().unwrap());
    let out_q = cm.output_info(0).unwrap().quantization.unwrap();
    assert_eq!(
        out_q.zero_point,
        r["output_quantization"]["zero_point"].as_i64().unwrap()
    );
    let raw = std::fs::read(fixtures().join(r["inputs_file"].as_str().unwrap())).unwrap();
    let all: Vec<i8> = raw.iter().map(|&b| b as i8).collect();
    let n = input.element_count();
    for (k, expected) in r["outputs"].as_array().unwrap().iter().enumerate() {
        cm.set_input(0, &all[k * n..(k + 1) * n]).unwrap();
        cm.run().unwrap();
        let got: Vec<i64> = cm
            .output::<i8>(0)
            .unwrap()
            .iter()
            .map(|&v| v as i64)
            .collect();
        let want: Vec<i64> = expected
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(got, want, "case {k}");
    }
}

#[test]
fn wrong_dtype_and_size_are_rejected_before_running() {
    let rt = runtime();
    let mut cm = compile(&rt, "tiny_int8.tflite", 1);
    // An f32 buffer into an int8 model would run silently in LiteRT: the bindings refuse it.
    let err = cm.set_input(0, &vec![0f32; 32 * 32 * 3]).unwrap_err();
    assert!(
        matches!(
            err,
            LiteRtError::DTypeMismatch {
                expected: DType::I8,
                given: DType::F32,
                ..
            }
        ),
        "{err}"
    );
    let err = cm.set_input(0, &[0i8; 10]).unwrap_err();
    assert!(matches!(err, LiteRtError::SizeMismatch { .. }), "{err}");
    let err = cm.set_input_bytes(0, &[0u8; 3073]).unwrap_err();
    assert!(
        matches!(
            err,
            LiteRtError::SizeMismatch {
                expected: 3072,
                given: 3073,
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        cm.input_mut::<i8>(1),
        Err(LiteRtError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        cm.output::<f32>(0),
        Err(LiteRtError::DTypeMismatch { .. })
    ));
}

#[test]
fn objects_can_be_dropped_in_any_order_and_moved_to_threads() {
    let rt = runtime();
    let bytes = std::fs::read(fixtures().join("tiny_f32.tflite")).unwrap();
    let model = Model::from_bytes(&rt, &bytes).unwrap();
    drop(bytes);
    let cm = CompiledModel::new(&model, NonZeroUsize::new(1).unwrap()).unwrap();
    // Dropping the runtime and the model handles first must not free what `cm` still uses.
    drop(rt);
    drop(model);
    let handle = std::thread::spawn(move || {
        let mut cm = cm;
        cm.input_mut::<f32>(0).unwrap().fill(0.25);
        cm.run().unwrap();
        cm.output::<f32>(0).unwrap().to_vec()
    });
    let out = handle.join().unwrap();
    let sum: f32 = out.iter().sum();
    assert!((sum - 1.0).abs() < 1e-4, "softmax output sums to {sum}");
}

#[test]
fn empty_model_is_a_typed_error() {
    let rt = runtime();
    assert!(matches!(
        Model::from_bytes(&rt, &[]),
        Err(LiteRtError::EmptyModel)
    ));
    let err = Model::from_bytes(&rt, b"not a flatbuffer at all").unwrap_err();
    assert!(matches!(err, LiteRtError::Call { .. }), "{err}");
}

#[test]
fn thread_safety_markers() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<Runtime>();
    sync::<Runtime>();
    send::<Model>();
    sync::<Model>();
    send::<CompiledModel>();
    send::<hematovision::model::TfliteClassifier>();
}
