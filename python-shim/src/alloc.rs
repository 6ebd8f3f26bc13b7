//! Python allocator accounting for RG.PYSTATS: every CPython allocation domain is wrapped by a
//! counting allocator (RedisGears' `OverridePythonAllocators`), installed before the interpreter
//! starts. Each block carries a 16-byte header with its size so frees can be counted.
//!
//! This is the only unsafe code in the crate: FFI callbacks that CPython calls with raw pointers.

#![allow(
    unsafe_code,
    reason = "CPython allocator hooks are raw-pointer FFI callbacks"
)]

use std::ffi::c_void;
use std::sync::Once;
use std::sync::atomic::{AtomicI64, Ordering};

use pyo3::ffi::{PyMem_GetAllocator, PyMem_SetAllocator, PyMemAllocatorDomain, PyMemAllocatorEx};

/// Header size: keeps the 16-byte alignment CPython's allocators guarantee.
const HDR: usize = 16;

static TOTAL: AtomicI64 = AtomicI64::new(0);
static CURR: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);

/// The original allocators of RAW, MEM and OBJ, wrapped by ours (written once, before
/// Python starts, then only read).
static mut ORIG: [PyMemAllocatorEx; 3] = [EMPTY; 3];

const EMPTY: PyMemAllocatorEx = PyMemAllocatorEx {
    ctx: std::ptr::null_mut(),
    malloc: None,
    calloc: None,
    realloc: None,
    free: None,
};

/// Bytes a thread accumulates before publishing to the global counters: the hooks run for
/// every Python allocation, so they count in thread-locals and flush in batches (the totals
/// RG.PYSTATS shows lag by at most this much per thread).
const FLUSH_BYTES: i64 = 64 * 1024;

/// A thread's unpublished counts; published when the thread exits, so short-lived threads
/// (script threads) leave the totals exact.
struct Local(std::cell::Cell<(i64, i64)>);

impl Drop for Local {
    fn drop(&mut self) {
        let (total, curr) = self.0.get();
        flush(total, curr);
    }
}

