//! The UART driver (`zephyr::device::uart`) on the simulated UART (`zephyr_sim::devices::uart`):
//! echo under the Embassy executor and under kio, exact frame timing on both wires, overrun,
//! line errors in stream order, blocking calls from a plain thread, cancellation, the trace,
//! and the simulated UART's raw API rules (`uart_poll_out` waiting for FIFO room, the interrupt
//! storm report). Board: 10 kHz ticks, 1 MHz cycle counter, so one frame (10 bits) is
//! 10 000 000 / baud cycles: 86.8 at 115 200 baud, 1041.7 at 9600.

mod async_common;
mod embassy_common;

use std::cell::RefCell;
use std::ffi::c_void;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use async_common::leak;
#[cfg(not(feature = "no-kio"))]
use async_common::queue;
use embassy_common::{executor, spawn, thread};
use embassy_futures::select::{select, Either};
use zephyr::device::uart::{Uart, UartBuffers, UartError};
#[cfg(not(feature = "no-kio"))]
use zephyr::kio;
use zephyr_sim::devices::uart::{LineError, UartPort};
use zephyr_sim::devices::Board;
use zephyr_sim::{Sim, TraceEvent};
use zephyr_sys::*;

/// The cycle counter (1 MHz).
fn cycles() -> u64 {
    // SAFETY: a plain query, on a simulated thread.
    unsafe { k_cycle_get_64() }
}

/// When frame `n` (from 1) of a burst that started at `start` ends: `start + ceil(n * 10 bits
/// * 1 MHz / baud)`, the simulated UART's rule (frames back to back never drift).
fn frame_end(start: u64, n: u64, baud: u64) -> u64 {
    start + (n * 10 * 1_000_000).div_ceil(baud)
}

/// Sleeps the calling thread until cycle `c` has passed (to the next tick at or after it).
fn sleep_past(c: u64) {
    // SAFETY: a kernel call from a simulated thread.
    unsafe { k_sleep(K_TIMEOUT_ABS_TICKS(c.div_ceil(100) as i64 + 1)) };
}

/// Runs `main` on a board with `uart1` at `baud` (16-byte FIFOs), main at priority 5.
fn sim<R: 'static>(baud: u32, main: impl FnOnce() -> R + 'static) -> R {
    Sim::new()
        .board(Board::new().uart("uart1", baud))
        .main_priority(5)
        .run(main)
        .unwrap_or_else(|e| panic!("simulation failed: {e}"))
        .value
        .expect("main returned")
}

/// A `Uart` on `uart1` with fresh leaked buffers (each simulation its own).
fn uart<const RX: usize, const TX: usize>() -> Uart {
    let buffers: &'static UartBuffers<RX, TX> = leak(UartBuffers::new());
    Uart::get("uart1", buffers).expect("uart1 is ready")
}

/// Starts an Embassy executor on a thread of priority 2 running `task`.
fn embassy_task(task: impl Future<Output = ()> + 'static) {
    let ex = executor();
    thread("executor", 2, move || ex.run(move |s| spawn(&s, task)));
}

/// Echoes every byte back, forever.
async fn echo(mut uart: Uart) {
    let mut buf = [0u8; 8];
    loop {
        let n = uart.read(&mut buf).await.unwrap();
        uart.write_all(&buf[..n]).await.unwrap();
    }
}

/// Feeds "hello, world\n" to `uart1` at 115 200 baud and returns its TX log once the echo
/// has had time to finish.
fn feed_hello() -> Vec<(u64, u8)> {
    let port = UartPort::get("uart1");
    port.feed(b"hello, world\n");
    sleep_past(frame_end(0, 14, 115_200));
    port.tx_log()
}

/// What an echo of "hello, world\n" fed from cycle 0 puts on the wire: each byte one frame
/// after it landed, as one burst from the first landing.
fn hello_echoed() -> Vec<(u64, u8)> {
    let first = frame_end(0, 1, 115_200);
    b"hello, world\n"
        .iter()
        .enumerate()
        .map(|(i, &b)| (frame_end(first, i as u64 + 1, 115_200), b))
        .collect()
}

/// Echo under the Embassy executor: each byte goes back out the moment it lands (the task
/// runs at the landing's cycle), so the echo's frames follow the received ones one frame
/// behind, as one burst from the first landing.
#[test]
fn echo_task_under_embassy() {
    let log = sim(115_200, || {
        let uart = uart::<64, 64>();
        embassy_task(echo(uart));
        feed_hello()
    });
    assert_eq!(log, hello_echoed());
}

