/*
 * Zero-latency interrupts on Zephyr 2.7 (CONFIG_ZERO_LATENCY_IRQS, Cortex-M with BASEPRI), the
 * rules the simulator reproduces (crates/zephyr-sim/src/nvic.rs), printed for both kernels to
 * agree on (crates/zephyr-sim/tests/irq_lines.rs runs the same steps and compares its output
 * with expected.txt, which is this program's output on qemu_cortex_m3):
 *
 * - a line connected with IRQ_ZERO_LATENCY runs at hardware priority 0 whatever priority it is
 *   given (arch/arm/core/aarch32/irq_manage.c:77-78), so irq_lock's BASEPRI raise does not mask
 *   it: pended inside a locked section it runs at once, where a line of priority 0 waits for
 *   irq_unlock;
 * - it is more urgent than every other line: pended by the ISR of a priority-0 line, it runs
 *   inside that ISR;
 * - the other lines' least urgent priority is one less (include/arch/arm/aarch32/exc.h:52-54).
 *
 * The zero-latency ISR makes no kernel call: it may interrupt the kernel anywhere.
 */
#include <zephyr.h>
#include <irq.h>
#include <sys/printk.h>
#include <arch/arm/aarch32/cortex_m/cmsis.h>

/* Lines no device of the lm3s6965 uses (dts/arm/ti/lm3s6965.dtsi). */
#define ZLI_LINE 36
#define LINE 37

static volatile int zli_runs;
static volatile int line_runs;
/* zli_runs as the line's ISR saw it right after pending the zero-latency line, or -1. */
static volatile int zli_runs_in_line = -1;

static void zli_isr(const void *arg)
{
	ARG_UNUSED(arg);
	zli_runs++;
}

static void line_isr(const void *arg)
{
	line_runs++;
	if (arg != NULL) {
		NVIC_SetPendingIRQ(ZLI_LINE);
		__DSB();
		__ISB();
		zli_runs_in_line = zli_runs;
	}
}

static void pend(unsigned int irq)
{
	NVIC_SetPendingIRQ(irq);
	__DSB();
	__ISB();
}

void main(void)
{
	printk("IRQ_PRIO_LOWEST %d\n", IRQ_PRIO_LOWEST);

	/* A priority beyond IRQ_PRIO_LOWEST: ignored for a zero-latency line. */
	irq_connect_dynamic(ZLI_LINE, 7, zli_isr, NULL, IRQ_ZERO_LATENCY);
	irq_connect_dynamic(LINE, 0, line_isr, NULL, 0);
	irq_enable(ZLI_LINE);
	irq_enable(LINE);

	unsigned int key = irq_lock();

	pend(LINE);
	pend(ZLI_LINE);
	int zli = zli_runs, line = line_runs;

	irq_unlock(key);
	printk("locked: zero-latency ran %d, line ran %d\n", zli, line);
	printk("unlocked: zero-latency ran %d, line ran %d\n", zli_runs, line_runs);

	irq_disable(LINE);
	irq_connect_dynamic(LINE, 0, line_isr, (const void *)1, 0);
	irq_enable(LINE);
	pend(LINE);
	printk("pended by the line's ISR: zero-latency ran %d before it went on\n",
	       zli_runs_in_line);
	printk("done\n");
}
