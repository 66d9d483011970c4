/*
 * k_mbox_async_put's rules (kernel/mailbox.c, Zephyr 2.7) checked on a real Zephyr kernel: the
 * same steps run on the simulator in crates/zephyr-sim/tests/mbox.rs
 * (async_mailbox_rules_match_the_real_kernel), and both must print expected.txt.
 * scripts/zephyr-test.sh builds this for native_posix_64 and compares. main runs at priority 5;
 * every line carries the uptime in ticks (10 kHz).
 *
 * a. An asynchronous put returns at once; the receiver's k_mbox_get with a buffer takes the
 *    data and gives the semaphore (a more urgent thread waiting on it runs inside that get).
 * b. A get with a NULL buffer keeps the message: the semaphore is given only at
 *    k_mbox_data_get (a NULL buffer there discards the data); a message with no data is
 *    disposed of in the get.
 * c. An asynchronous put to a waiting receiver: a more urgent receiver runs inside the put, one
 *    of the sender's priority or less urgent after the sender blocks.
 * d. Asynchronous messages wait at their sender's priority: received most urgent first, then
 *    in order of sending.
 * e. With all CONFIG_NUM_MBOX_ASYNC_MSGS (10) descriptors in flight, the 11th put waits until a
 *    message is consumed; the freed descriptor is handed to it before the semaphore is given.
 * f. The kernel sends a copy of the caller's descriptor: its size and info are never updated
 *    (a synchronous sender's are: it gets the receiver's info and the size taken).
 * g. An ISR may put asynchronously; the receiver it readies runs when the ISR returns. The
 *    message's sender is the interrupted thread, and it waits at that thread's priority.
 * h. Asynchronous messages are matched like synchronous ones: a receiver skips a message
 *    targeted at another thread, and one accepting only main skips other senders' messages.
 *    An ISR may also receive: its get frees the descriptor and gives the semaphore, and the
 *    threads they ready run, most urgent first, when it returns.
 * i. A cooperative sender is not preempted by the more urgent receiver its put readies: the
 *    receiver runs at the sender's k_yield.
 *
 * Results print as "0" or "-ENOMSG" (native_posix builds with the host's errno values).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <kernel.h>
#include <sys/printk.h>
#include <string.h>

#define T() ((long)k_uptime_ticks())
#define NTHREADS 24
static K_THREAD_STACK_ARRAY_DEFINE(stacks, NTHREADS, 2048);
static struct k_thread threads[NTHREADS];
static int nthreads;
static struct k_mbox mb;
static struct k_sem sa, sb, sc, se, sg;
static k_tid_t main_tid;

/* A result as the simulator prints it: errno names, not the host's numbers. */
static const char *res(int r)
{
	static char text[16];

	if (r == -ENOMSG) {
		return "-ENOMSG";
	}
	snprintk(text, sizeof(text), "%d", r);
	return text;
}

static k_tid_t spawn(k_thread_entry_t fn, int prio, void *arg)
{
	int i = nthreads++;

	if (i >= NTHREADS) {
		printk("spawn: more than NTHREADS threads\n");
		k_panic();
	}
	return k_thread_create(&threads[i], stacks[i], K_THREAD_STACK_SIZEOF(stacks[i]), fn, arg,
			(void *)(long)prio, NULL, prio, 0, K_NO_WAIT);
}

static void tx_init(struct k_mbox_msg *m, const char *data, uint32_t info)
{
	memset(m, 0, sizeof(*m));
	m->size = strlen(data);
	m->tx_data = (void *)data;
	m->info = info;
	m->tx_target_thread = K_ANY;
}

static void rx_init(struct k_mbox_msg *m, size_t size, uint32_t info)
{
	memset(m, 0, sizeof(*m));
	m->size = size;
	m->info = info;
	m->rx_source_thread = K_ANY;
}

/* a: a less urgent receiver with a 2-byte buffer */
static struct k_mbox_msg atx;
static void a_rx(void *p1, void *p2, void *p3)
{
	struct k_mbox_msg rx;
	char buf[8] = { 0 };

	rx_init(&rx, 2, 22);
	int r = k_mbox_get(&mb, &rx, buf, K_FOREVER);
	printk("T=%ld a rx got %d \"%s\" size %u info %u from main %d, sem %u\n", T(), r, buf,
	       (unsigned)rx.size, rx.info, rx.rx_source_thread == main_tid, k_sem_count_get(&sa));
}