/// Echo under kio (a task on a work queue, plain wakers): the same bytes at the same cycles.
#[test]
#[cfg(not(feature = "no-kio"))]
fn echo_task_under_kio() {
    let log = sim(115_200, || {
        let uart = uart::<64, 64>();
        let _task = kio::spawn(echo(uart), &queue(c"kio", 3), c"task");
        feed_hello()
    });
    assert_eq!(log, hello_echoed());
}

/// A reader task and a writer task on the two halves, in two runtimes (the reader under kio,
/// the writer under Embassy), joined by a channel: both wait on the same UART at once.
#[test]
#[cfg(not(feature = "no-kio"))]
fn split_halves_serve_a_reader_and_a_writer_task_in_two_runtimes() {
    use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
    use embassy_sync::channel::Channel;
    let sent = sim(115_200, || {
        let (mut rx, mut tx) = uart::<16, 16>().split();
        let channel: &'static Channel<CriticalSectionRawMutex, u8, 64> = leak(Channel::new());
        let _reader = kio::spawn(
            async move {
                let mut buf = [0u8; 4];
                loop {
                    let n = rx.read(&mut buf).await.unwrap();
                    for &b in &buf[..n] {
                        channel.send(b.to_ascii_uppercase()).await;
                    }
                }
            },
            &queue(c"kio", 3),
            c"reader",
        );
        embassy_task(async move {
            loop {
                let b = channel.receive().await;
                tx.write_all(&[b]).await.unwrap();
            }
        });
        let port = UartPort::get("uart1");
        port.feed(b"split halves");
        sleep_past(frame_end(0, 14, 115_200));
        port.transmitted()
    });
    assert_eq!(sent, b"SPLIT HALVES");
}

/// Received bytes land one frame apart, at exact cycles, at 115 200 and at 9600 baud: a
/// reader waiting byte by byte gets each at its landing cycle.
#[test]
fn bytes_arrive_a_frame_apart_at_115200_and_9600_baud() {
    for baud in [115_200u32, 9600] {
        let (start, got) = sim(baud, move || {
            let mut uart = uart::<64, 64>();
            let got: Rc<RefCell<Vec<(u64, u8)>>> = Rc::default();
            let g = got.clone();
            embassy_task(async move {
                let mut b = [0u8; 1];
                loop {
                    uart.read(&mut b).await.unwrap();
                    g.borrow_mut().push((cycles(), b[0]));
                }
            });
            sleep_past(1000); // start off the tick grid
            let start = cycles();
            UartPort::get("uart1").feed(b"0123456789");
            sleep_past(frame_end(start, 11, baud as u64));
            let got = got.borrow().clone();
            (start, got)
        });
        let expected: Vec<(u64, u8)> =
            (0..10u64).map(|i| (frame_end(start, i + 1, baud as u64), b'0' + i as u8)).collect();
        assert_eq!(got, expected, "at {baud} baud");
    }
}

/// A write of 100 bytes takes 100 frame times on the wire: the driver keeps the TX FIFO
/// filled from the ring (64 bytes, so the writer also waits for room), the frames follow each
/// other exactly, and flush returns at the first tick after the last stop bit.
#[test]
fn a_write_of_100_bytes_takes_100_frame_times() {
    for baud in [115_200u32, 9600] {
        let (start, flushed, log) = sim(baud, move || {
            let mut uart = uart::<64, 64>();
            let data: Vec<u8> = (0..100).collect();
            let out: Rc<RefCell<(u64, u64)>> = Rc::default();
            let o = out.clone();
            embassy_task(async move {
                let start = cycles();
                uart.write_all(&data).await.unwrap();
                uart.flush().await.unwrap();
                *o.borrow_mut() = (start, cycles());
            });
            sleep_past(frame_end(0, 102, baud as u64));
            let (start, flushed) = *out.borrow();
            (start, flushed, UartPort::get("uart1").tx_log())
        });
        let expected: Vec<(u64, u8)> =
            (0..100u64).map(|i| (frame_end(start, i + 1, baud as u64), i as u8)).collect();
        assert_eq!(log, expected, "at {baud} baud");
        let last = frame_end(start, 100, baud as u64);
        assert_eq!(flushed, last.div_ceil(100) * 100, "flush at {baud} baud");
    }
}

