//! Tensor element types, tensor descriptions and 64-byte aligned host memory.

use std::alloc::{self, Layout};
use std::fmt;
use std::ptr::NonNull;

use super::error::LiteRtError;

/// Element type of a tensor (TFLite numbering on the C side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// 32-bit float (1).
    F32,
    /// 32-bit signed integer (2).
    I32,
    /// 8-bit unsigned integer (3).
    U8,
    /// 64-bit signed integer (4).
    I64,
    /// Boolean, one byte (6).
    Bool,
    /// 16-bit signed integer (7).
    I16,
    /// 8-bit signed integer (9).
    I8,
    /// 16-bit float (10).
    F16,
}

impl DType {
    /// Maps a `LiteRtElementType` code; `None` for types these bindings do not handle
    /// (strings, resources, sub-byte integers, ...).
    pub fn from_code(code: i32) -> Option<Self> {
        Some(match code {
            1 => Self::F32,
            2 => Self::I32,
            3 => Self::U8,
            4 => Self::I64,
            6 => Self::Bool,
            7 => Self::I16,
            9 => Self::I8,
            10 => Self::F16,
            _ => return None,
        })
    }

    /// The `LiteRtElementType` code.
    pub fn code(self) -> i32 {
        match self {
            Self::F32 => 1,
            Self::I32 => 2,
            Self::U8 => 3,
            Self::I64 => 4,
            Self::Bool => 6,
            Self::I16 => 7,
            Self::I8 => 9,
            Self::F16 => 10,
        }
    }

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            Self::U8 | Self::I8 | Self::Bool => 1,
            Self::I16 | Self::F16 => 2,
            Self::F32 | Self::I32 => 4,
            Self::I64 => 8,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::F32 => "float32",
            Self::I32 => "int32",
            Self::U8 => "uint8",
            Self::I64 => "int64",
            Self::Bool => "bool",
            Self::I16 => "int16",
            Self::I8 => "int8",
            Self::F16 => "float16",
        })
    }
}

/// Affine per-tensor quantisation: `real = scale * (q - zero_point)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantization {
    /// Scale factor.
    pub scale: f32,
    /// The quantised value that represents real 0.
    pub zero_point: i64,
}

/// Description of one input or output tensor of a compiled model.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// The tensor's name in the model signature.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Concrete shape (all dimensions known), from the compiled model's layout.
    pub shape: Vec<usize>,
    /// Per-tensor quantisation, if the tensor is quantised per tensor.
    pub quantization: Option<Quantization>,
}

impl TensorInfo {
    /// Number of elements.
    pub fn element_count(&self) -> usize {
        self.shape.iter().product()
    }

    /// Size in bytes.
    pub fn byte_size(&self) -> usize {
        self.element_count() * self.dtype.size()
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Plain element types that can be viewed directly in a tensor's memory (every bit pattern is
/// a valid value, alignment ≤ 64).
pub trait Element: sealed::Sealed + Copy + Default + 'static {
    /// The matching tensor element type.
    const DTYPE: DType;
}

macro_rules! element {
    ($($t:ty => $d:ident),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
        }
    )*};
}
element!(f32 => F32, i32 => I32, u8 => U8, i64 => I64, i16 => I16, i8 => I8);

/// Alignment LiteRT requires of host memory handed to it.
pub const HOST_ALIGNMENT: usize = 64;

/// A zero-initialised heap buffer aligned to [`HOST_ALIGNMENT`] bytes.
pub(crate) struct AlignedBuf {
    ptr: NonNull<u8>,
    len: usize,
    layout: Layout,
}

// SAFETY: the buffer is uniquely owned heap memory with no interior sharing.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only hands out `&[u8]`/`&[T]`.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// Allocates `len` zeroed bytes (at least one byte is reserved so the pointer is real).
    pub(crate) fn zeroed(len: usize) -> Result<Self, LiteRtError> {
        let layout = Layout::from_size_align(len.max(1), HOST_ALIGNMENT)
            .map_err(|_| LiteRtError::Allocation(len))?;
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).ok_or(LiteRtError::Allocation(len))?;
        Ok(Self { ptr, len, layout })
    }

    /// Copies `bytes` into a new aligned buffer.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, LiteRtError> {
        let mut buf = Self::zeroed(bytes.len())?;
        buf.as_mut_slice().copy_from_slice(bytes);
        Ok(buf)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` points to `len` initialised bytes owned by `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and `&mut self` guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Views the buffer as elements of `T` (trailing bytes that do not fill an element are
    /// left out).
    pub(crate) fn typed<T: Element>(&self) -> &[T] {
        let n = self.len / std::mem::size_of::<T>();
        // SAFETY: the pointer is 64-byte aligned (≥ align_of::<T>()), the bytes are
        // initialised, and every bit pattern is a valid `T` (see `Element`).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast::<T>(), n) }
    }

    /// Mutable view as elements of `T`.
    pub(crate) fn typed_mut<T: Element>(&mut self) -> &mut [T] {
        let n = self.len / std::mem::size_of::<T>();
        // SAFETY: as in `typed`, plus exclusive access through `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().cast::<T>(), n) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with exactly this layout.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_buffers_are_aligned_zeroed_and_typed() {
        for len in [0usize, 1, 3, 64, 1000] {
            let buf = AlignedBuf::zeroed(len).unwrap();
            assert_eq!(buf.as_ptr() as usize % HOST_ALIGNMENT, 0);
            assert_eq!(buf.len(), len);
            assert!(buf.as_slice().iter().all(|&b| b == 0));
        }
        let mut buf = AlignedBuf::zeroed(10).unwrap();
        assert_eq!(buf.typed::<f32>().len(), 2);
        buf.typed_mut::<f32>()[1] = 1.5;
        assert_eq!(&buf.as_slice()[4..8], &1.5f32.to_ne_bytes());
    }

    #[test]
    fn dtype_codes_round_trip() {
        for code in 0..32 {
            if let Some(d) = DType::from_code(code) {
                assert_eq!(d.code(), code);
            }
        }
        assert_eq!(DType::from_code(5), None, "strings are not handled");
        assert_eq!(DType::from_code(1), Some(DType::F32));
        assert_eq!(DType::from_code(9), Some(DType::I8));
        assert_eq!(DType::from_code(3), Some(DType::U8));
    }
}
