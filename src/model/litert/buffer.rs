//! 64-byte aligned host memory: the model's bytes and the tensors' buffers handed to
//! LiteRT.

// Raw allocation and slices over it.
#![allow(unsafe_code)]

use std::alloc::{self, Layout};
use std::ptr::NonNull;

use super::error::LiteRtError;
use super::tensor::Element;

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
}