/// Overrun, as hardware: a reader that sleeps while 100 bytes arrive keeps what fits in the
/// ring (32) and the FIFO (16); the 49th byte finds the FIFO full and is lost, and so is every
/// later one. The reader gets the 48 bytes, then `Overrun` (once), then reading continues with
/// what arrives next.
#[test]
fn overrun_when_the_reader_is_slow() {
    let got = sim(115_200, || {
        let mut uart = uart::<32, 16>();
        let port = UartPort::get("uart1");
        let data: Vec<u8> = (0..100).collect();
        port.feed(&data);
        sleep_past(port.rx_line_end());
        assert_eq!(port.rx_fifo_len(), 16);
        let mut reads = Vec::new();
        let mut buf = [0u8; 64];
        for _ in 0..3 {
            reads.push(uart.blocking_read(&mut buf).map(|n| buf[..n].to_vec()));
        }
        port.feed(b"xyz");
        let mut rest = Vec::new();
        while rest.len() < 3 {
            let n = uart.blocking_read(&mut buf).unwrap();
            rest.extend_from_slice(&buf[..n]);
        }
        (reads, rest)
    });
    let (reads, rest) = got;
    assert_eq!(reads[0], Ok((0..32).collect::<Vec<u8>>()));
    assert_eq!(reads[1], Ok((32..48).collect::<Vec<u8>>()));
    assert_eq!(reads[2], Err(UartError::Overrun));
    assert_eq!(rest, b"xyz");
}

/// Line errors are typed and reported in stream order, each once, never dropped: the bytes
/// before, the error, the bytes after.
#[test]
fn line_errors_are_reported_in_stream_order() {
    let got = sim(9600, || {
        let mut uart = uart::<64, 64>();
        let port = UartPort::get("uart1");
        port.feed(b"a");
        port.inject_error(LineError::Framing);
        port.feed(b"b");
        port.inject_error(LineError::Parity);
        port.feed(b"c");
        port.inject_error(LineError::Break);
        port.feed(b"d");
        let got: Rc<RefCell<Vec<Result<u8, UartError>>>> = Rc::default();
        let g = got.clone();
        embassy_task(async move {
            let mut b = [0u8; 8];
            loop {
                let r = uart.read(&mut b).await;
                g.borrow_mut().push(r.map(|_| b[0]));
            }
        });
        sleep_past(port.rx_line_end());
        let got = got.borrow().clone();
        got
    });
    use UartError::*;
    assert_eq!(
        got,
        [Ok(b'a'), Err(Framing), Ok(b'b'), Err(Parity), Ok(b'c'), Err(Break), Ok(b'd')]
    );
    use embedded_io::{Error as _, ErrorKind};
    assert_eq!(Framing.kind(), ErrorKind::InvalidData);
    assert_eq!(Parity.kind(), ErrorKind::InvalidData);
    assert_eq!(Break.kind(), ErrorKind::Interrupted);
    assert_eq!(Overrun.kind(), ErrorKind::Other);
    assert_eq!(zephyr::Error::from(Framing), zephyr::Error::EIO);
}

/// An overrun is reported exactly where bytes were lost, even to a reader that then reads one
/// byte at a time while bytes keep arriving: after the 8 bytes of the ring and the 4 of the
/// FIFO (a UART with 4-byte FIFOs), the error, then the bytes that arrived after the reader
/// caught up. (While the error waits for the FIFO's earlier bytes, reception resumes only once
/// the ring is empty, so one interrupt drains the FIFO: see the driver's docs.)
#[test]
fn an_overrun_is_placed_exactly_for_a_byte_by_byte_reader() {
    let (start, resumed, got) = Sim::new()
        .board(Board::new().uart_with_fifo("uart1", 9600, 4))
        .main_priority(5)
        .run(|| {
            let mut uart = uart::<8, 8>();
            let port = UartPort::get("uart1");
            let start = cycles();
            port.feed((0..40).collect::<Vec<u8>>());
            sleep_past(frame_end(start, 16, 9600)); // 16 bytes landed: 12 kept, 4 lost
            let resumed = cycles();
            let mut got = Vec::new();
            let mut buf = [0u8; 1];
            while got.last() != Some(&Ok(39)) {
                got.push(uart.blocking_read(&mut buf).map(|_| buf[0]));
            }
            (start, resumed, got)
        })
        .unwrap_or_else(|e| panic!("simulation failed: {e}"))
        .value
        .unwrap();
    // The first byte to land after the reader emptied the ring at `resumed`.
    let next = (0..40u8).find(|&i| frame_end(start, i as u64 + 1, 9600) > resumed).unwrap();
    let expect: Vec<Result<u8, UartError>> =
        (0..12).map(Ok).chain([Err(UartError::Overrun)]).chain((next..40).map(Ok)).collect();
    assert_eq!(got, expect);
}

