//! `zephyr::sys::stack`, `zephyr::sys::memory` and `zephyr::sys::pipe`: the typed stack, the
//! slab, the heap, the kernel allocator and the pipe with `embedded-io`. Board: 10 kHz. Every
//! test has its own statics (each test is its own simulation).

mod common;

use core::alloc::{GlobalAlloc, Layout};

use common::*;
use zephyr::sys::memory::{Heap, KernelAllocator, MemSlab};
use zephyr::sys::pipe::Pipe;
use zephyr::sys::stack::Stack;
use zephyr::thread::{Thread, ThreadStack};
use zephyr::time::{Duration, Forever, NoWait};
use zephyr::Error;

static IDS: Stack<u32, 2> = Stack::new();
static POINTERS: Stack<&'static u64, 1> = Stack::new();
static VALUE: u64 = 99;

/// kernel/stack.c: last in, first out; a full stack refuses a push (`ENOMEM`); an empty one
/// is `EBUSY` with `NoWait` and `EAGAIN` after a timeout; references round-trip.
#[test]
fn stack_typed_values() {
    let (r, _) = run(5, || {
        let pushes = (IDS.push(1), IDS.push(2), IDS.push(3));
        let pops = (IDS.pop(NoWait), IDS.pop(NoWait), IDS.pop(NoWait));
        let timed = IDS.pop(Duration::from_ticks(3));
        POINTERS.push(&VALUE).unwrap();
        (pushes, pops, timed, POINTERS.pop(NoWait))
    });
    assert_eq!(
        r,
        (
            (Ok(()), Ok(()), Err(Error::ENOMEM)),
            (Ok(2), Ok(1), Err(Error::EBUSY)),
            Err(Error::EAGAIN),
            Ok(&99)
        )
    );
}

static HANDOFF: Stack<u32, 1> = Stack::new();
static HANDOFF_THREAD: Thread = Thread::new();
static HANDOFF_STACK: ThreadStack<1024> = ThreadStack::new();

/// kernel/stack.c (`z_impl_k_stack_push`): a push hands the value to a waiting popper, which
/// runs inside the push when more urgent.
#[test]
fn stack_push_wakes_a_popper() {
    let (_, log) = run(5, || {
        HANDOFF_THREAD
            .spawn(&HANDOFF_STACK, 3, || log!("popped {:?}", HANDOFF.pop(Forever)))
            .unwrap();
        HANDOFF.push(42).unwrap();
        log!("pushed");
    });
    assert_eq!(log, ["T=0 popped Ok(42)", "T=0 pushed"]);
}

static PACKETS: MemSlab<[u8; 24], 2> = MemSlab::new();

/// kernel/mem_slab.c: blocks are distinct and counted; with none free, `NoWait` is `ENOMEM`
/// and a timeout `EAGAIN`; dropping a block frees it.
#[test]
fn slab_blocks() {
    let (r, _) = run(5, || {
        let mut a = PACKETS.alloc(NoWait).unwrap();
        a.write([1; 24]);
        let b = PACKETS.alloc(NoWait).unwrap();
        let counts = (PACKETS.used(), PACKETS.free());
        let none = PACKETS.alloc(NoWait).err();
        let timed = PACKETS.alloc(Duration::from_ticks(2)).err();
        let distinct = a.as_ptr() != b.as_ptr();
        drop(a);
        drop(b);
        (counts, none, timed, distinct, PACKETS.free())
    });
    assert_eq!(r, ((2, 0), Some(Error::ENOMEM), Some(Error::EAGAIN), true, 2));
}

static SCRATCH: Heap<512> = Heap::new();

/// kernel/kheap.c: aligned allocations; one that does not fit is `ENOMEM`; freed memory is
/// reusable; the heap is also a `GlobalAlloc`.
#[test]
fn heap_alloc_free_and_global_alloc() {
    let (r, _) = run(5, || {
        let layout = Layout::from_size_align(300, 64).unwrap();
        let a = SCRATCH.alloc(layout, NoWait).unwrap();
        let aligned = (a.as_ptr() as usize).is_multiple_of(64);
        let second = SCRATCH.alloc(layout, Duration::from_ticks(2)).err();
        // SAFETY: `a` came from this heap and is not used after.
        unsafe { SCRATCH.free(a) };
        // SAFETY: a non-zero layout, freed with the same layout.
        let global = unsafe {
            let p = GlobalAlloc::alloc(&SCRATCH, layout);
            let ok = !p.is_null();
            GlobalAlloc::dealloc(&SCRATCH, p, layout);
            ok
        };
        (aligned, second, global)
    });
    assert_eq!(r, (true, Some(Error::ENOMEM), true));
}

/// kernel/mempool.c (`k_aligned_alloc`, `k_free`): the system heap as an allocator, aligned
/// as the layout asks; null when it does not fit.
#[test]
fn kernel_allocator() {
    let (r, _) = run(5, || {
        let layout = Layout::from_size_align(100, 128).unwrap();
        let huge = Layout::from_size_align(1 << 30, 8).unwrap();
        // SAFETY: non-zero layouts; memory freed with its layout.
        unsafe {
            let p = KernelAllocator.alloc(layout);
            let ok = !p.is_null() && (p as usize).is_multiple_of(128);
            KernelAllocator.dealloc(p, layout);
            (ok, KernelAllocator.alloc(huge).is_null())
        }
    });
    assert_eq!(r, (true, true));
}

static BYTES: Pipe<8> = Pipe::new();
static READER: Thread = Thread::new();
static READER_STACK: ThreadStack<2048> = ThreadStack::new();

/// kernel/pipes.c: `write_all`/`read_exact` through `embedded-io` move every byte in order,
/// across a buffer smaller than the message (the writer waits for the reader); `NoWait` with
/// too little room is `EIO`.
#[test]
fn pipe_embedded_io() {
    let (r, log) = run(5, || {
        use embedded_io::{Read, Write};
        READER
            .spawn(&READER_STACK, 6, || {
                let mut buf = [0u8; 20];
                (&BYTES).read_exact(&mut buf).unwrap();
                log!("read {}", core::str::from_utf8(&buf).unwrap());
            })
            .unwrap();
        (&BYTES).write_all(b"twenty bytes of text").unwrap();
        log!("wrote");
        zephyr::time::sleep(Duration::from_ticks(1));
        (BYTES.write(&[0; 9], 9, NoWait), BYTES.read_avail(), BYTES.write_avail())
    });
    assert_eq!(r, (Err(Error::EIO), 0, 8));
    assert_eq!(log, ["T=0 wrote", "T=0 read twenty bytes of text"]);
}
