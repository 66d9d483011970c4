//! Procedural macros of the `zephyr` crate: `#[zephyr::thread]`.
//!
//! Use them through the `zephyr` crate (`#[zephyr::thread(...)]`): the generated code names
//! `::zephyr::thread` items.

use proc_macro::TokenStream;

mod thread;

/// Turns a function into a thread body with a pool of statically allocated threads, as
/// upstream zephyr-lang-rust's `#[zephyr::thread]`.
///
/// ```ignore
/// #[zephyr::thread(stack_size = 4096, pool_size = 5)]
/// fn philosopher(n: usize, forks: Arc<dyn Forks>, stats: &'static Mutex<Stats>) { ... }
///
/// let running = philosopher(3, forks, &STATS).start();
/// running.join();
/// ```
///
/// Calling the function creates a thread running its body with the arguments given, in a free
/// slot of the function's pool, and returns a `zephyr::thread::ReadyThread` (priority 0, named
/// after the function) to `set_priority` and `start`; `start` returns a
/// `zephyr::thread::RunningThread` to `join`. A slot whose thread has ended serves the next
/// call; a call while all `pool_size` threads are alive panics naming the function.
///
/// * `stack_size`: each thread's stack in bytes (an expression; rounded up with
///   `zephyr::thread::stack_len`); 2048 if not given.
/// * `pool_size`: how many threads may be alive at once (an expression); 1 if not given.
///
/// The arguments must be `Send + 'static` (a reference argument must be `&'static`): they move
/// to the new thread, stored inline in the pool (no allocation). The function may not be
/// `async`, generic, or take `self`, and returns `()` or `!`. The `zephyr` crate's
/// `zephyr::thread` module docs have a compiled example.
#[proc_macro_attribute]
pub fn thread(args: TokenStream, item: TokenStream) -> TokenStream {
    thread::expand(args.into(), item.into()).into()
}
