//! A model loaded from memory.

// Calls into the C API: loading a model and reading its signature.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char};
use std::sync::Arc;

use super::buffer::AlignedBuf;
use super::error::{LiteRtError, check};
use super::ffi;
use super::runtime::{Runtime, RuntimeInner};
use super::tensor::Quantization;

/// What the model signature says about one tensor (its shape is taken from the compiled
/// model instead: Keras exports report batch -1 here).
#[derive(Debug, Clone)]
pub(crate) struct SignatureTensor {
    pub(crate) name: String,
    pub(crate) element_type: i32,
    pub(crate) quantization: Option<Quantization>,
}

pub(crate) struct ModelInner {
    pub(crate) raw: ffi::Model,
    pub(crate) inputs: Vec<SignatureTensor>,
    pub(crate) outputs: Vec<SignatureTensor>,
    pub(crate) runtime: Arc<RuntimeInner>,
    /// The flatbuffer the model points into; freed only after the model is destroyed.
    _bytes: AlignedBuf,
}

// SAFETY: the model pointer is owned, immutable after loading, and only passed to the library
// under the runtime's lock.
unsafe impl Send for ModelInner {}
// SAFETY: as above; shared access reads only the Rust-side copies of the signature.
unsafe impl Sync for ModelInner {}

impl Drop for ModelInner {
    fn drop(&mut self) {
        let _guard = self.runtime.guard();
        // SAFETY: created by LiteRtCreateModelFromBuffer and destroyed once, before the
        // buffer it points into (dropped after this) and before the environment (kept alive by
        // `runtime`). Compiled models hold an `Arc` to this struct, so none outlives it.
        unsafe { (self.runtime.api.destroy_model)(self.raw) };
    }
}

/// A `.tflite` model, parsed and verified by LiteRT. Loading always goes through
/// `LiteRtCreateModelFromBuffer`, which verifies the flatbuffer (loading from a file maps it
/// unverified and crashes on damaged files).
#[derive(Clone)]
pub struct Model {
    pub(crate) inner: Arc<ModelInner>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("inputs", &self.inner.inputs)
            .field("outputs", &self.inner.outputs)
            .finish()
    }
}

fn c_name(ptr: *const c_char) -> String {
    if ptr.is_null() {
        String::new()
    } else {
        // SAFETY: the library returns a NUL-terminated string owned by the model, which is
        // alive while this copies it.
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned()
    }
}

