//! Raw declarations of the LiteRT C API (`libLiteRt.so`, ai-edge-litert 2.3.0), resolved once by
//! `dlopen`. Nothing here is public outside `model::litert`; the safe wrapper lives next door.
//!
//! The struct layouts follow `litert/c/litert_layout.h`, `litert_model_types.h`, `litert_any.h`
//! and `litert_environment_options.h`; their sizes and field offsets are checked at compile time
//! below, so a mismatch with the C side fails the build instead of corrupting memory.

// The C API's function table, resolved by name from the loaded library.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_void};
use std::mem::{offset_of, size_of};
use std::path::Path;

use super::error::LiteRtError;

/// `LiteRtStatus`: 0 is success, anything else an error code (see [`super::Status`]).
pub(crate) type RawStatus = c_int;
/// `LiteRtParamIndex`.
pub(crate) type ParamIndex = usize;

/// Declares an opaque handle type (`typedef struct XT* X;` on the C side).
macro_rules! handle {
    ($($name:ident),* $(,)?) => {$(
        #[repr(C)]
        pub(crate) struct $name {
            _private: [u8; 0],
        }
    )*};
}
handle!(
    EnvironmentT,
    ModelT,
    SignatureT,
    TensorT,
    OptionsT,
    OpaqueOptionsT,
    CompiledModelT,
    TensorBufferT,
    TensorBufferRequirementsT,
);

pub(crate) type Environment = *mut EnvironmentT;
pub(crate) type Model = *mut ModelT;
pub(crate) type Signature = *mut SignatureT;
pub(crate) type Tensor = *mut TensorT;
pub(crate) type Options = *mut OptionsT;
pub(crate) type OpaqueOptions = *mut OpaqueOptionsT;
pub(crate) type CompiledModel = *mut CompiledModelT;
pub(crate) type TensorBuffer = *mut TensorBufferT;
pub(crate) type TensorBufferRequirements = *mut TensorBufferRequirementsT;

/// Maximum rank of a LiteRT layout.
pub(crate) const MAX_RANK: usize = 8;

/// `LiteRtLayout`: a bit field (rank in bits 0–6, `has_strides` in bit 7), then dimensions and
/// strides.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    pub(crate) bits: u32,
    pub(crate) dimensions: [i32; MAX_RANK],
    pub(crate) strides: [u32; MAX_RANK],
}

impl Layout {
    /// An all-zero layout (rank 0), to be filled in by the library.
    pub(crate) const fn zeroed() -> Self {
        Self {
            bits: 0,
            dimensions: [0; MAX_RANK],
            strides: [0; MAX_RANK],
        }
    }

    /// The rank, from bits 0–6 of the bit field.
    pub(crate) fn rank(&self) -> usize {
        (self.bits & 0x7f) as usize
    }

    /// The dimensions that are in use (`rank` of them, capped at the array size).
    pub(crate) fn dims(&self) -> &[i32] {
        &self.dimensions[..self.rank().min(MAX_RANK)]
    }
}

/// `LiteRtRankedTensorType`: element type and layout.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct RankedTensorType {
    pub(crate) element_type: c_int,
    pub(crate) layout: Layout,
}

/// `LiteRtQuantizationPerTensor`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct QuantizationPerTensor {
    pub(crate) scale: f32,
    pub(crate) zero_point: i64,
}

/// `LiteRtAny`: a type tag and an 8-byte union; only the integer member is used here.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Any {
    pub(crate) kind: c_int,
    pub(crate) int_value: i64,
}

/// `kLiteRtAnyTypeInt`.
pub(crate) const ANY_TYPE_INT: c_int = 2;

/// `LiteRtEnvOption`: an option tag and its value.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct EnvOption {
    pub(crate) tag: c_int,
    pub(crate) value: Any,
}

/// Environment option tag: the accelerators to register (value 1 = CPU only, which skips
/// probing for GPU and NPU libraries).
pub(crate) const ENV_OPTION_ACCELERATORS: c_int = 24;
/// Environment option tag: minimum log severity (3 = errors only, silences INFO lines).
pub(crate) const ENV_OPTION_MIN_LOG_SEVERITY: c_int = 25;
/// `kLiteRtHwAcceleratorCpu`.
pub(crate) const HW_ACCELERATOR_CPU: c_int = 1;
/// `kLiteRtQuantizationPerTensor`.
pub(crate) const QUANTIZATION_PER_TENSOR: c_int = 1;
/// `kLiteRtRankedTensorType`.
pub(crate) const RANKED_TENSOR_TYPE: c_int = 0;
/// `kLiteRtTensorBufferLockModeRead`.
pub(crate) const LOCK_MODE_READ: c_int = 0;