thread_local! {
    static LOCAL: Local = const { Local(std::cell::Cell::new((0, 0))) };
    /// Bytes allocated minus bytes freed by this thread since it started (never flushed): the
    /// engine's best-effort memory limit of Python executions reads it.
    static NET: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

/// Bytes this thread allocated through the Python allocators minus the bytes it freed, since
/// the thread started. Best effort: an object freed by another thread counts there.
pub fn thread_net() -> i64 {
    NET.try_with(std::cell::Cell::get).unwrap_or(0)
}

fn flush(total: i64, curr: i64) {
    TOTAL.fetch_add(total, Ordering::Relaxed);
    let now = CURR.fetch_add(curr, Ordering::Relaxed) + curr;
    if now > PEAK.load(Ordering::Relaxed) {
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

fn count(alloc: i64, freed: i64) {
    // `try_with`: allocations during thread teardown (after the TLS is gone) count directly.
    let _ = NET.try_with(|n| n.set(n.get() + alloc - freed));
    let done = LOCAL.try_with(|l| {
        let l = &l.0;
        let (mut total, mut curr) = l.get();
        total += alloc;
        curr += alloc - freed;
        if total > FLUSH_BYTES || curr.abs() > FLUSH_BYTES {
            flush(total, curr);
            total = 0;
            curr = 0;
        }
        l.set((total, curr));
    });
    if done.is_err() {
        flush(alloc, alloc - freed);
    }
}

fn count_alloc(n: usize) {
    count(i64::try_from(n).unwrap_or(i64::MAX), 0);
}

fn count_free(n: usize) {
    count(0, i64::try_from(n).unwrap_or(i64::MAX));
}

fn orig(ctx: *mut c_void) -> PyMemAllocatorEx {
    // SAFETY: ctx is the address of one element of ORIG, set in `install` before any call; the
    // array is never written after that.
    unsafe { *(ctx as *const PyMemAllocatorEx) }
}

extern "C" fn hook_malloc(ctx: *mut c_void, size: usize) -> *mut c_void {
    let o = orig(ctx);
    let Some(m) = o.malloc else {
        return std::ptr::null_mut();
    };
    let p = m(o.ctx, size.saturating_add(HDR));
    if p.is_null() {
        return p;
    }
    // SAFETY: p points to at least HDR + size bytes, aligned for usize.
    unsafe {
        *(p as *mut usize) = size;
        count_alloc(size);
        (p as *mut u8).add(HDR) as *mut c_void
    }
}

extern "C" fn hook_calloc(ctx: *mut c_void, nelem: usize, elsize: usize) -> *mut c_void {
    let Some(size) = nelem.checked_mul(elsize) else {
        return std::ptr::null_mut();
    };
    let o = orig(ctx);
    let Some(c) = o.calloc else {
        return std::ptr::null_mut();
    };
    let p = c(o.ctx, 1, size.saturating_add(HDR));
    if p.is_null() {
        return p;
    }
    // SAFETY: as in hook_malloc; calloc zeroed the block.
    unsafe {
        *(p as *mut usize) = size;
        count_alloc(size);
        (p as *mut u8).add(HDR) as *mut c_void
    }
}

extern "C" fn hook_realloc(ctx: *mut c_void, ptr: *mut c_void, new_size: usize) -> *mut c_void {
    if ptr.is_null() {
        return hook_malloc(ctx, new_size);
    }
    let o = orig(ctx);
    let Some(r) = o.realloc else {
        return std::ptr::null_mut();
    };
    // SAFETY: ptr came from our malloc/calloc/realloc, so its header sits HDR bytes before it.
    unsafe {
        let base = (ptr as *mut u8).sub(HDR) as *mut c_void;
        let old = *(base as *const usize);
        let p = r(o.ctx, base, new_size.saturating_add(HDR));
        if p.is_null() {
            return p;
        }
        *(p as *mut usize) = new_size;
        count_free(old);
        count_alloc(new_size);
        (p as *mut u8).add(HDR) as *mut c_void
    }
}

extern "C" fn hook_free(ctx: *mut c_void, ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    let o = orig(ctx);
    // SAFETY: ptr came from one of our hooks; its header is HDR bytes before it.
    unsafe {
        let base = (ptr as *mut u8).sub(HDR) as *mut c_void;
        count_free(*(base as *const usize));
        if let Some(f) = o.free {
            f(o.ctx, base);
        }
    }
}

/// Installs the counting allocators (once). Must run before the interpreter starts.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let domains = [
            PyMemAllocatorDomain::PYMEM_DOMAIN_RAW,
            PyMemAllocatorDomain::PYMEM_DOMAIN_MEM,
            PyMemAllocatorDomain::PYMEM_DOMAIN_OBJ,
        ];
        for (i, d) in domains.into_iter().enumerate() {
            // SAFETY: runs once, before Py_Initialize, on one thread; ORIG is written only
            // here. PyMem_GetAllocator/SetAllocator may be called before initialization.
            unsafe {
                let slot = std::ptr::addr_of_mut!(ORIG[i]);
                PyMem_GetAllocator(d, slot);
                let mut ours = PyMemAllocatorEx {
                    ctx: slot as *mut c_void,
                    malloc: Some(hook_malloc),
                    calloc: Some(hook_calloc),
                    realloc: Some(hook_realloc),
                    free: Some(hook_free),
                };
                PyMem_SetAllocator(d, &mut ours);
            }
        }
    });
}

/// (TotalAllocated, PeakAllocated, CurrAllocated) in bytes.
pub fn stats() -> (i64, i64, i64) {
    (
        TOTAL.load(Ordering::Relaxed),
        PEAK.load(Ordering::Relaxed),
        CURR.load(Ordering::Relaxed),
    )
}
