//! A model compiled for the CPU (XNNPACK), with its input and output buffers.

// Calls into the C API: compiling, binding host buffers and running.
#![allow(unsafe_code)]

use std::ffi::{CString, c_void};
use std::num::NonZeroUsize;
use std::sync::Arc;

use super::buffer::AlignedBuf;
use super::error::{LiteRtError, check};
use super::ffi;
use super::model::{Model, ModelInner, SignatureTensor};
use super::tensor::{DType, Element, TensorInfo};

/// One tensor buffer over host memory that this struct owns.
struct HostTensor {
    info: TensorInfo,
    label: String,
    memory: AlignedBuf,
}

/// A model compiled for the CPU: inputs are written in place, [`CompiledModel::run`] runs it,
/// outputs are read in place. All buffers are allocated once, 64-byte aligned, at compile time.
///
/// Drop order: the compiled model is destroyed first, then its tensor buffers and options,
/// then (through the `Arc`) the model, its flatbuffer and finally the environment.
pub struct CompiledModel {
    raw: ffi::CompiledModel,
    options: ffi::Options,
    input_handles: Vec<ffi::TensorBuffer>,
    output_handles: Vec<ffi::TensorBuffer>,
    inputs: Vec<HostTensor>,
    outputs: Vec<HostTensor>,
    threads: NonZeroUsize,
    model: Arc<ModelInner>,
}

// SAFETY: every LiteRT object here is owned by this struct and only used under the runtime's
// lock; the host memory is owned too. Moving the whole set to another thread is sound (LiteRT
// CPU objects have no thread affinity). Not `Sync`: `run` needs `&mut self`.
unsafe impl Send for CompiledModel {}

impl std::fmt::Debug for CompiledModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledModel")
            .field("inputs", &self.input_infos().collect::<Vec<_>>())
            .field("outputs", &self.output_infos().collect::<Vec<_>>())
            .field("threads", &self.threads)
            .finish()
    }
}

impl Drop for CompiledModel {
    fn drop(&mut self) {
        let rt = &self.model.runtime;
        let api = &rt.api;
        let _guard = rt.guard();
        // SAFETY: each handle was created by the library and is destroyed exactly once; null
        // handles (a partially built model) are skipped. The compiled model goes first since
        // it may refer to the buffers and options; the host memory is freed after this body.
        unsafe {
            if !self.raw.is_null() {
                (api.destroy_compiled_model)(self.raw);
            }
            for &tb in self.input_handles.iter().chain(&self.output_handles) {
                (api.destroy_tensor_buffer)(tb);
            }
            if !self.options.is_null() {
                (api.destroy_options)(self.options);
            }
        }
    }
}

/// Frees the `"num_threads = N\n"` payload handed to LiteRT's opaque options.
unsafe extern "C" fn free_c_string(payload: *mut c_void) {
    if !payload.is_null() {
        // SAFETY: the payload was made by `CString::into_raw` in `CompiledModel::new` and the
        // library calls this deleter once.
        drop(unsafe { CString::from_raw(payload.cast()) });
    }
}

impl CompiledModel {
    /// Compiles `model` for the CPU with `threads` XNNPACK threads.
    pub fn new(model: &Model, threads: NonZeroUsize) -> Result<Self, LiteRtError> {
        let mut compiled = Self {
            raw: std::ptr::null_mut(),
            options: std::ptr::null_mut(),
            input_handles: Vec::new(),
            output_handles: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            threads,
            model: Arc::clone(&model.inner),
        };
        // On error `compiled` is dropped after the guard inside `build` is released, and its
        // `Drop` frees whatever was created.
        compiled.build()?;
        Ok(compiled)
    }

