//! Safe bindings to the LiteRT (TensorFlow Lite) C API in `libLiteRt.so`, loaded at run time.
//!
//! The library comes from the pinned `ai-edge-litert` 2.3.0 wheel (`cross/fetch-litert.sh`);
//! see [`library`] for where it is looked for. Ownership mirrors the C API's rules:
//! [`Runtime`] (library + environment) outlives every [`Model`], which outlives every
//! [`CompiledModel`] made from it — enforced with reference counting, so values can be
//! dropped in any order. The raw calls into the library sit in `ffi`, `library`, `runtime`,
//! `model` and `compiled`, and the aligned host memory in `buffer`: only those files may
//! hold code the compiler cannot check (the crate root denies it elsewhere).
//!
//! Why this runtime, bound this way: the model that runs on the microscope must run on the
//! runtime it was validated with. `tflitec` needs `libtensorflowlite_c`, which no package
//! registry ships and which only a Bazel build of TensorFlow produces; the pure-Rust
//! `tract-tflite` computes wrong MobileNetV2 outputs and cannot run int8 residual additions.
//! Google's own LiteRT library, taken from its PyPI wheel for x86_64 and aarch64 and opened
//! with `dlopen`, reproduces the Python interpreter's outputs exactly.
//!
//! Every call into the library for one [`Runtime`] (and its models) is serialised by a lock,
//! so the types can be `Send` (and `Runtime`/`Model` `Sync`) without relying on LiteRT's own
//! thread-safety; inference runs on whichever thread owns the [`CompiledModel`].

mod buffer;
mod compiled;
mod error;
mod ffi;
pub mod library;
mod model;
mod runtime;
mod tensor;

pub use buffer::HOST_ALIGNMENT;
pub use compiled::CompiledModel;
pub use error::{INSTALL_HINT, LiteRtError, SearchAttempt, Status};
pub use model::Model;
pub use runtime::Runtime;
pub use tensor::{DType, Element, Quantization, TensorInfo};
