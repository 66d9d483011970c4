//! `qemu_cortex_m3`: the UART driver on `uart1` (the lm3s6965's second UART, Zephyr's
//! Stellaris driver), which `scripts/zephyr-test.sh` connects to a pipe (`-serial pipe:...`;
//! uart0 stays the console).
//!
//! First a blocking write (embedded-io's `Write`, then `flush`); then an Embassy task echoes
//! every line it reads back uppercased (embedded-io-async's `Read` and `Write` on the two halves),
//! until the line `bye`. The rings are smaller than a line, so a long line fills the receive
//! ring (RX interrupts off until the task reads) and the transmit ring (the writer waits for
//! the TX interrupt).

use static_cell::StaticCell;
use zephyr::device::uart::{Uart, UartBuffers, UartRx, UartTx};
use zephyr::embassy::Executor;
use zephyr::printkln;

/// The most bytes of a line that are echoed (the rest is dropped).
const MAX_LINE: usize = 128;
/// What the blocking write sends.
const GREETING: &[u8] = b"uart1 blocking write\r\n";

static BUFFERS: UartBuffers<16, 16> = UartBuffers::new();
static EXECUTOR: StaticCell<Executor> = StaticCell::new();

/// Runs the checks: the blocking write on the main thread, then the echo as an Embassy task.
pub fn main() {
    let mut uart = Uart::get("uart1", &BUFFERS).expect("uart1");
    // The Stellaris driver's first uart_irq_tx_enable also sends one NUL byte through its
    // loopback mode, to raise the TX interrupt; qemu's model has no loopback, so the NUL goes
    // out on the line, ahead of this (the script drops it).
    embedded_io::Write::write_all(&mut uart, GREETING).expect("blocking write");
    embedded_io::Write::flush(&mut uart).expect("blocking flush");
    printkln!(
        "drivers: uart blocking write: {} bytes written and flushed on uart1: ok",
        GREETING.len()
    );
    let (rx, tx) = uart.split();
    printkln!("drivers: uart echo ready");
    let executor: &'static Executor = EXECUTOR.init(Executor::new());
    executor.run(|spawner| spawner.spawn(echo(rx, tx).expect("one echo task")))
}

/// Echoes lines uppercased until `bye`.
#[embassy_executor::task]
async fn echo(mut rx: UartRx, mut tx: UartTx) {
    use embedded_io_async::{Read, Write};

    let mut line = [0u8; MAX_LINE];
    let (mut len, mut lines, mut bytes) = (0, 0, 0);
    loop {
        let mut chunk = [0u8; 8];
        let n = Read::read(&mut rx, &mut chunk).await.expect("uart1 read");
        for &b in &chunk[..n] {
            match b {
                b'\r' => {}
                b'\n' => {
                    line[..len].make_ascii_uppercase();
                    Write::write_all(&mut tx, &line[..len]).await.expect("uart1 write");
                    Write::write_all(&mut tx, b"\n").await.expect("uart1 write");
                    Write::flush(&mut tx).await.expect("uart1 flush");
                    lines += 1;
                    bytes += len;
                    let bye = &line[..len] == b"BYE";
                    len = 0;
                    if bye {
                        printkln!(
                            "drivers: uart echo: {lines} lines ({bytes} bytes) read and echoed \
                             uppercased by an Embassy task: ok"
                        );
                        printkln!("drivers: all ok");
                    }
                }
                _ if len < MAX_LINE => {
                    line[len] = b;
                    len += 1;
                }
                _ => {}
            }
        }
    }
}