/* b: a more urgent receiver without a buffer */
static struct k_mbox_msg btx[3];
static void b_rx(void *p1, void *p2, void *p3)
{
	struct k_mbox_msg rx;
	char buf[8] = { 0 };

	rx_init(&rx, 8, 0);
	int r = k_mbox_get(&mb, &rx, NULL, K_FOREVER);
	printk("T=%ld b rx got %d size %u info %u, sem %u\n", T(), r, (unsigned)rx.size, rx.info,
	       k_sem_count_get(&sb));
	k_sleep(K_TICKS(5));
	printk("T=%ld b rx before data_get, sem %u\n", T(), k_sem_count_get(&sb));
	k_mbox_data_get(&rx, buf);
	printk("T=%ld b rx data_get \"%s\", sem %u\n", T(), buf, k_sem_count_get(&sb));

	rx_init(&rx, 8, 0);
	r = k_mbox_get(&mb, &rx, NULL, K_FOREVER);
	printk("T=%ld b rx got empty %d size %u info %u, sem %u\n", T(), r, (unsigned)rx.size,
	       rx.info, k_sem_count_get(&sb));

	rx_init(&rx, 8, 0);
	r = k_mbox_get(&mb, &rx, NULL, K_FOREVER);
	printk("T=%ld b rx got %d size %u info %u, sem %u\n", T(), r, (unsigned)rx.size, rx.info,
	       k_sem_count_get(&sb));
	k_mbox_data_get(&rx, NULL);
	printk("T=%ld b rx discarded, size %u, sem %u\n", T(), (unsigned)rx.size,
	       k_sem_count_get(&sb));
}

/* c: receivers waiting before the puts */
static struct k_mbox_msg ctx[3];
static void c_rx(void *p1, void *p2, void *p3)
{
	struct k_mbox_msg rx;
	char buf[8] = { 0 };

	rx_init(&rx, 8, 0);
	int r = k_mbox_get(&mb, &rx, buf, K_FOREVER);
	printk("T=%ld c rx prio %ld got %d \"%s\" info %u, sem %u\n", T(), (long)p2, r, buf,
	       rx.info, k_sem_count_get(&sc));
}

/* d: asynchronous senders of several priorities; p1 is the message's info */
static struct k_mbox_msg dtx[8];
static int ndtx;
static void d_tx(void *p1, void *p2, void *p3)
{
	struct k_mbox_msg *m = &dtx[ndtx++];

	tx_init(m, "d", (uint32_t)(long)p1);
	k_mbox_async_put(&mb, m, NULL);
	printk("T=%ld d sender prio %ld put %u returned\n", T(), (long)p2, m->info);
}

/* d: a synchronous sender among them */
static void d_sync_tx(void *p1, void *p2, void *p3)
{
	static struct k_mbox_msg m;

	tx_init(&m, "sync", 62);
	int r = k_mbox_put(&mb, &m, K_FOREVER);
	printk("T=%ld d sync sender prio %ld put %s, its size %u info %u\n", T(), (long)p2, res(r),
	       (unsigned)m.size, m.info);
}

/* e: the 11th and 12th senders, and threads waiting on the semaphore */
static struct k_mbox_msg etx[12];
static void e_tx(void *p1, void *p2, void *p3)
{
	struct k_mbox_msg *m = p1;

	printk("T=%ld e sender prio %ld puts %u\n", T(), (long)p2, m->info);
	k_mbox_async_put(&mb, m, &se);
	printk("T=%ld e sender prio %ld put returned, sem %u\n", T(), (long)p2,
	       k_sem_count_get(&se));
}
static void e_waiter(void *p1, void *p2, void *p3)
{
	k_sem_take(&se, K_FOREVER);
	printk("T=%ld e sem waiter prio %ld took the sem\n", T(), (long)p2);
}

/* g: an asynchronous put from the system clock ISR */
static struct k_timer gt;
static struct k_mbox_msg gtx;
static void g_expiry(struct k_timer *t)
{
	tx_init(&gtx, "irq", 7);
	k_mbox_async_put(&mb, &gtx, &sg);
	printk("T=%ld g isr put returned, sem %u\n", T(), k_sem_count_get(&sg));
}

/* g: an ISR interrupting a thread's busy wait */
static struct k_timer gt2;
static struct k_mbox_msg g2tx;
static k_tid_t g2_busy_tid;
static void g2_expiry(struct k_timer *t)
{
	tx_init(&g2tx, "isr2", 96);
	k_mbox_async_put(&mb, &g2tx, NULL);
	printk("T=%ld g isr put 96 returned\n", T());
}
static void g2_busy(void *p1, void *p2, void *p3)
{
	printk("T=%ld g busy thread prio %ld busy-waits\n", T(), (long)p2);
	k_busy_wait(500);
	printk("T=%ld g busy thread done\n", T());
}

