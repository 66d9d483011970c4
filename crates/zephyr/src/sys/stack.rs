//! A typed kernel stack ([`Stack`], on `k_stack`): pointer-sized values, last in, first out.
//!
//! `k_stack` holds `stack_data_t` values (a `uintptr_t`), so a [`Stack<T>`] holds any `T` that
//! converts to and from one word without loss: the [`StackValue`] types (integers up to the
//! pointer's width, raw pointers, `&'static` references). A push never waits: it fails with
//! [`Error::ENOMEM`](crate::Error::ENOMEM) when the stack is full; a pop waits up to its timeout, and a push with
//! threads waiting hands the value to the most urgent one (kernel/stack.c).
//!
//! ```no_run
//! # use zephyr_sim as _;
//! use zephyr::sys::stack::Stack;
//! use zephyr::time::{Duration, NoWait};
//!
//! static FREE_IDS: Stack<u32, 8> = Stack::new();
//!
//! FREE_IDS.push(3).unwrap();
//! FREE_IDS.push(4).unwrap();
//! assert_eq!(FREE_IDS.pop(NoWait), Ok(4));
//! assert_eq!(FREE_IDS.pop(Duration::from_millis(1)), Ok(3));
//! ```

use core::cell::UnsafeCell;
use core::marker::PhantomData;

use zephyr_sys::{k_stack, k_stack_init, k_stack_pop, k_stack_push, stack_data_t};

use super::once::InitOnce;
use crate::error::{to_result_void, Result};
use crate::object::KObj;
use crate::thread::assert_may_block;
use crate::time::Timeout;

/// A value a [`Stack`] can hold: it round-trips through one `stack_data_t` word.
///
/// # Safety
/// `from_word(into_word(v))` must give back `v`, and `from_word` is only called on words
/// `into_word` made.
pub unsafe trait StackValue: Copy + Send {
    /// The word that stands for `self`.
    fn into_word(self) -> stack_data_t;
    /// The value `into_word` made `word` from.
    fn from_word(word: stack_data_t) -> Self;
}

macro_rules! int_values {
    ($($t:ty),*) => {$(
        // SAFETY: the type is at most pointer-sized: the cast round-trips.
        unsafe impl StackValue for $t {
            fn into_word(self) -> stack_data_t {
                self as stack_data_t
            }
            fn from_word(word: stack_data_t) -> Self {
                word as $t
            }
        }
    )*};
}
int_values!(u8, u16, u32, usize, i8, i16, i32, isize);

// SAFETY: a pointer round-trips through a `uintptr_t`.
unsafe impl<T> StackValue for *mut T
where
    *mut T: Send,
{
    fn into_word(self) -> stack_data_t {
        self as stack_data_t
    }
    fn from_word(word: stack_data_t) -> Self {
        word as *mut T
    }
}

// SAFETY: as above; the reference is `'static` and `Sync`, so valid wherever it is popped.
unsafe impl<T: Sync + 'static> StackValue for &'static T {
    fn into_word(self) -> stack_data_t {
        self as *const T as stack_data_t
    }
    fn from_word(word: stack_data_t) -> Self {
        // SAFETY: the trait's contract: `word` came from `into_word` of a `&'static T`.
        unsafe { &*(word as *const T) }
    }
}

/// A stack of up to `N` values of `T` (`k_stack` with its buffer, `K_STACK_DEFINE`); usable in
/// a `static`. Push and a `NoWait` pop are allowed in interrupt handlers.
pub struct Stack<T: StackValue, const N: usize> {
    item: KObj<k_stack>,
    buffer: UnsafeCell<[stack_data_t; N]>,
    init: InitOnce,
    _values: PhantomData<T>,
}

// SAFETY: the kernel serialises access to the stack and its buffer; values are `Send`.
unsafe impl<T: StackValue, const N: usize> Sync for Stack<T, N> {}

impl<T: StackValue, const N: usize> Stack<T, N> {
    /// An empty stack, initialised (`k_stack_init`) at its first use.
    pub const fn new() -> Self {
        Self {
            item: KObj::new(k_stack::new()),
            buffer: UnsafeCell::new([0; N]),
            init: InitOnce::new(),
            _values: PhantomData,
        }
    }

    fn raw(&self) -> *mut k_stack {
        let stack = self.item.get();
        let buffer = self.buffer.get() as *mut stack_data_t;
        // SAFETY: the stack and its buffer live in `self`, which stays put from now on (the
        // `KObj` checks it on every use).
        self.init.call(|| unsafe { k_stack_init(stack, buffer, N as u32) });
        stack
    }

    /// Pushes a value (`k_stack_push`), or hands it to the most urgent waiting popper.
    ///
    /// # Errors
    /// [`crate::error::Error::ENOMEM`] when the stack is full.
    ///
    /// # Panics
    /// If the stack moved since its first use.
    pub fn push(&self, value: T) -> Result<()> {
        // SAFETY: an initialised stack at a fixed address; k_stack_push never blocks.
        to_result_void(unsafe { k_stack_push(self.raw(), value.into_word()) })
    }

    /// Pops the last value pushed, waiting up to `timeout` for one (`k_stack_pop`).
    ///
    /// # Errors
    /// [`crate::error::Error::EBUSY`] when empty with `NoWait`;
    /// [`crate::error::Error::EAGAIN`] when the timeout expired.
    ///
    /// # Panics
    /// Waiting in an interrupt handler; if the stack moved since its first use.
    pub fn pop<W: Into<Timeout>>(&self, timeout: W) -> Result<T> {
        let timeout: Timeout = timeout.into();
        if !timeout.is_no_wait() {
            assert_may_block("Stack::pop");
        }
        let mut word = 0;
        // SAFETY: as in `push`; a blocking pop only in thread context (checked above).
        to_result_void(unsafe { k_stack_pop(self.raw(), &mut word, timeout.0) })?;
        Ok(T::from_word(word))
    }
}

impl<T: StackValue, const N: usize> Default for Stack<T, N> {
    fn default() -> Self {
        Self::new()
    }
}