// Compile-time checks of the C layouts (64-bit Linux, GCC/Clang bit-field packing).
const _: () = {
    assert!(size_of::<Layout>() == 68);
    assert!(offset_of!(Layout, dimensions) == 4);
    assert!(offset_of!(Layout, strides) == 36);
    assert!(size_of::<RankedTensorType>() == 72);
    assert!(offset_of!(RankedTensorType, layout) == 4);
    assert!(size_of::<QuantizationPerTensor>() == 16);
    assert!(offset_of!(QuantizationPerTensor, zero_point) == 8);
    assert!(size_of::<Any>() == 16);
    assert!(offset_of!(Any, int_value) == 8);
    assert!(size_of::<EnvOption>() == 24);
    assert!(offset_of!(EnvOption, value) == 8);
    assert!(size_of::<ParamIndex>() == 8);
};

/// Payload destructor passed to `LiteRtCreateOpaqueOptions`.
pub(crate) type PayloadDeleter = unsafe extern "C" fn(*mut c_void);
/// Host memory deallocator passed to `LiteRtCreateTensorBufferFromHostMemory`.
pub(crate) type HostDeallocator = unsafe extern "C" fn(*mut c_void);

/// Declares the function table: one field per C function, all resolved when the library is
/// loaded, so a library missing any of them is rejected up front.
macro_rules! api {
    ($($field:ident = $symbol:literal : fn($($arg:ty),* $(,)?) $(-> $ret:ty)?;)*) => {
        /// The resolved LiteRT functions, and the library that keeps them valid.
        pub(crate) struct Api {
            $(pub(crate) $field: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)*
            /// Declared last so it is dropped after everything above is no longer callable.
            _library: libloading::Library,
        }

        impl Api {
            /// Resolves every function from `library`.
            ///
            /// # Safety
            /// `library` must be a LiteRT C API library whose exported functions have the
            /// signatures declared here (the pinned ai-edge-litert 2.3.0 build).
            pub(crate) unsafe fn resolve(
                library: libloading::Library,
                path: &Path,
            ) -> Result<Self, LiteRtError> {
                $(
                    let name: &CStr = $symbol;
                    // SAFETY: the caller guarantees the symbol has this signature; the function
                    // pointer is copied out and stays valid while `_library` is kept alive in
                    // the returned struct.
                    let $field = *unsafe {
                        library.get::<unsafe extern "C" fn($($arg),*) $(-> $ret)?>(name)
                    }
                    .map_err(|e| LiteRtError::MissingSymbol {
                        path: path.to_path_buf(),
                        symbol: name.to_string_lossy().into_owned(),
                        reason: e.to_string(),
                    })?;
                )*
                Ok(Self { $($field,)* _library: library })
            }
        }
    };
}