/* g: an ISR consuming a message, with a sender waiting for a descriptor and a semaphore waiter */
static struct k_timer gt3;
static struct k_sem sj;
static struct k_mbox_msg jtx[11];
static void g3_expiry(struct k_timer *t)
{
	struct k_mbox_msg rx;
	char buf[8] = { 0 };

	rx_init(&rx, 8, 0);
	int r = k_mbox_get(&mb, &rx, buf, K_NO_WAIT);
	printk("T=%ld g isr got %s \"%s\" info %u, sem %u\n", T(), res(r), buf, rx.info,
	       k_sem_count_get(&sj));
}
static void g3_tx(void *p1, void *p2, void *p3)
{
	k_mbox_async_put(&mb, &jtx[10], &sj);
	printk("T=%ld g sender prio %ld put returned, sem %u\n", T(), (long)p2,
	       k_sem_count_get(&sj));
}
static void g3_waiter(void *p1, void *p2, void *p3)
{
	k_sem_take(&sj, K_FOREVER);
	printk("T=%ld g sem waiter prio %ld took the sem\n", T(), (long)p2);
}

/* h: a receiver targeted by main, then accepting only main; another sender */
static struct k_mbox_msg htx[5];
static void h_rx(void *p1, void *p2, void *p3)
{
	struct k_mbox_msg rx;
	char buf[8] = { 0 };

	rx_init(&rx, 8, 0);
	int r = k_mbox_get(&mb, &rx, buf, K_FOREVER);
	printk("T=%ld h target got %s \"%s\" info %u\n", T(), res(r), buf, rx.info);
	rx_init(&rx, 8, 0);
	rx.rx_source_thread = main_tid;
	memset(buf, 0, sizeof(buf));
	r = k_mbox_get(&mb, &rx, buf, K_FOREVER);
	printk("T=%ld h target, from main only, got %s \"%s\" info %u from main %d\n", T(), res(r),
	       buf, rx.info, rx.rx_source_thread == main_tid);
}
static void h_other(void *p1, void *p2, void *p3)
{
	struct k_mbox_msg *m = p1;

	k_mbox_async_put(&mb, m, NULL);
	printk("T=%ld h other sender put %u returned\n", T(), m->info);
}

/* i: a cooperative sender and a more urgent cooperative receiver */
static struct k_mbox_msg itx;
static void i_rx(void *p1, void *p2, void *p3)
{
	struct k_mbox_msg rx;
	char buf[8] = { 0 };

	rx_init(&rx, 8, 0);
	int r = k_mbox_get(&mb, &rx, buf, K_FOREVER);
	printk("T=%ld i rx prio %ld got %s \"%s\"\n", T(), (long)p2, res(r), buf);
}
static void i_tx(void *p1, void *p2, void *p3)
{
	tx_init(&itx, "coop", 91);
	k_mbox_async_put(&mb, &itx, NULL);
	printk("T=%ld i sender prio %ld put returned\n", T(), (long)p2);
	k_yield();
	printk("T=%ld i sender prio %ld after k_yield\n", T(), (long)p2);
}

/* Receives one message at once into a buffer; returns k_mbox_get's result. */
static int get_now(struct k_mbox_msg *rx, char *buf)
{
	rx_init(rx, 8, 99);
	memset(buf, 0, 9);
	return k_mbox_get(&mb, rx, buf, K_NO_WAIT);
}