/// Blocking reads and writes from a plain thread, through the embedded-io traits: the thread
/// sleeps on a semaphore until the interrupt brings a byte (a less urgent thread runs
/// meanwhile, so it does not spin) and wakes at the landing cycle; a blocking flush returns
/// once the echo has left the wire.
#[test]
fn blocking_read_and_write_from_a_plain_thread() {
    let (woke, low_ran, flushed, log) = sim(115_200, || {
        let mut uart = uart::<64, 64>();
        let low_ran: &'static Mutex<Option<u64>> = leak(Mutex::new(None));
        thread("low", 10, move || *low_ran.lock().unwrap() = Some(cycles()));
        let port = UartPort::get("uart1");
        port.feed_at(1000, b"ok");
        let mut buf = [0u8; 2];
        embedded_io::Read::read_exact(&mut uart, &mut buf).unwrap();
        let woke = cycles();
        embedded_io::Write::write_all(&mut uart, &buf).unwrap();
        embedded_io::Write::flush(&mut uart).unwrap();
        let low = *low_ran.lock().unwrap();
        (woke, low, cycles(), port.tx_log())
    });
    assert_eq!(woke, frame_end(1000, 2, 115_200));
    assert!(low_ran.is_some_and(|c| c < frame_end(1000, 1, 115_200)), "{low_ran:?}");
    let start = frame_end(1000, 2, 115_200);
    assert_eq!(log, [(frame_end(start, 1, 115_200), b'o'), (frame_end(start, 2, 115_200), b'k')]);
    assert_eq!(flushed, frame_end(start, 2, 115_200).div_ceil(100) * 100);
}

/// Cancellation loses no byte: a read future that registered its waker, was woken by a
/// landing byte and is then dropped unpolled leaves the byte for the next read; and a
/// `select` loop whose timer keeps beating the read gets every byte, in order.
#[test]
fn cancelled_reads_lose_no_byte() {
    let (first, all) = sim(115_200, || {
        let mut uart = uart::<64, 64>();
        let port = UartPort::get("uart1");
        // Poll once by hand (pending: nothing arrived), let a byte land, drop the future.
        let woken = Arc::new(std::sync::atomic::AtomicBool::new(false));
        struct Flag(Arc<std::sync::atomic::AtomicBool>);
        impl std::task::Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let waker = Waker::from(Arc::new(Flag(woken.clone())));
        let mut buf = [0u8; 4];
        {
            let mut read = pin!(uart.read(&mut buf));
            let poll = read.as_mut().poll(&mut Context::from_waker(&waker));
            assert!(matches!(poll, Poll::Pending));
            port.feed(b"A");
            sleep_past(port.rx_line_end());
            assert!(woken.load(std::sync::atomic::Ordering::SeqCst), "the landing woke it");
        }
        let n = uart.blocking_read(&mut buf).unwrap();
        let first = buf[..n].to_vec();

        // A select loop: a 1-tick timer against the read, bytes a frame (0.87 tick) apart.
        let all: Rc<RefCell<(Vec<u8>, u32)>> = Rc::default();
        let a = all.clone();
        embassy_task(async move {
            let mut b = [0u8; 1];
            loop {
                match select(uart.read(&mut b), embassy_time::Timer::after_ticks(1)).await {
                    Either::First(r) => {
                        r.unwrap();
                        a.borrow_mut().0.push(b[0]);
                    }
                    Either::Second(()) => a.borrow_mut().1 += 1,
                }
            }
        });
        let data: Vec<u8> = (b'a'..=b'z').collect();
        sleep_past(cycles() + 250); // some timeouts before the first byte
        port.feed(&data);
        sleep_past(port.rx_line_end() + 300);
        let all = all.borrow().clone();
        (first, all)
    });
    assert_eq!(first, b"A");
    let (bytes, timeouts) = all;
    assert_eq!(bytes, (b'a'..=b'z').collect::<Vec<u8>>());
    assert!(timeouts >= 2, "the timer won {timeouts} times");
}

