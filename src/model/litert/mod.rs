//! Safe bindings to the LiteRT (TensorFlow Lite) C API in `libLiteRt.so`, loaded at run time.
//!
//! The library comes from the pinned `ai-edge-litert` 2.3.0 wheel (`cross/fetch-litert.sh`);
//! see [`library`] for where it is looked for. Ownership mirrors the C API's rules:
//! [`Runtime`] (library + environment) outlives every [`Model`], which outlives every
//! [`CompiledModel`] made from it — enforced with reference counting, so values can be
//! dropped in any order. All `unsafe` code of the crate lives in this module.

mod compiled;
mod error;
mod ffi;
pub mod library;
mod model;
mod runtime;
mod tensor;

pub use compiled::CompiledModel;
pub use error::{INSTALL_HINT, LiteRtError, SearchAttempt, Status};
pub use model::Model;
pub use runtime::Runtime;
pub use tensor::{DType, Element, HOST_ALIGNMENT, Quantization, TensorInfo};
