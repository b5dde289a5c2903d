//! Image processing with no I/O: finding white cells and cropping them.