    fn build(&mut self) -> Result<(), LiteRtError> {
        let model = Arc::clone(&self.model);
        let rt = &model.runtime;
        let api = &rt.api;
        let _guard = rt.guard();

        // SAFETY (all calls in this function): pointers passed are live objects created here
        // or owned by `model`; out pointers are valid locals.
        check("LiteRtCreateOptions", unsafe {
            (api.create_options)(&mut self.options)
        })?;
        check("LiteRtSetOptionsHardwareAccelerators", unsafe {
            (api.set_options_hardware_accelerators)(self.options, ffi::HW_ACCELERATOR_CPU)
        })?;
        let payload = CString::new(format!("num_threads = {}\n", self.threads))
            .map_err(|_| LiteRtError::Allocation(0))?
            .into_raw();
        let mut opaque: ffi::OpaqueOptions = std::ptr::null_mut();
        let status = unsafe {
            (api.create_opaque_options)(
                c"xnnpack".as_ptr(),
                payload.cast(),
                Some(free_c_string),
                &mut opaque,
            )
        };
        if status != 0 {
            // The library did not take the payload: free it here.
            unsafe { free_c_string(payload.cast()) };
        }
        check("LiteRtCreateOpaqueOptions", status)?;
        let status = unsafe { (api.add_opaque_options)(self.options, opaque) };
        if status != 0 {
            // Ownership passes to the options only on success.
            unsafe { (api.destroy_opaque_options)(opaque) };
        }
        check("LiteRtAddOpaqueOptions", status)?;

        check("LiteRtCreateCompiledModel", unsafe {
            (api.create_compiled_model)(rt.env, model.raw, self.options, &mut self.raw)
        })?;

        let mut input_layouts = Vec::with_capacity(model.inputs.len());
        for i in 0..model.inputs.len() {
            let mut layout = ffi::Layout::zeroed();
            check("LiteRtGetCompiledModelInputTensorLayout", unsafe {
                (api.get_compiled_model_input_tensor_layout)(self.raw, 0, i, &mut layout)
            })?;
            input_layouts.push(layout);
        }
        let mut output_layouts = vec![ffi::Layout::zeroed(); model.outputs.len()];
        if !output_layouts.is_empty() {
            check("LiteRtGetCompiledModelOutputTensorLayouts", unsafe {
                (api.get_compiled_model_output_tensor_layouts)(
                    self.raw,
                    0,
                    output_layouts.len(),
                    output_layouts.as_mut_ptr(),
                    false,
                )
            })?;
        }

        for (i, (sig, layout)) in model.inputs.iter().zip(&input_layouts).enumerate() {
            let mut requirements: ffi::TensorBufferRequirements = std::ptr::null_mut();
            check("LiteRtGetCompiledModelInputBufferRequirements", unsafe {
                (api.get_compiled_model_input_buffer_requirements)(
                    self.raw,
                    0,
                    i,
                    &mut requirements,
                )
            })?;
            let required = required_size(api, requirements)?;
            let (handle, tensor) = host_tensor(api, sig, layout, "input", i, required)?;
            self.input_handles.push(handle);
            self.inputs.push(tensor);
        }
        for (i, (sig, layout)) in model.outputs.iter().zip(&output_layouts).enumerate() {
            let mut requirements: ffi::TensorBufferRequirements = std::ptr::null_mut();
            check("LiteRtGetCompiledModelOutputBufferRequirements", unsafe {
                (api.get_compiled_model_output_buffer_requirements)(
                    self.raw,
                    0,
                    i,
                    &mut requirements,
                )
            })?;
            let required = required_size(api, requirements)?;
            let (handle, tensor) = host_tensor(api, sig, layout, "output", i, required)?;
            self.output_handles.push(handle);
            self.outputs.push(tensor);
        }
        Ok(())
    }

    /// The number of XNNPACK threads.
    pub fn threads(&self) -> NonZeroUsize {
        self.threads
    }

    /// Descriptions of the inputs (concrete shapes from the compiled model).
    pub fn input_infos(&self) -> impl Iterator<Item = &TensorInfo> {
        self.inputs.iter().map(|t| &t.info)
    }

    /// Descriptions of the outputs.
    pub fn output_infos(&self) -> impl Iterator<Item = &TensorInfo> {
        self.outputs.iter().map(|t| &t.info)
    }

    /// Description of input `index`.
    pub fn input_info(&self, index: usize) -> Result<&TensorInfo, LiteRtError> {
        tensor_at(&self.inputs, "input", index).map(|t| &t.info)
    }

    /// Description of output `index`.
    pub fn output_info(&self, index: usize) -> Result<&TensorInfo, LiteRtError> {
        tensor_at(&self.outputs, "output", index).map(|t| &t.info)
    }

