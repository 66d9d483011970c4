//! The I2C driver (`zephyr::device::i2c`) on the simulated controller: a temperature sensor
//! and a 24C32 EEPROM on `i2c0`, through embedded-hal's blocking `I2c` from a thread and
//! embedded-hal-async's `I2c` from Embassy and kio tasks; NACKs as typed errors; bus time in
//! virtual time; a shared bus; cancellation; the trace. Board: 10 kHz ticks, 1 MHz cycles.
//! (With `no-kio`, the tests that use kio are left out.)

mod async_common;
mod embassy_common;

use std::cell::Cell;
use std::rc::Rc;

use async_common::{leak, queue};
use embassy_common::{executor, run_task, spawn, thread};
use embassy_futures::select::{select, Either};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::mutex::Mutex;
use embassy_time::Timer;
use embedded_hal::i2c::I2c as BlockingI2c;
use embedded_hal::i2c::{Error as _, ErrorKind, NoAcknowledgeSource, Operation};
use embedded_hal_async::i2c::I2c as AsyncI2c;
use zephyr::device::i2c::{Error, I2c, Speed};
#[cfg(not(feature = "no-kio"))]
use zephyr::kio;
use zephyr_sim::devices::i2c::{
    temperature_sensor as ts, with_controller, with_target, Eeprom, RegisterFile, Shared,
};
use zephyr_sim::devices::Board;
use zephyr_sim::{SimError, TraceEvent};
use zephyr_sys::i2c_flags::{I2C_SPEED_FAST, I2C_SPEED_SET};
use zephyr_sys::*;

const SENSOR: u8 = ts::ADDRESS as u8;
const EEPROM: u8 = 0x50;
const ABSENT: u8 = 0x33;

/// `i2c0` with the temperature sensor at 0x48 and a 24C32 at 0x50.
fn board() -> Board {
    Board::new()
        .i2c("i2c0")
        .i2c_target("i2c0", ts::ADDRESS, RegisterFile::temperature_sensor)
        .i2c_target("i2c0", EEPROM as u16, Eeprom::at24c32)
}

fn run<R: 'static>(board: Board, main: impl FnOnce() -> R + 'static) -> R {
    zephyr_sim::Sim::new()
        .main_priority(5)
        .board(board)
        .run(main)
        .unwrap_or_else(|e| panic!("simulation failed: {e}"))
        .value
        .expect("main returned")
}

/// The hardware cycle counter (1 MHz: microseconds).
fn cycles() -> u64 {
    // SAFETY: a plain kernel query from a simulated thread.
    unsafe { k_cycle_get_64() }
}

fn bus() -> I2c {
    I2c::get("i2c0").expect("i2c0 is on the board")
}

/// WHO_AM_I and the temperature, read with the blocking trait from a thread.
fn read_sensor_blocking(bus: &mut I2c) -> Result<(u8, i16), Error> {
    let mut id = [0u8; 1];
    BlockingI2c::write_read(bus, SENSOR, &[ts::WHO_AM_I], &mut id)?;
    let mut t = [0u8; 2];
    BlockingI2c::write_read(bus, SENSOR, &[ts::TEMPERATURE], &mut t)?;
    Ok((id[0], i16::from_be_bytes(t)))
}

/// The same through the async trait.
async fn read_sensor_async(mut bus: I2c) -> Result<(u8, i16), Error> {
    let mut id = [0u8; 1];
    AsyncI2c::write_read(&mut bus, SENSOR, &[ts::WHO_AM_I], &mut id).await?;
    let mut t = [0u8; 2];
    AsyncI2c::write_read(&mut bus, SENSOR, &[ts::TEMPERATURE], &mut t).await?;
    Ok((id[0], i16::from_be_bytes(t)))
}

/// The sensor's registers through `write_read` (a pointer write, a repeated START, reads that
/// auto-increment), blocking from a thread; a new measurement set by the test mid-run is read.
#[test]
fn sensor_who_am_i_and_temperature_blocking_from_a_thread() {
    let got = run(board(), || {
        let mut bus = bus();
        let first = read_sensor_blocking(&mut bus);
        with_target("i2c0", ts::ADDRESS, |s: &mut RegisterFile| s.set_temperature(-512));
        let second = read_sensor_blocking(&mut bus);
        // A register write, seen by the sensor.
        BlockingI2c::write(&mut bus, SENSOR, &[ts::CONFIG, 0x81]).unwrap();
        let config = with_target("i2c0", ts::ADDRESS, |s: &mut RegisterFile| s.get(ts::CONFIG));
        (first, second, config)
    });
    assert_eq!(got, (Ok((ts::ID, 2150)), Ok((ts::ID, -512)), 0x81));
}

