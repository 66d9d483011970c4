/*
 * Time slicing on a real Zephyr kernel: the same steps run on the simulator in
 * crates/zephyr-sim/tests/timeslicing.rs (time_slicing_matches_the_real_kernel_at_*), and both
 * must print expected-10000.txt (prj.conf: 10 kHz) and expected-100.txt (100hz.conf).
 * scripts/zephyr-test.sh builds both for native_posix_64 and compares.
 *
 * Boot configuration: CONFIG_TIMESLICE_SIZE=2 (ms), CONFIG_TIMESLICE_PRIORITY=0. main runs at
 * priority -5 (cooperative: never sliced, never preempted), creates each phase's threads and
 * joins them. Each phase starts on a tick boundary and prints ticks since its start. A worker
 * spins in steps of k_busy_wait(0.7 tick) and prints "<name> runs" whenever it runs after
 * another worker printed; a step cut by a slice ends at once when its thread runs again
 * (k_busy_wait measures elapsed time).
 *
 * 1. rotate: three equal preemptible threads take turns every slice (kernel/sched.c
 *    z_time_slice: move_thread_to_end_of_prio_q, z_reset_time_slice).
 * 2. coop: cooperative threads are never sliced (sliceable: is_preempt).
 * 3. ceiling: with slice priority 6, threads at 5 are not sliced (!z_is_prio_higher).
 * 4. alone: a thread alone at its priority keeps running; the less urgent one waits.
 * 5. set: k_sched_time_slice_set(35, 0) from a thread mid-slice: the new size, and the
 *    caller's slice restarts at the call.
 * 6. preempted: a thread preempted by a more urgent one starts a fresh slice when switched
 *    back in (do_swap: z_reset_time_slice).
 * 7. blocked: a thread that sleeps and is readied starts a fresh slice when it runs again.
 * 8. locked: a thread holding k_sched_lock when its slice ends is not sliced (is_preempt), and
 *    loses its slice (slice_ticks = 0): after k_sched_unlock it runs unsliced to its end.
 * 9. irq-locked: a thread that readies a more urgent one while holding irq_lock keeps the CPU
 *    (no reschedule point), but its slice restarts at that moment (kernel/sched.c:447-457
 *    update_cache: z_reset_time_slice when the thread to run next is not _current), so the
 *    more urgent thread runs when the restarted slice ends, the next timer interrupt.
 * 10. late: with a 35 ms slice, a thread 3 ticks into its slice (no tick announced since it
 *    began) starts a timer that ends a tick before the slice would, counted from the slice's
 *    start. z_add_timeout (kernel/timeout.c:122-137) compares the timer's ticks from now with
 *    the slice's ticks from the last announcement, takes the timer for the sooner and programs
 *    it: no interrupt comes at the slice's end, and the thread is rotated 2 ticks late, at the
 *    timer's expiry.
 * 11. irq-locked again: with a 35 ms slice, every thread readied by an irq_lock holder while a
 *    more urgent one waits for the CPU restarts the holder's slice (update_cache runs in
 *    ready_thread, kernel/sched.c:503-507), here C, which is not the one to run next; a give
 *    to a semaphore nobody waits on readies nothing and restarts nothing.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <kernel.h>
#include <sys/printk.h>

#define TICK_US (1000000 / CONFIG_SYS_CLOCK_TICKS_PER_SEC)
#define STEP_US (7 * TICK_US / 10)
#define N 3

static K_THREAD_STACK_ARRAY_DEFINE(stacks, N, 2048);
static struct k_thread threads[N];
static int64_t t0;
static const char *last;

#define T() ((long)(k_uptime_ticks() - t0))

/* The slice in ticks for ms milliseconds, as k_sched_time_slice_set computes it. */
static int slice_ticks(int ms)
{
	return MAX(2, (int)k_ms_to_ticks_ceil32(ms));
}

static void steps(const char *me, int n)
{
	for (int i = 0; i < n; i++) {
		if (last != me) {
			last = me;
			printk("T=%ld %s runs\n", T(), me);
		}
		k_busy_wait(STEP_US);
	}
}