    /// Number of inputs.
    pub fn input_count(&self) -> usize {
        self.inputs.len()
    }

    /// Number of outputs.
    pub fn output_count(&self) -> usize {
        self.outputs.len()
    }

    /// Input `index` as a mutable slice of `T`, to be filled before [`CompiledModel::run`].
    /// Fails if `T` is not the tensor's element type.
    pub fn input_mut<T: Element>(&mut self, index: usize) -> Result<&mut [T], LiteRtError> {
        let count = self.inputs.len();
        let tensor = self
            .inputs
            .get_mut(index)
            .ok_or(LiteRtError::IndexOutOfRange {
                kind: "input",
                index,
                count,
            })?;
        check_dtype::<T>(tensor)?;
        let n = tensor.info.element_count();
        Ok(&mut tensor.memory.typed_mut::<T>()[..n])
    }

    /// Copies `data` into input `index`; element type and length must match exactly.
    pub fn set_input<T: Element>(&mut self, index: usize, data: &[T]) -> Result<(), LiteRtError> {
        let label = tensor_at(&self.inputs, "input", index)?.label.clone();
        let slot = self.input_mut::<T>(index)?;
        if slot.len() != data.len() {
            return Err(LiteRtError::SizeMismatch {
                tensor: label,
                expected: std::mem::size_of_val(slot),
                given: std::mem::size_of_val(data),
            });
        }
        slot.copy_from_slice(data);
        Ok(())
    }

    /// Copies raw bytes into input `index`; the length must be the tensor's byte size.
    pub fn set_input_bytes(&mut self, index: usize, bytes: &[u8]) -> Result<(), LiteRtError> {
        let count = self.inputs.len();
        let tensor = self
            .inputs
            .get_mut(index)
            .ok_or(LiteRtError::IndexOutOfRange {
                kind: "input",
                index,
                count,
            })?;
        let expected = tensor.info.byte_size();
        if bytes.len() != expected {
            return Err(LiteRtError::SizeMismatch {
                tensor: tensor.label.clone(),
                expected,
                given: bytes.len(),
            });
        }
        tensor.memory.as_mut_slice()[..expected].copy_from_slice(bytes);
        Ok(())
    }

    /// Output `index` as a slice of `T` (valid after [`CompiledModel::run`]). Fails if `T` is
    /// not the tensor's element type.
    pub fn output<T: Element>(&self, index: usize) -> Result<&[T], LiteRtError> {
        let tensor = tensor_at(&self.outputs, "output", index)?;
        check_dtype::<T>(tensor)?;
        Ok(&tensor.memory.typed::<T>()[..tensor.info.element_count()])
    }

    /// Input `index` as raw bytes (what the next [`CompiledModel::run`] will read).
    pub fn input_bytes(&self, index: usize) -> Result<&[u8], LiteRtError> {
        let tensor = tensor_at(&self.inputs, "input", index)?;
        Ok(&tensor.memory.as_slice()[..tensor.info.byte_size()])
    }

    /// Output `index` as raw bytes.
    pub fn output_bytes(&self, index: usize) -> Result<&[u8], LiteRtError> {
        let tensor = tensor_at(&self.outputs, "output", index)?;
        Ok(&tensor.memory.as_slice()[..tensor.info.byte_size()])
    }