/// The async trait under the Embassy executor, with transfers on the system work queue and
/// on a dedicated one.
#[test]
fn sensor_reads_async_under_embassy() {
    let got = run(board(), || {
        let system_queue = run_task(read_sensor_async(bus()));
        let i2c_queue = queue(c"i2c", 2);
        let own_queue = run_task(read_sensor_async(bus().on_queue(&i2c_queue)));
        (system_queue, own_queue)
    });
    assert_eq!(got, (Ok((ts::ID, 2150)), Ok((ts::ID, 2150))));
}

/// The async trait under kio (a task on its own work queue), with transfers on the system
/// work queue, and on the task's own queue: the task gives the queue's thread back (Pending)
/// before the transfer's work item runs on it.
#[test]
#[cfg(not(feature = "no-kio"))]
fn sensor_reads_async_under_kio() {
    let got = run(board(), || {
        let kio_queue = queue(c"kio", 3);
        let system_queue = kio::spawn(read_sensor_async(bus()), &kio_queue, c"system_queue").join();
        let task_queue =
            kio::spawn(read_sensor_async(bus().on_queue(&kio_queue)), &kio_queue, c"task_queue");
        (system_queue, task_queue.join())
    });
    assert_eq!(got, (Ok((ts::ID, 2150)), Ok((ts::ID, 2150))));
}

/// A 24C32: a page write, read back; a write past the end of a page wraps to its start; the
/// chip refuses its address during the write cycle (a NACK, `NoAcknowledge`), and polling it
/// with an empty write ("acknowledge polling") succeeds once the 5 ms after the STOP are over.
#[test]
fn eeprom_page_write_wrap_write_cycle_nack_and_retry() {
    let eeprom = Shared::new(Eeprom::at24c32());
    let on_board = eeprom.clone();
    let board =
        Board::new().i2c("i2c0").i2c_target("i2c0", EEPROM as u16, move || on_board.clone());
    let (busy, polls, waited_us, read_back, wrapped) = run(board, || {
        let mut bus = bus();
        // 8 bytes at 0x0100 (inside page 0x0100..0x0120).
        let mut write = vec![0x01, 0x00];
        write.extend(1..=8u8);
        BlockingI2c::write(&mut bus, EEPROM, &write).unwrap();
        let stop = cycles();
        // At once: the chip is in its write cycle.
        let mut buf = [0u8; 8];
        let busy = BlockingI2c::write_read(&mut bus, EEPROM, &[0x01, 0x00], &mut buf);
        // Acknowledge polling, every 500 µs.
        let mut polls = 0;
        while BlockingI2c::write(&mut bus, EEPROM, &[]).is_err() {
            polls += 1;
            zephyr::time::sleep(zephyr::time::Duration::from_micros(500));
        }
        let waited_us = cycles() - stop;
        BlockingI2c::write_read(&mut bus, EEPROM, &[0x01, 0x00], &mut buf).unwrap();
        // 4 bytes at 0x011E: 0x011E, 0x011F, then wrap to 0x0100, 0x0101.
        BlockingI2c::write(&mut bus, EEPROM, &[0x01, 0x1E, 0xA0, 0xA1, 0xA2, 0xA3]).unwrap();
        zephyr::time::sleep(zephyr::time::Duration::from_millis(5));
        let mut wrapped = [0u8; 4];
        BlockingI2c::write_read(&mut bus, EEPROM, &[0x01, 0x00], &mut wrapped).unwrap();
        (busy, polls, waited_us, buf, wrapped)
    });
    assert_eq!(
        busy.map_err(|e| e.kind()),
        Err(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Unknown))
    );
    assert_eq!(read_back, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(wrapped, [0xA2, 0xA3, 3, 4]);
    // The write (2 + 8 bytes, 101 bit times) runs from 0 to 1010 µs, its STOP at 1000 µs, so
    // the chip is busy until 6000 µs. The refused read ends at 1120 µs; then each refused
    // poll takes 110 µs and its 500 µs sleep ends on a tick (5 ticks, ending 6 ticks after the
    // current one): polls at 1120, 1800, 2500, ..., 5300 µs are refused, the one at 6000 µs
    // is acknowledged and ends at 6110 µs, 5100 µs after the write returned.
    assert_eq!((polls, waited_us), (7, 5_100));
    // After the run, through the shared handle.
    let e = eeprom.lock();
    assert_eq!(&e.memory()[0x11E..0x120], &[0xA0, 0xA1]);
    assert_eq!(&e.memory()[0x120..0x122], &[0xFF, 0xFF], "the next page is untouched");
    assert_eq!(e.write_cycles(), 2);
    assert_eq!(e.refused() as usize, polls + 1);
}

