//! `samples/objects` on the simulator: the same `rust_main` that `scripts/zephyr-test.sh` runs
//! on real Zephyr, with every kind of static kernel object and its async waits.

#[test]
fn every_static_object_kind_works_on_the_simulator() {
    let outcome = zephyr_sim::Sim::new()
        .capture_console(true)
        .run(|| zephyr_objects_app::rust_main())
        .expect("the objects sample runs to its end");
    let console = &outcome.console;
    for check in [
        "objects: Mutex<u32> and Condvar between two threads ok",
        "objects: Timer callback -> MsgQueue::get_async and PollSignal::wait_async ok",
        "objects: Semaphore::take_async timeout (EAGAIN) ok",
        "objects: Work on a WorkQueue of our own ok",
        "objects: Stack, MemSlab, Heap, KernelAllocator and Pipe ok",
        "objects: k_mbox between two threads and k_queue_alloc_append ok",
        "objects: all ok",
    ] {
        assert!(console.contains(check), "missing {check:?} in:\n{console}");
    }
}
