/*
 * Kernel rules the simulator reproduces, checked on a real Zephyr kernel: the same steps run on
 * the simulator in crates/zephyr-sim/tests/work_poll.rs
 * (kernel_rules_of_triggered_work_and_queue_start_match_the_real_kernel), and both must print
 * expected.txt. scripts/zephyr-test.sh builds this for native_posix_64 and compares.
 *
 * 1. A give from a preemptible thread submits triggered work through k_work_submit_to_queue,
 *    which yields (kernel/work.c) before signal_poll_event marks the event ready
 *    (kernel/poll.c): a more urgent queue runs the handler inside the give, event NOT_READY.
 * 2. That yield also hands the CPU to a queue of the giver's own priority.
 * 3. poller->is_polling = false runs after the yield, so work submitted again by its handler
 *    inside it misses its next event; its timeout still fires.
 * 4. k_work_queue_start initialises the queue: a zeroed, never-initialised queue starts.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <kernel.h>
#include <sys/printk.h>

#define T() ((long)k_uptime_ticks())
static K_THREAD_STACK_DEFINE(qstack, 2048);
static K_THREAD_STACK_DEFINE(qstack2, 2048);
static struct k_work_q q, q2;
static struct k_work_q zq; /* zeroed, never k_work_queue_init-ed */
static K_THREAD_STACK_DEFINE(zstack, 2048);
static struct k_sem s;
static struct k_poll_event ev[1];
static struct k_work_poll tw;
static int again;
static struct k_work zw;

static void h1(struct k_work *w) {
	struct k_work_poll *t = CONTAINER_OF(w, struct k_work_poll, work);
	printk("T=%ld handler on %s: poll_result %d, state %u\n", T(), k_thread_name_get(k_current_get()), t->poll_result, ev[0].state);
	if (again) {
		again = 0;
		k_sem_take(&s, K_NO_WAIT);
		int r = k_work_poll_submit_to_queue(&q, &tw, ev, 1, K_TIMEOUT_ABS_TICKS(50));
		printk("T=%ld resubmitted: %d\n", T(), r);
	}
}
static void zh(struct k_work *w) { printk("T=%ld zero queue ran on %s\n", T(), k_thread_name_get(k_current_get())); }

void main(void)
{
	struct k_work_queue_config cfg = { .name = "wq", .no_yield = false };
	struct k_work_queue_config cfg2 = { .name = "wq5", .no_yield = false };
	k_work_queue_init(&q);
	k_work_queue_start(&q, qstack, K_THREAD_STACK_SIZEOF(qstack), 3, &cfg);
	k_work_queue_init(&q2);
	k_work_queue_start(&q2, qstack2, K_THREAD_STACK_SIZEOF(qstack2), 5, &cfg2);
	k_sem_init(&s, 0, 5);

	/* 1: preemptible giver, more urgent queue */
	k_poll_event_init(&ev[0], K_POLL_TYPE_SEM_AVAILABLE, K_POLL_MODE_NOTIFY_ONLY, &s);
	k_work_poll_init(&tw, h1);
	k_work_poll_submit_to_queue(&q, &tw, ev, 1, K_FOREVER);
	k_sem_give(&s);
	printk("T=%ld s1 giver after give, state %u\n", T(), ev[0].state);
	k_sem_take(&s, K_NO_WAIT);

	/* 2: equal-priority queue */
	k_poll_event_init(&ev[0], K_POLL_TYPE_SEM_AVAILABLE, K_POLL_MODE_NOTIFY_ONLY, &s);
	k_work_poll_submit_to_queue(&q2, &tw, ev, 1, K_FOREVER);
	k_sem_give(&s);
	printk("T=%ld s2 giver after give, state %u\n", T(), ev[0].state);
	k_sem_take(&s, K_NO_WAIT);
	k_msleep(1);

	/* 3: resubmit inside the yield */
	k_poll_event_init(&ev[0], K_POLL_TYPE_SEM_AVAILABLE, K_POLL_MODE_NOTIFY_ONLY, &s);
	again = 1;
	k_work_poll_submit_to_queue(&q, &tw, ev, 1, K_FOREVER);
	k_sem_give(&s);
	printk("T=%ld s3 after give, is_polling %d, count %u\n", T(), tw.poller.is_polling, k_sem_count_get(&s));
	k_sleep(K_TIMEOUT_ABS_TICKS(30));
	k_sem_give(&s);
	printk("T=%ld s3 second give, count %u\n", T(), k_sem_count_get(&s));
	k_sleep(K_TIMEOUT_ABS_TICKS(100));

	/* 4: zeroed queue */
	k_work_queue_start(&zq, zstack, K_THREAD_STACK_SIZEOF(zstack), 3, NULL);
	k_work_init(&zw, zh);
	int r = k_work_submit_to_queue(&zq, &zw);
	printk("T=%ld zero queue submitted: %d\n", T(), r);
	printk("done\n");
}