/// An address nobody answers: `NoAcknowledge` (Zephyr's `-EIO`), from the blocking and the
/// async trait; the error converts to `zephyr::Error::EIO`.
#[test]
fn an_absent_address_is_no_acknowledge() {
    let (blocking, asynchronous) = run(board(), || {
        let blocking = BlockingI2c::write(&mut bus(), ABSENT, &[1, 2]);
        let asynchronous =
            run_task(async { AsyncI2c::read(&mut bus(), ABSENT, &mut [0; 2]).await });
        (blocking, asynchronous)
    });
    for r in [blocking, asynchronous] {
        let e = r.unwrap_err();
        assert_eq!(e, Error::NoAcknowledge(NoAcknowledgeSource::Unknown));
        assert_eq!(e.kind(), ErrorKind::NoAcknowledge(NoAcknowledgeSource::Unknown));
        assert_eq!(zephyr::Error::from(e), zephyr::Error::EIO);
    }
}

/// The other errors: a bus held low is `Bus` (`-EBUSY`); 10-bit addressing, which the
/// controller does not support, is `Other(ENOTSUP)`; an address above 0x7F `Other(EINVAL)`;
/// `i2c_configure` without `I2C_MODE_MASTER` is `-EINVAL`; a data NACK (a write to the
/// read-only WHO_AM_I) is `NoAcknowledge` too; an empty transaction does nothing.
#[test]
fn bus_errors_unsupported_requests_and_refused_data_are_typed() {
    let got = run(board(), || {
        let mut bus = bus();
        with_controller("i2c0", |c| c.set_bus_stuck(true));
        let stuck = BlockingI2c::write(&mut bus, SENSOR, &[0]);
        with_controller("i2c0", |c| c.set_bus_stuck(false));
        let ten_bit = bus.transaction_10bit(0x148, &mut [Operation::Write(&[0])]);
        let wide = BlockingI2c::write(&mut bus, 0x80, &[0]);
        // SAFETY: a driver call on an I2C controller.
        let slave = unsafe { i2c_configure(bus.device().as_raw(), I2C_SPEED_SET(I2C_SPEED_FAST)) };
        let refused = BlockingI2c::write(&mut bus, SENSOR, &[ts::WHO_AM_I, 0]);
        let empty = BlockingI2c::transaction(&mut bus, SENSOR, &mut []);
        let transfers = with_controller("i2c0", |c| c.transfers());
        (stuck, ten_bit, wide, slave, refused, empty, transfers)
    });
    let (stuck, ten_bit, wide, slave, refused, empty, transfers) = got;
    assert_eq!(stuck, Err(Error::Bus(zephyr::Error::EBUSY)));
    assert_eq!(stuck.unwrap_err().kind(), ErrorKind::Bus);
    assert_eq!(ten_bit, Err(Error::Other(zephyr::Error::ENOTSUP)));
    assert_eq!(ten_bit.unwrap_err().kind(), ErrorKind::Other);
    assert_eq!(wide, Err(Error::Other(zephyr::Error::EINVAL)));
    assert_eq!(slave, -EINVAL);
    assert_eq!(refused, Err(Error::NoAcknowledge(NoAcknowledgeSource::Unknown)));
    assert_eq!(empty, Ok(()));
    assert_eq!(transfers, 1, "only the refused write went on the bus");
}

/// Bus time: 9 bit times per byte (the address byte too), one per START and STOP. A 4-byte
/// write is 1 + 9 x 5 + 1 = 47 bit times: 470 µs at 100 kHz, 117.5 µs (118 cycles) at
/// 400 kHz, 47 µs at 1 MHz; a write_read of 1 + 2 bytes is 48. The caller is blocked, not
/// busy: a less urgent thread runs during the transfer.
#[test]
fn a_transfer_takes_its_bus_time_and_blocks_the_caller() {
    let got = run(board(), || {
        let ran_at = Rc::new(Cell::new(None));
        let mut times = Vec::new();
        let mut bus = bus();
        for speed in [Speed::Standard, Speed::Fast, Speed::FastPlus] {
            bus.configure(speed).unwrap();
            let t0 = cycles();
            BlockingI2c::write(&mut bus, SENSOR, &[ts::CONFIG, 1, 2, 3]).unwrap();
            let write = cycles() - t0;
            let t0 = cycles();
            BlockingI2c::write_read(&mut bus, SENSOR, &[ts::TEMPERATURE], &mut [0; 2]).unwrap();
            times.push((write, cycles() - t0));
        }
        bus.configure(Speed::Standard).unwrap();
        let r = ran_at.clone();
        thread("background", 7, move || r.set(Some(cycles())));
        let t0 = cycles();
        BlockingI2c::write(&mut bus, SENSOR, &[ts::CONFIG, 1, 2, 3]).unwrap();
        (times, t0, ran_at.get(), cycles())
    });
    let (times, t0, background, end) = got;
    assert_eq!(times, vec![(470, 480), (118, 120), (47, 48)]);
    assert_eq!((background, end - t0), (Some(t0), 470), "the other thread ran at the start");
}

