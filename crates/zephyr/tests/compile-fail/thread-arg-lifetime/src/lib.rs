//! Thread functions whose arguments are not 'static: the thread may outlive the caller's
//! borrow, so each is a compile error at the argument.
#![no_std]

/// Holds a borrow.
pub struct Holder<'a>(pub &'a u32);

#[zephyr::thread]
fn elided(value: &u32) {
    let _ = value;
}

#[zephyr::thread]
fn anonymous(holder: Holder<'_>) {
    let _ = holder;
}

/// The caller: the borrows end before the threads would.
pub fn caller() {
    let local = 5;
    elided(&local).start();
    anonymous(Holder(&local)).start();
}