/// The trace shows the UART's activity: each byte landing and each byte leaving the wire, at
/// its cycle, and a reconfiguration.
#[test]
fn the_trace_shows_device_activity() {
    let outcome = Sim::new()
        .board(Board::new().uart("uart1", 115_200))
        .main_priority(5)
        .trace(true)
        .run(|| {
            let mut uart = uart::<8, 8>();
            uart.set_baudrate(9600).unwrap();
            UartPort::get("uart1").feed(b"a");
            let mut b = [0u8; 1];
            uart.blocking_read(&mut b).unwrap();
            uart.blocking_write(b"Z").unwrap();
            uart.blocking_flush().unwrap();
        })
        .unwrap();
    let events: Vec<(u64, String)> = outcome
        .trace
        .iter()
        .filter_map(|r| match &r.event {
            TraceEvent::Device { device, what } if device == "uart1" => {
                Some((r.cycles, what.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        events,
        [
            (0, "configured 9600 8N1".to_string()),
            (1042, "rx 0x61 'a'".to_string()),
            (2084, "tx 0x5a 'Z'".to_string()),
        ]
    );
}

/// The raw API: `uart_poll_out` waits while the TX FIFO is full (16 bytes, plus the one in the
/// shift register): the 18th byte waits for the first frame to end, the 20th for the third.
#[test]
fn poll_out_waits_for_fifo_room() {
    let (start, done, complete_before, complete_after) = sim(9600, || {
        // SAFETY: UART calls on the board's UART, from the main thread.
        unsafe {
            let dev = zr_device_by_label(c"uart1".as_ptr());
            let start = cycles();
            for b in 0..20u8 {
                uart_poll_out(dev, b);
            }
            let done = cycles();
            let before = uart_irq_tx_complete(dev);
            sleep_past(frame_end(start, 20, 9600));
            (start, done, before, uart_irq_tx_complete(dev))
        }
    });
    assert_eq!(done, frame_end(start, 3, 9600));
    assert_eq!((complete_before, complete_after), (0, 1));
}

/// A callback that leaves the TX interrupt enabled with nothing to send (neither fills the
/// FIFO nor disables the interrupt) would hang a real CPU in its ISR: the simulation ends with
/// a panic naming the UART and the interrupt.
#[test]
fn a_callback_that_leaves_tx_asserted_is_an_interrupt_storm() {
    unsafe extern "C-unwind" fn does_nothing(_: *const device, _: *mut c_void) {}
    let err = Sim::new()
        .board(Board::new().uart("uart1", 115_200))
        .run(|| {
            // SAFETY: UART calls on the board's UART, from the main thread.
            unsafe {
                let dev = zr_device_by_label(c"uart1".as_ptr());
                uart_irq_callback_user_data_set(dev, Some(does_nothing), std::ptr::null_mut());
                uart_irq_tx_enable(dev);
            }
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("uart1: interrupt storm"), "{err}");
    assert!(err.contains("TX (the TX FIFO has room for 16 bytes"), "{err}");
}

/// One `UartBuffers` serves one `Uart` at a time; dropping the `Uart` (both halves) frees it
/// and stops the interrupts (bytes then stay in the FIFO).
#[test]
fn buffers_serve_one_uart_at_a_time() {
    let (busy, fifo_after_drop, again) = sim(115_200, || {
        let buffers: &'static UartBuffers<8, 8> = leak(UartBuffers::new());
        let uart = Uart::get("uart1", buffers).unwrap();
        let busy = Uart::get("uart1", buffers).map(|_| ()).unwrap_err();
        let (rx, tx) = uart.split();
        drop(rx);
        drop(tx);
        let port = UartPort::get("uart1");
        port.feed(b"12");
        sleep_past(port.rx_line_end());
        let fifo = port.rx_fifo_len();
        let mut uart = Uart::get("uart1", buffers).unwrap();
        let mut buf = [0u8; 2];
        let n = uart.blocking_read(&mut buf).unwrap();
        (busy, fifo, buf[..n].to_vec())
    });
    assert_eq!(busy, zephyr::Error::EBUSY);
    assert_eq!(fifo_after_drop, 2);
    assert_eq!(again, b"12");
}

/// Load: 10 simulated seconds of bytes back to back at 115 200 baud (115 200 bytes), echoed by
/// an Embassy task with 64-byte rings: no byte lost, none reordered, no error.
#[test]
fn echo_at_115200_for_10_seconds_loses_no_byte() {
    const N: usize = 115_200;
    let (sent, errors) = sim(115_200, || {
        let mut uart = uart::<64, 64>();
        let errors: &'static Mutex<u32> = leak(Mutex::new(0));
        embassy_task(async move {
            let mut buf = [0u8; 32];
            loop {
                match uart.read(&mut buf).await {
                    Ok(n) => uart.write_all(&buf[..n]).await.unwrap(),
                    Err(_) => *errors.lock().unwrap() += 1,
                }
            }
        });
        let port = UartPort::get("uart1");
        let data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
        port.feed(&data);
        sleep_past(port.rx_line_end() + 1000);
        (port.transmitted(), *errors.lock().unwrap())
    });
    assert_eq!(errors, 0);
    assert_eq!(sent.len(), N);
    assert!(sent.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
}