/// Two Embassy tasks (and, with kio, a kio task) on one bus, each with its own handle: the
/// driver serialises the transfers (each waits for the bus lock), all succeed, and the bus is
/// busy for the sum of their times, back to back.
#[test]
fn several_tasks_share_the_bus_through_the_driver_lock() {
    let (results, elapsed) = run(board(), || {
        let results = Rc::new(std::cell::RefCell::new(Vec::new()));
        let t0 = cycles();
        #[cfg(not(feature = "no-kio"))]
        let kio_task = kio::spawn(
            async {
                let mut results = Vec::new();
                for _ in 0..4 {
                    results.push((2, read_sensor_async(bus()).await));
                }
                results
            },
            &queue(c"kio", 3),
            c"kio_task",
        );
        let done = Rc::new(Cell::new(0));
        let (r, d) = (results.clone(), done.clone());
        executor().run_until(
            move |s| {
                for task in 0..2 {
                    let (r, d) = (r.clone(), d.clone());
                    spawn(&s, async move {
                        for _ in 0..4 {
                            let got = read_sensor_async(bus()).await;
                            r.borrow_mut().push((task, got));
                        }
                        d.set(d.get() + 1);
                    });
                }
            },
            move || done.get() == 2,
        );
        #[allow(unused_mut, reason = "kio's results are added unless no-kio")]
        let mut results = results.take();
        #[cfg(not(feature = "no-kio"))]
        results.extend(kio_task.join());
        (results, cycles() - t0)
    });
    let n = if cfg!(feature = "no-kio") { 8 } else { 12 };
    assert_eq!(results.len(), n);
    assert!(results.iter().all(|(_, r)| *r == Ok((ts::ID, 2150))), "{results:?}");
    // Each read is a write_read of 1 + 1 bytes (39 bit times) and one of 1 + 2 (48): 870 µs
    // of bus time at 100 kHz.
    assert_eq!(elapsed, n as u64 * (390 + 480), "back to back, without gaps");
}

/// Two Embassy tasks sharing one handle through embassy-sync's `Mutex`, each holding it across
/// awaits for a write and a read back.
#[test]
fn tasks_share_one_handle_through_an_embassy_sync_mutex() {
    let mutexed = run(board(), || {
        let shared: &'static Mutex<CriticalSectionRawMutex, I2c> = leak(Mutex::new(bus()));
        let finished = Rc::new(Cell::new(Vec::new()));
        let f = finished.clone();
        executor().run_until(
            move |s| {
                for value in [0x11u8, 0x22] {
                    let f = f.clone();
                    spawn(&s, async move {
                        let mut bus = shared.lock().await;
                        AsyncI2c::write(&mut *bus, SENSOR, &[ts::CONFIG, value]).await.unwrap();
                        Timer::after_ticks(3).await; // holding the lock across an await
                        let mut back = [0u8; 1];
                        AsyncI2c::write_read(&mut *bus, SENSOR, &[ts::CONFIG], &mut back)
                            .await
                            .unwrap();
                        let mut v = f.take();
                        v.push((value, back[0]));
                        f.set(v);
                    });
                }
            },
            {
                let finished = finished.clone();
                move || {
                    let v = finished.take();
                    let n = v.len();
                    finished.set(v);
                    n == 2
                }
            },
        );
        finished.take()
    });
    // The executor picks which task locks first; each reads back its own write.
    let mut mutexed = mutexed;
    mutexed.sort();
    assert_eq!(mutexed, vec![(0x11, 0x11), (0x22, 0x22)]);
}

