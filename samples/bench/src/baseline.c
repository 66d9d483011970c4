/*
 * The kernel's own round trip, in C: the baseline of the `thread` and `thread-same-prio`
 * scenarios (compiled into the application with the crate's `c-baseline` feature; without it,
 * the Rust port in baseline.rs runs the same steps).
 *
 * The calling thread (A) and a partner thread (B) ping-pong over two binary semaphores:
 *
 *     A: give(ping), take(pong)        B: take(ping), give(pong)
 *
 * One warm-up round trip comes first, so that B waits in take(ping) when the clock starts,
 * whichever of the two is more urgent; then `round_trips` round trips are timed with
 * k_cycle_get_32(). B returns after its last give and A joins it.
 */

#if defined(__has_include)
#if __has_include(<zephyr/kernel.h>)
#include <zephyr/kernel.h>
#else
#include <kernel.h>
#endif
#else
#include <kernel.h>
#endif

#include <stdint.h>

#define PARTNER_STACK_SIZE 1024

K_THREAD_STACK_DEFINE(partner_stack, PARTNER_STACK_SIZE);
static struct k_thread partner_thread;
static struct k_sem ping;
static struct k_sem pong;

static void partner(void *p1, void *p2, void *p3)
{
	uint32_t round_trips = (uint32_t)(uintptr_t)p1;

	ARG_UNUSED(p2);
	ARG_UNUSED(p3);
	for (uint32_t i = 0; i < round_trips; i++) {
		k_sem_take(&ping, K_FOREVER);
		k_sem_give(&pong);
	}
}

/*
 * Ping-pongs `round_trips` times (after one warm-up round trip) with a partner thread at
 * `partner_prio`, from the calling thread; returns the cycles (k_cycle_get_32) they took.
 * Not re-entrant: one partner thread, one pair of semaphores.
 */
uint32_t bench_c_thread(int partner_prio, uint32_t round_trips)
{
	uint32_t start;
	uint32_t end;

	k_sem_init(&ping, 0, 1);
	k_sem_init(&pong, 0, 1);
	k_thread_create(&partner_thread, partner_stack, K_THREAD_STACK_SIZEOF(partner_stack),
			partner, (void *)(uintptr_t)(round_trips + 1), NULL, NULL, partner_prio, 0,
			K_NO_WAIT);

	k_sem_give(&ping);
	k_sem_take(&pong, K_FOREVER);

	start = k_cycle_get_32();
	for (uint32_t i = 0; i < round_trips; i++) {
		k_sem_give(&ping);
		k_sem_take(&pong, K_FOREVER);
	}
	end = k_cycle_get_32();

	k_thread_join(&partner_thread, K_FOREVER);
	return end - start;
}

/*
 * The kernel's own interrupt round trip: the baseline of the `irq` scenario.
 *
 * The calling thread pends interrupt line `irq` (zr_irq_pend, the module's wrapper of the
 * architecture's software pend: NVIC_SetPendingIRQ on Cortex-M, posix_sw_set_pending_IRQ on
 * native_posix); the line's ISR, connected with irq_connect_dynamic at `priority`, preempts the
 * thread at once and gives a semaphore; the thread takes it (without blocking: the give came
 * first). One warm-up round trip, then `round_trips` timed ones. The line is left connected
 * and enabled (nothing else pends it).
 */
void zr_irq_pend(unsigned int irq);

static struct k_sem irq_sem;

static void irq_isr(const void *parameter)
{
	ARG_UNUSED(parameter);
	k_sem_give(&irq_sem);
}

/*
 * Pends `irq` and takes the semaphore its ISR gives, `round_trips` times (after one warm-up
 * round trip), from the calling thread; returns the cycles (k_cycle_get_32) they took, or 0 if
 * the line could not be connected. Call it once: the line stays connected.
 */
uint32_t bench_c_irq(unsigned int irq, unsigned int priority, uint32_t round_trips)
{
	uint32_t start;
	uint32_t end;

	k_sem_init(&irq_sem, 0, 1);
	if (irq_connect_dynamic(irq, priority, irq_isr, NULL, 0) < 0) {
		return 0;
	}
	irq_enable(irq);

	zr_irq_pend(irq);
	k_sem_take(&irq_sem, K_FOREVER);

	start = k_cycle_get_32();
	for (uint32_t i = 0; i < round_trips; i++) {
		zr_irq_pend(irq);
		k_sem_take(&irq_sem, K_FOREVER);
	}
	end = k_cycle_get_32();

	return end - start;
}
