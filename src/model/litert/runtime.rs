//! The loaded library plus one LiteRT environment.

// Calls into the C API: creating and destroying the environment.
#![allow(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::error::{LiteRtError, check};
use super::ffi::{self, Api};
use super::library::{self, FoundLibrary};

/// Shared state behind [`Runtime`]: the function table (which owns the library handle) and
/// the environment created from it.
pub(crate) struct RuntimeInner {
    pub(crate) env: ffi::Environment,
    /// Serialises every call into the library made on behalf of this runtime, its models and
    /// its compiled models, so that no LiteRT object is ever used from two threads at once.
    lock: Mutex<()>,
    pub(crate) api: Api,
    path: PathBuf,
    source: &'static str,
}

// SAFETY: the environment pointer is owned by this struct, only passed to the library while
// `lock` is held, and destroyed once in `Drop` when no other reference exists. LiteRT's CPU
// objects have no thread affinity.
unsafe impl Send for RuntimeInner {}
// SAFETY: shared access only reaches the library through `lock` (see above).
unsafe impl Sync for RuntimeInner {}

impl RuntimeInner {
    /// Takes the runtime's lock. The guarded data is `()`, so a poisoned lock (a panic while
    /// it was held) leaves nothing inconsistent on the Rust side and is simply taken over.
    pub(crate) fn guard(&self) -> MutexGuard<'_, ()> {
        self.lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for RuntimeInner {
    fn drop(&mut self) {
        let _guard = self.guard();
        // SAFETY: created by LiteRtCreateEnvironment and destroyed exactly once, after every
        // model and compiled model (they hold an `Arc` to this struct).
        unsafe { (self.api.destroy_environment)(self.env) };
    }
}

/// The LiteRT runtime: `libLiteRt.so`, loaded once, and an environment configured for the CPU
/// with INFO logging silenced. Cheap to clone; models keep it alive.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("library", &self.inner.path)
            .field("source", &self.inner.source)
            .finish()
    }
}

impl Runtime {
    /// Finds the library (see [`super::library`] for the search order; `explicit` is the
    /// configured path, if any) and creates an environment.
    pub fn load(explicit: Option<&Path>) -> Result<Self, LiteRtError> {
        let found = library::find_library(explicit)?;
        Self::load_found(found)
    }

    /// Loads exactly the library at `path`.
    pub fn load_from(path: &Path) -> Result<Self, LiteRtError> {
        Self::load_found(FoundLibrary {
            path: path.to_path_buf(),
            source: "given path",
        })
    }

    fn load_found(found: FoundLibrary) -> Result<Self, LiteRtError> {
        let api = library::load(&found.path)?;
        let options = [
            ffi::EnvOption {
                tag: ffi::ENV_OPTION_MIN_LOG_SEVERITY,
                value: ffi::Any {
                    kind: ffi::ANY_TYPE_INT,
                    int_value: 3,
                },
            },
            ffi::EnvOption {
                tag: ffi::ENV_OPTION_ACCELERATORS,
                value: ffi::Any {
                    kind: ffi::ANY_TYPE_INT,
                    int_value: i64::from(ffi::HW_ACCELERATOR_CPU),
                },
            },
        ];
        let mut env: ffi::Environment = std::ptr::null_mut();
        // SAFETY: `options` is a valid array of two options that outlives the call; `env` is a
        // valid out pointer.
        let status = unsafe { (api.create_environment)(2, options.as_ptr(), &mut env) };
        check("LiteRtCreateEnvironment", status)?;
        if env.is_null() {
            return Err(LiteRtError::Call {
                call: "LiteRtCreateEnvironment",
                status: super::Status::Unknown,
            });
        }
        log::info!(
            "LiteRT runtime loaded from {} ({})",
            found.path.display(),
            found.source
        );
        Ok(Self {
            inner: Arc::new(RuntimeInner {
                env,
                lock: Mutex::new(()),
                api,
                path: found.path,
                source: found.source,
            }),
        })
    }

    /// The library file in use.
    pub fn library_path(&self) -> &Path {
        &self.inner.path
    }

    /// Which search rule found the library (for example `"system install"`).
    pub fn library_source(&self) -> &'static str {
        self.inner.source
    }
}