/// Cancelling an async transaction: dropped while queued (its queue's thread is less urgent
/// and has not run yet), it never goes on the bus; dropped while on the bus (a `select` whose
/// timer wins during a 100-byte read, 9.2 ms at 100 kHz), the drop waits for the transfer's
/// end, after which its buffer holds the data and the bus works on.
#[test]
fn cancelled_transactions_never_start_or_are_waited_for() {
    let eeprom = Eeprom::at24c32().with_contents(&(0..=255).collect::<Vec<u8>>());
    let board = Board::new().i2c("i2c0").i2c_target("i2c0", EEPROM as u16, move || eeprom.clone());
    let got = run(board, || {
        let slow_queue = queue(c"i2c-slow", 8);
        let bus = bus().on_queue(&slow_queue);
        run_task(async move {
            // Dropped while queued.
            let mut buf = [0u8; 4];
            let mut ops = [Operation::Read(&mut buf)];
            let first =
                select(bus.transaction_async(EEPROM, &mut ops), core::future::ready(())).await;
            assert!(matches!(first, Either::Second(())));
            let after_queued = with_controller("i2c0", |c| c.transfers());

            // Dropped while on the bus.
            let mut big = [0u8; 100];
            let t0 = cycles();
            let second = {
                let mut ops = [Operation::Write(&[0x00, 0x10]), Operation::Read(&mut big)];
                let r =
                    select(bus.transaction_async(EEPROM, &mut ops), Timer::after_ticks(10)).await;
                matches!(r, Either::Second(()))
            };
            let dropped_after = cycles() - t0;
            let after_running = with_controller("i2c0", |c| c.transfers());

            // The bus works on.
            let mut again = [0u8; 2];
            let mut bus = bus;
            let third = AsyncI2c::write_read(&mut bus, EEPROM, &[0, 0x20], &mut again).await;
            (after_queued, second, dropped_after, big[0], big[99], after_running, third, again)
        })
    });
    let (after_queued, timer_won, dropped_after, first, last, after_running, third, again) = got;
    assert_eq!(after_queued, 0, "a transaction dropped while queued never goes on the bus");
    assert!(timer_won);
    // START + address + 2 bytes, repeated START + address + 100 bytes, STOP: 1 + 27 + 1 + 9 +
    // 900 + 1 = 939 bit times, 9.39 ms; the timer fired at 1 ms, and the drop returned when
    // the transfer ended.
    assert_eq!(dropped_after, 9_390);
    assert_eq!((first, last, after_running), (0x10, 0x10 + 99, 1));
    assert_eq!((third, again), (Ok(()), [0x20, 0x21]));
}

/// Blocking transfers panic in an interrupt handler, naming the call.
#[test]
fn a_blocking_transaction_in_an_isr_panics() {
    let r = zephyr_sim::Sim::new().board(board()).run(|| {
        zephyr_sim::irq::raise_after_us(10, || {
            let _ = BlockingI2c::write(&mut bus(), SENSOR, &[0]);
        });
        zephyr::time::sleep(zephyr::time::Duration::from_millis(1));
    });
    match r {
        Err(SimError::Panic { message, .. }) => {
            assert!(message.contains("I2c::transaction"), "{message}")
        }
        other => panic!("expected a panic, got {other:?}"),
    }
}

/// Each transfer is one `Device` trace event at its end: address, phases, outcome.
#[test]
fn the_trace_shows_each_transfer_at_its_end() {
    let outcome = zephyr_sim::Sim::new()
        .main_priority(5)
        .board(board())
        .trace(true)
        .run(|| {
            let mut i2c = bus();
            let _ = BlockingI2c::write_read(&mut i2c, SENSOR, &[ts::WHO_AM_I], &mut [0]);
            let _ = BlockingI2c::write(&mut i2c, ABSENT, &[1]);
            let _ = BlockingI2c::write(&mut i2c, SENSOR, &[ts::WHO_AM_I, 5]);
            let _ = run_task(async { AsyncI2c::read(&mut bus(), EEPROM, &mut [0; 3]).await });
        })
        .unwrap();
    let events: Vec<(u64, String)> = outcome
        .trace
        .iter()
        .filter_map(|r| match &r.event {
            TraceEvent::Device { device, what } => Some((r.cycles, format!("{device}: {what}"))),
            _ => None,
        })
        .collect();
    let expected = [
        (390, "i2c0: 0x48 w[1] r[1] ack"),
        (390 + 110, "i2c0: 0x33 w nack(address)"),
        (500 + 290, "i2c0: 0x48 w[2] nack(data)"),
        (790 + 380, "i2c0: 0x50 r[3] ack"),
    ];
    let expected: Vec<(u64, String)> = expected.iter().map(|(c, s)| (*c, s.to_string())).collect();
    assert_eq!(events, expected, "\n{}", outcome.trace_text());
}