void main(void)
{
	struct k_mbox_msg rx;
	char buf[9];
	int r;

	main_tid = k_current_get();
	k_mbox_init(&mb);
	k_sem_init(&sa, 0, 10);
	k_sem_init(&sb, 0, 10);
	k_sem_init(&sc, 0, 10);
	k_sem_init(&se, 0, 20);

	/* a, f */
	tx_init(&atx, "abc", 11);
	k_mbox_async_put(&mb, &atx, &sa);
	printk("T=%ld a put returned, sem %u\n", T(), k_sem_count_get(&sa));
	spawn(a_rx, 7, NULL);
	k_sem_take(&sa, K_FOREVER);
	printk("T=%ld a sem taken; caller's tx_msg size %u info %u\n", T(), (unsigned)atx.size,
	       atx.info);

	/* b, f */
	k_sleep(K_TIMEOUT_ABS_TICKS(10));
	tx_init(&btx[0], "xyz", 31);
	k_mbox_async_put(&mb, &btx[0], &sb);
	tx_init(&btx[1], "", 32);
	k_mbox_async_put(&mb, &btx[1], &sb);
	tx_init(&btx[2], "discard", 33);
	k_mbox_async_put(&mb, &btx[2], &sb);
	printk("T=%ld b puts returned, sem %u\n", T(), k_sem_count_get(&sb));
	spawn(b_rx, 4, NULL);
	printk("T=%ld b main after spawn, sem %u\n", T(), k_sem_count_get(&sb));
	k_sleep(K_TIMEOUT_ABS_TICKS(30));
	printk("T=%ld b sem %u; caller's sizes %u %u %u, infos %u %u %u\n", T(),
	       k_sem_count_get(&sb), (unsigned)btx[0].size, (unsigned)btx[1].size,
	       (unsigned)btx[2].size, btx[0].info, btx[1].info, btx[2].info);

	/* c */
	k_sleep(K_TIMEOUT_ABS_TICKS(40));
	spawn(c_rx, 3, NULL);
	spawn(c_rx, 5, NULL);
	spawn(c_rx, 7, NULL);
	printk("T=%ld c receivers spawned\n", T());
	k_sleep(K_TIMEOUT_ABS_TICKS(41));
	tx_init(&ctx[0], "one", 41);
	k_mbox_async_put(&mb, &ctx[0], &sc);
	printk("T=%ld c put 1 returned, sem %u\n", T(), k_sem_count_get(&sc));
	tx_init(&ctx[1], "two", 42);
	k_mbox_async_put(&mb, &ctx[1], &sc);
	printk("T=%ld c put 2 returned, sem %u\n", T(), k_sem_count_get(&sc));
	tx_init(&ctx[2], "three", 43);
	k_mbox_async_put(&mb, &ctx[2], &sc);
	printk("T=%ld c put 3 returned, sem %u\n", T(), k_sem_count_get(&sc));
	k_sleep(K_TIMEOUT_ABS_TICKS(50));
	printk("T=%ld c sem %u\n", T(), k_sem_count_get(&sc));

	/* d */
	k_sleep(K_TIMEOUT_ABS_TICKS(60));
	tx_init(&dtx[ndtx], "d", 50);
	k_mbox_async_put(&mb, &dtx[ndtx++], NULL);
	spawn(d_tx, 6, (void *)60);
	spawn(d_tx, 8, (void *)80);
	spawn(d_tx, 4, (void *)40);
	spawn(d_tx, 6, (void *)61);
	spawn(d_sync_tx, 6, NULL);
	tx_init(&dtx[ndtx], "d", 51);
	k_mbox_async_put(&mb, &dtx[ndtx++], NULL);
	printk("T=%ld d main put 50 and 51\n", T());
	k_sleep(K_TIMEOUT_ABS_TICKS(61));
	while ((r = get_now(&rx, buf)) == 0) {
		printk("T=%ld d got info %u\n", T(), rx.info);
	}
	printk("T=%ld d then %s\n", T(), res(r));

	/* e: the freed descriptor goes to a more urgent blocked sender */
	k_sleep(K_TIMEOUT_ABS_TICKS(70));
	for (int i = 0; i < 10; i++) {
		static const char *digits[] = { "0", "1", "2", "3", "4",
						"5", "6", "7", "8", "9" };
		tx_init(&etx[i], digits[i], 70 + i);
		k_mbox_async_put(&mb, &etx[i], &se);
	}
	printk("T=%ld e 10 puts returned\n", T());
	tx_init(&etx[10], "A", 110);
	spawn(e_tx, 4, &etx[10]);
	printk("T=%ld e main after the prio 4 sender\n", T());
	k_sleep(K_TIMEOUT_ABS_TICKS(75));
	spawn(e_waiter, 2, NULL);
	r = get_now(&rx, buf);
	printk("T=%ld e main got %s \"%s\" info %u, sem %u\n", T(), res(r), buf, rx.info,
	       k_sem_count_get(&se));

	/* e: and to a less urgent one */
	tx_init(&etx[11], "B", 120);
	spawn(e_tx, 7, &etx[11]);
	spawn(e_waiter, 6, NULL);
	k_sleep(K_TIMEOUT_ABS_TICKS(80));
	r = get_now(&rx, buf);
	printk("T=%ld e main got %s \"%s\" info %u, sem %u\n", T(), res(r), buf, rx.info,
	       k_sem_count_get(&se));
	k_sleep(K_TIMEOUT_ABS_TICKS(90));
	while ((r = get_now(&rx, buf)) == 0) {
		printk("T=%ld e got \"%s\" info %u, sem %u\n", T(), buf, rx.info,
		       k_sem_count_get(&se));
	}
	printk("T=%ld e then %s; caller's info %u size %u\n", T(), res(r), etx[10].info,
	       (unsigned)etx[10].size);

	/* g */
	k_sleep(K_TIMEOUT_ABS_TICKS(100));
	k_sem_init(&sg, 0, 10);
	k_timer_init(&gt, g_expiry, NULL);
	k_timer_start(&gt, K_TICKS(5), K_NO_WAIT);
	memset(buf, 0, sizeof(buf));
	rx_init(&rx, 8, 0);
	r = k_mbox_get(&mb, &rx, buf, K_FOREVER);
	printk("T=%ld g main got %s \"%s\" info %u, sem %u\n", T(), res(r), buf, rx.info,
	       k_sem_count_get(&sg));

	/* h */
	k_sleep(K_TIMEOUT_ABS_TICKS(110));
	k_tid_t h = spawn(h_rx, 6, NULL);
	tx_init(&htx[0], "other", 83);
	spawn(h_other, 4, &htx[0]);
	tx_init(&htx[1], "to-h", 81);
	htx[1].tx_target_thread = h;
	k_mbox_async_put(&mb, &htx[1], NULL);
	tx_init(&htx[2], "any", 82);
	k_mbox_async_put(&mb, &htx[2], NULL);
	for (int i = 0; i < 3; i++) {
		r = get_now(&rx, buf);
		printk("T=%ld h main got %s \"%s\" info %u\n", T(), res(r), buf, rx.info);
	}
	k_sleep(K_TIMEOUT_ABS_TICKS(115));
	tx_init(&htx[3], "other2", 85);
	spawn(h_other, 4, &htx[3]);
	tx_init(&htx[4], "main", 86);
	k_mbox_async_put(&mb, &htx[4], NULL);
	printk("T=%ld h main put 86 returned\n", T());
	r = get_now(&rx, buf);
	printk("T=%ld h main got %s \"%s\" info %u\n", T(), res(r), buf, rx.info);
	k_sleep(K_TIMEOUT_ABS_TICKS(120));

	/* i */
	spawn(i_rx, -2, NULL);
	spawn(i_tx, -1, NULL);
	printk("T=%ld i main\n", T());

	/* g: an ISR's message waits at the interrupted thread's priority */
	k_sleep(K_TIMEOUT_ABS_TICKS(130));
	tx_init(&dtx[ndtx], "d", 95);
	k_mbox_async_put(&mb, &dtx[ndtx++], NULL);
	spawn(d_tx, 7, (void *)97);
	k_timer_init(&gt2, g2_expiry, NULL);
	k_timer_start(&gt2, K_TICKS(3), K_NO_WAIT);
	g2_busy_tid = spawn(g2_busy, 6, NULL);
	k_sleep(K_TIMEOUT_ABS_TICKS(140));
	while ((r = get_now(&rx, buf)) == 0) {
		printk("T=%ld g got info %u from busy %d from main %d\n", T(), rx.info,
		       rx.rx_source_thread == g2_busy_tid, rx.rx_source_thread == main_tid);
	}

	/* g: an ISR receives while a sender waits for a descriptor and a thread for the sem */
	k_sleep(K_TIMEOUT_ABS_TICKS(150));
	k_sem_init(&sj, 0, 20);
	for (int i = 0; i < 11; i++) {
		tx_init(&jtx[i], "j", 150 + i);
	}
	for (int i = 0; i < 10; i++) {
		k_mbox_async_put(&mb, &jtx[i], &sj);
	}
	spawn(g3_tx, 4, NULL);
	spawn(g3_waiter, 3, NULL);
	k_timer_init(&gt3, g3_expiry, NULL);
	k_timer_start(&gt3, K_TICKS(3), K_NO_WAIT);
	printk("T=%ld g main waits\n", T());
	k_sleep(K_TIMEOUT_ABS_TICKS(160));
	while ((r = get_now(&rx, buf)) == 0) {
		printk("T=%ld g got info %u, sem %u\n", T(), rx.info, k_sem_count_get(&sj));
	}
	printk("done\n");
}