static void worker(void *name, void *n, void *unused)
{
	ARG_UNUSED(unused);
	steps(name, (int)(intptr_t)n);
	printk("T=%ld %s done\n", T(), (const char *)name);
}

/* Phase 5: two steps, then a new slice size from inside the slice. */
static void setter(void *name, void *n, void *unused)
{
	ARG_UNUSED(unused);
	steps(name, 2);
	k_sched_time_slice_set(35, 0);
	printk("T=%ld %s set the slice to 35 ms\n", T(), (const char *)name);
	steps(name, (int)(intptr_t)n);
	printk("T=%ld %s done\n", T(), (const char *)name);
}

/* Phase 6: sleeps, then preempts the workers for three steps. */
static void urgent(void *name, void *sleep, void *unused)
{
	ARG_UNUSED(unused);
	k_sleep(K_TICKS((int)(intptr_t)sleep));
	steps(name, 3);
	printk("T=%ld %s done\n", T(), (const char *)name);
}

/* Phase 7: two steps, a one-tick sleep, then more steps. */
static void sleeper(void *name, void *n, void *unused)
{
	ARG_UNUSED(unused);
	steps(name, 2);
	printk("T=%ld %s sleeps\n", T(), (const char *)name);
	k_sleep(K_TICKS(1));
	printk("T=%ld %s woke\n", T(), (const char *)name);
	steps(name, (int)(intptr_t)n);
	printk("T=%ld %s done\n", T(), (const char *)name);
}

/* Phase 8: 2n steps under k_sched_lock, then 2n more. */
static void locker(void *name, void *n, void *unused)
{
	ARG_UNUSED(unused);
	k_sched_lock();
	steps(name, 2 * (int)(intptr_t)n);
	k_sched_unlock();
	printk("T=%ld %s unlocked\n", T(), (const char *)name);
	steps(name, 2 * (int)(intptr_t)n);
	printk("T=%ld %s done\n", T(), (const char *)name);
}

/* Phase 9: H waits for this semaphore; A gives it with interrupts locked. */
static K_SEM_DEFINE(wake, 0, 1);

/* Phase 11: C waits for `wake2`; nobody waits for `spare`. */
static K_SEM_DEFINE(wake2, 0, 1);
static K_SEM_DEFINE(spare, 0, 1);

/* Waits for sem, then n steps. */
static void wait_then_steps(struct k_sem *sem, const char *name, int n)
{
	k_sem_take(sem, K_FOREVER);
	steps(name, n);
	printk("T=%ld %s done\n", T(), name);
}

/* Phases 9 and 11: waits for `wake`, then n steps. */
static void waiter(void *name, void *n, void *unused)
{
	ARG_UNUSED(unused);
	wait_then_steps(&wake, name, (int)(intptr_t)n);
}

/* Phase 11: waits for `wake2`, then n steps. */
static void waiter2(void *name, void *n, void *unused)
{
	ARG_UNUSED(unused);
	wait_then_steps(&wake2, name, (int)(intptr_t)n);
}

/* Gives sem with interrupts locked. */
static void give_locked(struct k_sem *sem)
{
	unsigned int key = irq_lock();

	k_sem_give(sem);
	irq_unlock(key);
}

/* Phase 11: gives `wake` (tick 1), `wake2` (tick 2) and `spare` (tick 3) with interrupts
 * locked, then n steps.
 */
static void locked_giver3(void *name, void *n, void *unused)
{
	ARG_UNUSED(unused);
	steps(name, 2);
	give_locked(&wake);
	printk("T=%ld %s gave H's semaphore\n", T(), (const char *)name);
	steps(name, 1);
	give_locked(&wake2);
	printk("T=%ld %s gave C's semaphore\n", T(), (const char *)name);
	steps(name, 2);
	give_locked(&spare);
	printk("T=%ld %s gave a semaphore nobody waits on\n", T(), (const char *)name);
	steps(name, (int)(intptr_t)n);
	printk("T=%ld %s done\n", T(), (const char *)name);
}