    /// Runs the model on the current inputs; the outputs are then readable.
    pub fn run(&mut self) -> Result<(), LiteRtError> {
        let model = Arc::clone(&self.model);
        let rt = &model.runtime;
        let api = &rt.api;
        let _guard = rt.guard();
        // SAFETY: the compiled model and the buffers are live and owned by `self`; the handle
        // arrays have exactly the counts passed.
        check("LiteRtRunCompiledModel", unsafe {
            (api.run_compiled_model)(
                self.raw,
                0,
                self.input_handles.len(),
                self.input_handles.as_mut_ptr(),
                self.output_handles.len(),
                self.output_handles.as_mut_ptr(),
            )
        })?;
        // Synchronise each output with host memory through the official lock/unlock pair. For
        // host-memory buffers the lock returns our own memory; copy if it ever does not.
        for (handle, tensor) in self.output_handles.iter().zip(&mut self.outputs) {
            let mut mapped: *mut c_void = std::ptr::null_mut();
            // SAFETY: live buffer, valid out pointer.
            check("LiteRtLockTensorBuffer", unsafe {
                (api.lock_tensor_buffer)(*handle, &mut mapped, ffi::LOCK_MODE_READ)
            })?;
            let ours = tensor.memory.as_ptr();
            if !mapped.is_null() && mapped.cast::<u8>() != ours {
                let n = tensor.info.byte_size();
                // SAFETY: a locked buffer maps at least the tensor's packed size; the regions
                // are distinct allocations.
                unsafe { std::ptr::copy_nonoverlapping(mapped.cast::<u8>(), ours, n) };
            }
            // SAFETY: locked just above.
            check("LiteRtUnlockTensorBuffer", unsafe {
                (api.unlock_tensor_buffer)(*handle)
            })?;
        }
        Ok(())
    }
}

fn tensor_at<'a>(
    tensors: &'a [HostTensor],
    kind: &'static str,
    index: usize,
) -> Result<&'a HostTensor, LiteRtError> {
    tensors.get(index).ok_or(LiteRtError::IndexOutOfRange {
        kind,
        index,
        count: tensors.len(),
    })
}

fn check_dtype<T: Element>(tensor: &HostTensor) -> Result<(), LiteRtError> {
    if tensor.info.dtype == T::DTYPE {
        Ok(())
    } else {
        Err(LiteRtError::DTypeMismatch {
            tensor: tensor.label.clone(),
            expected: tensor.info.dtype,
            given: T::DTYPE,
        })
    }
}

fn required_size(
    api: &ffi::Api,
    requirements: ffi::TensorBufferRequirements,
) -> Result<usize, LiteRtError> {
    let mut size = 0usize;
    // SAFETY: `requirements` belongs to the live compiled model; valid out pointer.
    check("LiteRtGetTensorBufferRequirementsBufferSize", unsafe {
        (api.get_tensor_buffer_requirements_buffer_size)(requirements, &mut size)
    })?;
    Ok(size)
}

/// Allocates aligned host memory for one tensor and wraps it in a LiteRT tensor buffer.
fn host_tensor(
    api: &ffi::Api,
    sig: &SignatureTensor,
    layout: &ffi::Layout,
    kind: &str,
    index: usize,
    required: usize,
) -> Result<(ffi::TensorBuffer, HostTensor), LiteRtError> {
    let label = format!("{kind} {index} \"{}\"", sig.name);
    let dtype =
        DType::from_code(sig.element_type).ok_or_else(|| LiteRtError::UnsupportedTensor {
            tensor: label.clone(),
            reason: format!("element type {} is not supported", sig.element_type),
        })?;
    let mut shape = Vec::with_capacity(layout.rank());
    for &d in layout.dims() {
        let d = usize::try_from(d).ok().filter(|&d| d > 0).ok_or_else(|| {
            LiteRtError::UnsupportedTensor {
                tensor: label.clone(),
                reason: format!("dimension {d} is not fixed in the compiled model"),
            }
        })?;
        shape.push(d);
    }
    let info = TensorInfo {
        name: sig.name.clone(),
        dtype,
        shape,
        quantization: sig.quantization,
    };
    let size = info.byte_size().max(required);
    let memory = AlignedBuf::zeroed(size)?;
    let tensor_type = ffi::RankedTensorType {
        element_type: sig.element_type,
        layout: *layout,
    };
    let mut handle: ffi::TensorBuffer = std::ptr::null_mut();
    // SAFETY: `memory` is 64-byte aligned, `size` bytes long and owned by the returned
    // `HostTensor`, which the compiled model keeps until after it destroys the handle; no
    // deallocator is passed, so LiteRT never frees it.
    check("LiteRtCreateTensorBufferFromHostMemory", unsafe {
        (api.create_tensor_buffer_from_host_memory)(
            &tensor_type,
            memory.as_ptr().cast(),
            size,
            None,
            &mut handle,
        )
    })?;
    Ok((
        handle,
        HostTensor {
            info,
            label,
            memory,
        },
    ))
}
