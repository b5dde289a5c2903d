//! Typed errors of the LiteRT bindings.

use std::fmt;
use std::path::PathBuf;

use super::tensor::DType;

/// A `LiteRtStatus` error code returned by the C API.
///
/// The library does not export `LiteRtGetStatusString`, so the codes of
/// `litert/c/litert_common.h` are mapped here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 1: an argument was invalid.
    InvalidArgument,
    /// 2: memory could not be allocated.
    MemoryAllocationFailure,
    /// 3: the runtime failed (for example an operator could not be prepared).
    RuntimeFailure,
    /// 4: an input tensor was missing.
    MissingInputTensor,
    /// 5: the request is not supported.
    Unsupported,
    /// 6: something was not found.
    NotFound,
    /// 7: a timeout expired.
    TimeoutExpired,
    /// 8: wrong version.
    WrongVersion,
    /// 9: unknown error.
    Unknown,
    /// 500: file I/O error.
    FileIo,
    /// 501: the buffer is not a valid TFLite flatbuffer.
    InvalidFlatbuffer,
    /// 502: a dynamic library could not be loaded.
    DynamicLoading,
    /// 504: the model could not be compiled.
    Compilation,
    /// 1000: an index was out of bounds.
    IndexOutOfBounds,
    /// Any other code.
    Other(i32),
}

impl Status {
    /// Maps a raw non-zero status code.
    pub fn from_code(code: i32) -> Self {
        match code {
            1 => Self::InvalidArgument,
            2 => Self::MemoryAllocationFailure,
            3 => Self::RuntimeFailure,
            4 => Self::MissingInputTensor,
            5 => Self::Unsupported,
            6 => Self::NotFound,
            7 => Self::TimeoutExpired,
            8 => Self::WrongVersion,
            9 => Self::Unknown,
            500 => Self::FileIo,
            501 => Self::InvalidFlatbuffer,
            502 => Self::DynamicLoading,
            504 => Self::Compilation,
            1000 => Self::IndexOutOfBounds,
            other => Self::Other(other),
        }
    }

    /// The raw status code.
    pub fn code(self) -> i32 {
        match self {
            Self::InvalidArgument => 1,
            Self::MemoryAllocationFailure => 2,
            Self::RuntimeFailure => 3,
            Self::MissingInputTensor => 4,
            Self::Unsupported => 5,
            Self::NotFound => 6,
            Self::TimeoutExpired => 7,
            Self::WrongVersion => 8,
            Self::Unknown => 9,
            Self::FileIo => 500,
            Self::InvalidFlatbuffer => 501,
            Self::DynamicLoading => 502,
            Self::Compilation => 504,
            Self::IndexOutOfBounds => 1000,
            Self::Other(code) => code,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::InvalidArgument => "invalid argument",
            Self::MemoryAllocationFailure => "memory allocation failure",
            Self::RuntimeFailure => "runtime failure",
            Self::MissingInputTensor => "missing input tensor",
            Self::Unsupported => "unsupported",
            Self::NotFound => "not found",
            Self::TimeoutExpired => "timeout expired",
            Self::WrongVersion => "wrong version",
            Self::Unknown => "unknown error",
            Self::FileIo => "file I/O error",
            Self::InvalidFlatbuffer => "not a valid .tflite flatbuffer",
            Self::DynamicLoading => "dynamic loading error",
            Self::Compilation => "compilation error",
            Self::IndexOutOfBounds => "index out of bounds",
            Self::Other(_) => "error",
        };
        write!(f, "{text} (status {})", self.code())
    }
}

/// One place where the runtime library was looked for, and what was found there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchAttempt {
    /// Where the candidate came from (for example `$HEMATOVISION_LITERT_LIB`).
    pub source: &'static str,
    /// The path tried, if the source provided one.
    pub path: Option<PathBuf>,
    /// Why it was not used.
    pub outcome: String,
}

impl fmt::Display for SearchAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}: {} ({})", self.source, path.display(), self.outcome),
            None => write!(f, "{}: {}", self.source, self.outcome),
        }
    }
}