/* Phase 9: two steps, gives `wake` with interrupts locked, then n steps. */
static void locked_giver(void *name, void *n, void *unused)
{
	ARG_UNUSED(unused);
	steps(name, 2);

	unsigned int key = irq_lock();

	k_sem_give(&wake);
	irq_unlock(key);
	printk("T=%ld %s gave with interrupts locked\n", T(), (const char *)name);
	steps(name, (int)(intptr_t)n);
	printk("T=%ld %s done\n", T(), (const char *)name);
}

/* Phase 10: started mid-slice by `timer_starter`. */
static K_TIMER_DEFINE(late_timer, NULL, NULL);

/* Phase 10: five steps, a timer ending one tick before the slice's length, then n steps. */
static void timer_starter(void *name, void *n, void *unused)
{
	ARG_UNUSED(unused);
	steps(name, 5);
	k_timer_start(&late_timer, K_TICKS(slice_ticks(35) - 1), K_NO_WAIT);
	printk("T=%ld %s started the timer\n", T(), (const char *)name);
	steps(name, (int)(intptr_t)n);
	printk("T=%ld %s done\n", T(), (const char *)name);
}

static void start(int i, k_thread_entry_t entry, const char *name, int arg, int prio)
{
	k_thread_create(&threads[i], stacks[i], K_THREAD_STACK_SIZEOF(stacks[i]), entry,
			(void *)name, (void *)(intptr_t)arg, NULL, prio, 0, K_NO_WAIT);
}

/* Waits for the next tick boundary and starts a phase there. */
static void phase(const char *name)
{
	k_sleep(K_TICKS(1));
	t0 = k_uptime_ticks();
	last = NULL;
	printk("== %s\n", name);
}

static void join(int n)
{
	for (int i = 0; i < n; i++) {
		k_thread_join(&threads[i], K_FOREVER);
	}
}

void main(void)
{
	int s = slice_ticks(2);
	int s35 = slice_ticks(35);

	printk("slice %d ticks, 35 ms = %d ticks\n", s, s35);

	phase("1 rotate");
	start(0, worker, "A", 3 * s, 5);
	start(1, worker, "B", 3 * s, 5);
	start(2, worker, "C", 3 * s, 5);
	join(3);

	phase("2 coop");
	start(0, worker, "X", 3 * s, -2);
	start(1, worker, "Y", 3 * s, -2);
	join(2);

	phase("3 ceiling");
	k_sched_time_slice_set(2, 6);
	start(0, worker, "P", 3 * s, 5);
	start(1, worker, "Q", 3 * s, 5);
	join(2);
	k_sched_time_slice_set(2, 0);

	phase("4 alone");
	start(0, worker, "L", 3 * s, 5);
	start(1, worker, "M", 1, 6);
	join(2);

	phase("5 set");
	start(0, setter, "A", 2 * s35, 5);
	start(1, worker, "B", s35, 5);
	join(2);

	phase("6 preempted");
	start(0, worker, "A", 2 * s35, 5);
	start(1, worker, "B", s35, 5);
	start(2, urgent, "H", s35 / 2 - 1, 3);
	join(3);

	phase("7 blocked");
	start(0, sleeper, "A", s35, 5);
	start(1, worker, "B", 2 * s35, 5);
	join(2);

	phase("8 locked");
	k_sched_time_slice_set(2, 0);
	start(0, locker, "A", s, 5);
	start(1, worker, "B", 1, 5);
	join(2);

	phase("9 irq-locked");
	start(0, waiter, "H", 3, 3);
	start(1, locked_giver, "A", 2 * s, 5);
	start(2, worker, "B", 2 * s, 5);
	join(3);

	phase("10 late");
	k_sched_time_slice_set(35, 0);
	start(0, timer_starter, "A", 2 * s35, 5);
	start(1, worker, "B", s35, 5);
	join(2);
	k_sched_time_slice_set(2, 0);

	phase("11 irq-locked again");
	k_sched_time_slice_set(35, 0);
	start(0, waiter, "H", 3, 3);
	start(1, waiter2, "C", 1, 4);
	start(2, locked_giver3, "A", 2 * s35, 5);
	join(3);
	k_sched_time_slice_set(2, 0);

	printk("done\n");
}
