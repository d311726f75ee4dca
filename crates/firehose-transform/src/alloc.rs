//! The global allocator: mimalloc, tuned before `main`.

/// mimalloc, here rather than in main.rs so the tests and benchmarks measure what ships: the
/// SDK's per-call pipeline allocates a lot, and glibc malloc is the slowest part of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Option numbers from `mi_option_e` in the vendored mimalloc.h (libmimalloc-sys 0.1.49, v3).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// Freed memory goes back to the OS this long after it is freed: long enough for the next
/// batch of a busy stream to reuse it, short enough that an idle function holds little.
const PURGE_DELAY_MS: std::ffi::c_long = 100;

/// Keeps peak memory near glibc's: by default mimalloc commits its arenas up front and keeps
/// freed pages for a second, which takes the peak RSS of one 4.5 MB invocation to 76–88 MB
/// (50–54 MB with these settings, in the benchmark).
///
/// It runs as the process loads, before main: mimalloc reserves its first arena at the first
/// allocation, and eager commit is decided then, so setting it from main is too late.
#[cfg(target_os = "linux")]
extern "C" fn tune_allocator() {
    // SAFETY: mi_option_set only stores an integer in mimalloc's option table.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
    }
}

// SAFETY: a loader-run initializer that takes no arguments and touches nothing but mimalloc's
// options, which are valid before any allocation.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_allocator_is_tuned_before_main() {
        // GIVEN a process linking this crate THEN the loader-run initializer has set both
        // options (a linker that dropped it would leave mimalloc's defaults: 2 and 1000)
        // SAFETY: mi_option_get only reads mimalloc's option table.
        let (eager, purge) = unsafe {
            (
                libmimalloc_sys::mi_option_get(MI_OPTION_ARENA_EAGER_COMMIT),
                libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY),
            )
        };
        assert_eq!((eager, purge), (0, PURGE_DELAY_MS));
    }
}