impl Model {
    /// Parses a model from its bytes (copied into 64-byte aligned memory that lives as long
    /// as the model).
    pub fn from_bytes(runtime: &Runtime, bytes: &[u8]) -> Result<Self, LiteRtError> {
        if bytes.is_empty() {
            return Err(LiteRtError::EmptyModel);
        }
        let buffer = AlignedBuf::from_bytes(bytes)?;
        let rt = &runtime.inner;
        let api = &rt.api;
        let _guard = rt.guard();
        let mut raw: ffi::Model = std::ptr::null_mut();
        // SAFETY: `buffer` is valid for `len` bytes and is moved into the returned model, so it
        // outlives the LiteRT model; `raw` is a valid out pointer.
        let status = unsafe {
            (api.create_model_from_buffer)(rt.env, buffer.as_ptr().cast(), buffer.len(), &mut raw)
        };
        check("LiteRtCreateModelFromBuffer", status)?;
        if raw.is_null() {
            return Err(LiteRtError::Call {
                call: "LiteRtCreateModelFromBuffer",
                status: super::Status::Unknown,
            });
        }
        // From here on the model is destroyed by `ModelInner::drop` on any error; the guard is
        // released first because that drop takes it again.
        let mut inner = ModelInner {
            raw,
            inputs: Vec::new(),
            outputs: Vec::new(),
            runtime: Arc::clone(rt),
            _bytes: buffer,
        };
        let described = describe(api, raw);
        drop(_guard);
        let (inputs, outputs) = described?;
        inner.inputs = inputs;
        inner.outputs = outputs;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Number of inputs of the first signature.
    pub fn input_count(&self) -> usize {
        self.inner.inputs.len()
    }

    /// Number of outputs of the first signature.
    pub fn output_count(&self) -> usize {
        self.inner.outputs.len()
    }

    /// The runtime the model belongs to.
    pub fn runtime(&self) -> Runtime {
        Runtime {
            inner: Arc::clone(&self.inner.runtime),
        }
    }
}

type Described = (Vec<SignatureTensor>, Vec<SignatureTensor>);

/// Reads the first signature's inputs and outputs. Caller holds the runtime lock.
fn describe(api: &ffi::Api, raw: ffi::Model) -> Result<Described, LiteRtError> {
    let mut count = 0usize;
    // SAFETY (all calls below): `raw` is a live model; every out pointer is valid.
    check("LiteRtGetNumModelSignatures", unsafe {
        (api.get_num_model_signatures)(raw, &mut count)
    })?;
    if count == 0 {
        return Err(LiteRtError::NoSignature);
    }
    let mut sig: ffi::Signature = std::ptr::null_mut();
    check("LiteRtGetModelSignature", unsafe {
        (api.get_model_signature)(raw, 0, &mut sig)
    })?;
    let (mut n_in, mut n_out) = (0usize, 0usize);
    check("LiteRtGetNumSignatureInputs", unsafe {
        (api.get_num_signature_inputs)(sig, &mut n_in)
    })?;
    check("LiteRtGetNumSignatureOutputs", unsafe {
        (api.get_num_signature_outputs)(sig, &mut n_out)
    })?;
    let mut inputs = Vec::with_capacity(n_in);
    for i in 0..n_in {
        let mut name: *const c_char = std::ptr::null();
        check("LiteRtGetSignatureInputName", unsafe {
            (api.get_signature_input_name)(sig, i, &mut name)
        })?;
        let mut tensor: ffi::Tensor = std::ptr::null_mut();
        check("LiteRtGetSignatureInputTensorByIndex", unsafe {
            (api.get_signature_input_tensor_by_index)(sig, i, &mut tensor)
        })?;
        inputs.push(describe_tensor(api, tensor, c_name(name), "input", i)?);
    }
    let mut outputs = Vec::with_capacity(n_out);
    for i in 0..n_out {
        let mut name: *const c_char = std::ptr::null();
        check("LiteRtGetSignatureOutputName", unsafe {
            (api.get_signature_output_name)(sig, i, &mut name)
        })?;
        let mut tensor: ffi::Tensor = std::ptr::null_mut();
        check("LiteRtGetSignatureOutputTensorByIndex", unsafe {
            (api.get_signature_output_tensor_by_index)(sig, i, &mut tensor)
        })?;
        outputs.push(describe_tensor(api, tensor, c_name(name), "output", i)?);
    }
    Ok((inputs, outputs))
}

fn describe_tensor(
    api: &ffi::Api,
    tensor: ffi::Tensor,
    name: String,
    kind: &str,
    index: usize,
) -> Result<SignatureTensor, LiteRtError> {
    let label = format!("{kind} {index} \"{name}\"");
    let mut type_id = 0;
    // SAFETY (all calls below): `tensor` belongs to the live model; out pointers are valid.
    check("LiteRtGetTensorTypeId", unsafe {
        (api.get_tensor_type_id)(tensor, &mut type_id)
    })?;
    if type_id != ffi::RANKED_TENSOR_TYPE {
        return Err(LiteRtError::UnsupportedTensor {
            tensor: label,
            reason: "its rank is not known (unranked tensor)".into(),
        });
    }
    let mut ranked = ffi::RankedTensorType {
        element_type: 0,
        layout: ffi::Layout::zeroed(),
    };
    check("LiteRtGetRankedTensorType", unsafe {
        (api.get_ranked_tensor_type)(tensor, &mut ranked)
    })?;
    let mut q_type = 0;
    check("LiteRtGetQuantizationTypeId", unsafe {
        (api.get_quantization_type_id)(tensor, &mut q_type)
    })?;
    let quantization = if q_type == ffi::QUANTIZATION_PER_TENSOR {
        let mut q = ffi::QuantizationPerTensor::default();
        check("LiteRtGetPerTensorQuantization", unsafe {
            (api.get_per_tensor_quantization)(tensor, &mut q)
        })?;
        Some(Quantization {
            scale: q.scale,
            zero_point: q.zero_point,
        })
    } else {
        None
    };
    Ok(SignatureTensor {
        name,
        element_type: ranked.element_type,
        quantization,
    })
}
