//! Tensor element types and tensor descriptions.

use std::fmt;

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

#[cfg(test)]
mod tests {
    use super::*;

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