/// How to install the library; appended to every library-loading error.
pub const INSTALL_HINT: &str = "install it with `cross/fetch-litert.sh` in the HematoVision \
source checkout (downloads the pinned ai-edge-litert 2.3.0 wheel with pip and extracts \
.litert/<arch>/libLiteRt.so), then copy that file to /usr/lib/hematovision/libLiteRt.so or \
point the configuration or $HEMATOVISION_LITERT_LIB at it";

fn render_attempts(attempts: &[SearchAttempt]) -> String {
    attempts
        .iter()
        .map(|a| format!("  - {a}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Errors of the LiteRT bindings.
#[derive(Debug, thiserror::Error)]
pub enum LiteRtError {
    /// No usable `libLiteRt.so` was found.
    #[error(
        "the LiteRT runtime library (libLiteRt.so) was not found; looked in:\n{}\nFix: {INSTALL_HINT}",
        render_attempts(.attempts)
    )]
    LibraryNotFound {
        /// Every place looked at, in order.
        attempts: Vec<SearchAttempt>,
    },
    /// The library exists but was built for another CPU.
    #[error(
        "{path} is a LiteRT library for {found}, but this program runs on {expected}; \
         fetch the right one: `cross/fetch-litert.sh {expected}`"
    )]
    WrongArchitecture {
        /// The library file.
        path: PathBuf,
        /// Its architecture.
        found: String,
        /// The architecture this program was built for.
        expected: String,
    },
    /// The library exists but could not be loaded.
    #[error("cannot load the LiteRT library {path}: {reason}\nFix: {INSTALL_HINT}")]
    LibraryLoad {
        /// The library file.
        path: PathBuf,
        /// What the dynamic loader said.
        reason: String,
    },
    /// The library lacks a function this program needs (not a LiteRT 2.x C API library).
    #[error(
        "{path} does not export {symbol} ({reason}); it is not the pinned LiteRT 2.3.0 library.\nFix: {INSTALL_HINT}"
    )]
    MissingSymbol {
        /// The library file.
        path: PathBuf,
        /// The missing function.
        symbol: String,
        /// What the dynamic loader said.
        reason: String,
    },
    /// A C API call returned an error status.
    #[error("{call} failed: {status}")]
    Call {
        /// The C function.
        call: &'static str,
        /// The status it returned.
        status: Status,
    },
    /// The model buffer is empty.
    #[error("the model is empty (0 bytes)")]
    EmptyModel,
    /// The model has no signature (no entry point to run).
    #[error("the model has no signature to run")]
    NoSignature,
    /// A tensor of the model cannot be handled by these bindings.
    #[error("{tensor}: {reason}")]
    UnsupportedTensor {
        /// Which tensor (for example `input 0 "image"`).
        tensor: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Data of the wrong element type was given for a tensor.
    #[error("{tensor} holds {expected} elements, not {given}")]
    DTypeMismatch {
        /// Which tensor.
        tensor: String,
        /// The tensor's element type.
        expected: DType,
        /// The element type that was given.
        given: DType,
    },
    /// Data of the wrong size was given for a tensor.
    #[error("{tensor} holds {expected} bytes, but {given} bytes were given")]
    SizeMismatch {
        /// Which tensor.
        tensor: String,
        /// The tensor's size in bytes.
        expected: usize,
        /// The size that was given.
        given: usize,
    },
    /// An input or output index beyond the model's count.
    #[error("{kind} index {index} is out of range (the model has {count})")]
    IndexOutOfRange {
        /// `"input"` or `"output"`.
        kind: &'static str,
        /// The index asked for.
        index: usize,
        /// How many there are.
        count: usize,
    },
    /// A host buffer could not be allocated.
    #[error("cannot allocate {0} bytes for a tensor buffer")]
    Allocation(usize),
}

/// Turns a raw status into a `Result`.
pub(crate) fn check(call: &'static str, code: i32) -> Result<(), LiteRtError> {
    if code == 0 {
        Ok(())
    } else {
        Err(LiteRtError::Call {
            call,
            status: Status::from_code(code),
        })
    }
}
