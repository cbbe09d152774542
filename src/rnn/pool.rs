//! A small pool of `f32` buffers for the fused layers.
//!
//! Each training step needs tens of megabytes of per-step activations. Fresh
//! allocations of that size are mmap-ed by the system allocator and returned
//! on free, so every step paid for page faults and kernel zeroing (a fifth of
//! the training time when measured). Recycling the buffers keeps those pages
//! mapped.

use std::sync::Mutex;

/// At most this many idle buffers are kept...
const MAX_BUFFERS: usize = 64;
/// ...holding at most this many floats in total (256 MiB).
const MAX_FLOATS: usize = 64 << 20;

static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// A zero-filled buffer of `len` floats, recycled when one is free.
pub fn zeroed(len: usize) -> Vec<f32> {
    let mut buf = reused(len);
    buf.clear();
    buf.resize(len, 0.0);
    buf
}

/// A buffer of `len` floats with unspecified (but initialised) contents, for
/// callers that overwrite every element they later read.
pub fn scratch(len: usize) -> Vec<f32> {
    let mut buf = reused(len);
    if buf.len() >= len {
        buf.truncate(len);
    } else {
        buf.resize(len, 0.0);
    }
    buf
}

fn reused(len: usize) -> Vec<f32> {
    let reused = POOL.lock().ok().and_then(|mut pool| {
        // The smallest idle buffer that is large enough.
        let best = pool.iter().enumerate().filter(|(_, b)| b.capacity() >= len).min_by_key(|(_, b)| b.capacity()).map(|(i, _)| i)?;
        Some(pool.swap_remove(best))
    });
    reused.unwrap_or_else(|| Vec::with_capacity(len))
}

/// Hands a buffer back for reuse (dropped if the pool is full).
pub fn recycle(buf: Vec<f32>) {
    if buf.capacity() < 1024 {
        return;
    }
    if let Ok(mut pool) = POOL.lock() {
        let held: usize = pool.iter().map(|b| b.capacity()).sum();
        if pool.len() < MAX_BUFFERS && held + buf.capacity() <= MAX_FLOATS {
            pool.push(buf);
        }
    }
}