api! {
    create_environment = c"LiteRtCreateEnvironment":
        fn(c_int, *const EnvOption, *mut Environment) -> RawStatus;
    destroy_environment = c"LiteRtDestroyEnvironment": fn(Environment);
    create_model_from_buffer = c"LiteRtCreateModelFromBuffer":
        fn(Environment, *const c_void, usize, *mut Model) -> RawStatus;
    destroy_model = c"LiteRtDestroyModel": fn(Model);
    get_num_model_signatures = c"LiteRtGetNumModelSignatures":
        fn(Model, *mut ParamIndex) -> RawStatus;
    get_model_signature = c"LiteRtGetModelSignature":
        fn(Model, ParamIndex, *mut Signature) -> RawStatus;
    get_num_signature_inputs = c"LiteRtGetNumSignatureInputs":
        fn(Signature, *mut ParamIndex) -> RawStatus;
    get_num_signature_outputs = c"LiteRtGetNumSignatureOutputs":
        fn(Signature, *mut ParamIndex) -> RawStatus;
    get_signature_input_name = c"LiteRtGetSignatureInputName":
        fn(Signature, ParamIndex, *mut *const c_char) -> RawStatus;
    get_signature_output_name = c"LiteRtGetSignatureOutputName":
        fn(Signature, ParamIndex, *mut *const c_char) -> RawStatus;
    get_signature_input_tensor_by_index = c"LiteRtGetSignatureInputTensorByIndex":
        fn(Signature, ParamIndex, *mut Tensor) -> RawStatus;
    get_signature_output_tensor_by_index = c"LiteRtGetSignatureOutputTensorByIndex":
        fn(Signature, ParamIndex, *mut Tensor) -> RawStatus;
    get_tensor_type_id = c"LiteRtGetTensorTypeId": fn(Tensor, *mut c_int) -> RawStatus;
    get_ranked_tensor_type = c"LiteRtGetRankedTensorType":
        fn(Tensor, *mut RankedTensorType) -> RawStatus;
    get_quantization_type_id = c"LiteRtGetQuantizationTypeId":
        fn(Tensor, *mut c_int) -> RawStatus;
    get_per_tensor_quantization = c"LiteRtGetPerTensorQuantization":
        fn(Tensor, *mut QuantizationPerTensor) -> RawStatus;
    create_options = c"LiteRtCreateOptions": fn(*mut Options) -> RawStatus;
    destroy_options = c"LiteRtDestroyOptions": fn(Options);
    set_options_hardware_accelerators = c"LiteRtSetOptionsHardwareAccelerators":
        fn(Options, c_int) -> RawStatus;
    create_opaque_options = c"LiteRtCreateOpaqueOptions":
        fn(*const c_char, *mut c_void, Option<PayloadDeleter>, *mut OpaqueOptions) -> RawStatus;
    destroy_opaque_options = c"LiteRtDestroyOpaqueOptions": fn(OpaqueOptions);
    add_opaque_options = c"LiteRtAddOpaqueOptions": fn(Options, OpaqueOptions) -> RawStatus;
    create_compiled_model = c"LiteRtCreateCompiledModel":
        fn(Environment, Model, Options, *mut CompiledModel) -> RawStatus;
    destroy_compiled_model = c"LiteRtDestroyCompiledModel": fn(CompiledModel);
    get_compiled_model_input_tensor_layout = c"LiteRtGetCompiledModelInputTensorLayout":
        fn(CompiledModel, ParamIndex, ParamIndex, *mut Layout) -> RawStatus;
    get_compiled_model_output_tensor_layouts = c"LiteRtGetCompiledModelOutputTensorLayouts":
        fn(CompiledModel, ParamIndex, usize, *mut Layout, bool) -> RawStatus;
    get_compiled_model_input_buffer_requirements =
        c"LiteRtGetCompiledModelInputBufferRequirements":
        fn(CompiledModel, ParamIndex, ParamIndex, *mut TensorBufferRequirements) -> RawStatus;
    get_compiled_model_output_buffer_requirements =
        c"LiteRtGetCompiledModelOutputBufferRequirements":
        fn(CompiledModel, ParamIndex, ParamIndex, *mut TensorBufferRequirements) -> RawStatus;
    get_tensor_buffer_requirements_buffer_size = c"LiteRtGetTensorBufferRequirementsBufferSize":
        fn(TensorBufferRequirements, *mut usize) -> RawStatus;
    create_tensor_buffer_from_host_memory = c"LiteRtCreateTensorBufferFromHostMemory":
        fn(*const RankedTensorType, *mut c_void, usize, Option<HostDeallocator>, *mut TensorBuffer)
            -> RawStatus;
    destroy_tensor_buffer = c"LiteRtDestroyTensorBuffer": fn(TensorBuffer);
    lock_tensor_buffer = c"LiteRtLockTensorBuffer":
        fn(TensorBuffer, *mut *mut c_void, c_int) -> RawStatus;
    unlock_tensor_buffer = c"LiteRtUnlockTensorBuffer": fn(TensorBuffer) -> RawStatus;
    run_compiled_model = c"LiteRtRunCompiledModel":
        fn(CompiledModel, ParamIndex, usize, *mut TensorBuffer, usize, *mut TensorBuffer)
            -> RawStatus;
}
