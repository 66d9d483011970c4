/*
 * Real symbols for the kernel API that `zephyr-sys` declares.
 *
 * Much of Zephyr's API is `static inline` (every syscall when CONFIG_USERSPACE is off, and
 * helpers such as k_cycle_get_32) or a macro (irq_lock), so it has no symbol Rust could link
 * to. On real Zephyr, zephyr-sys links each function `name` to `zr_name` here, built with the
 * application's own headers and flags: each wrapper is the inline body or a tail call into the
 * kernel. Keep this list and zephyr-sys's `kernel_api!` declarations in step (a test in
 * crates/zephyr-sys checks the names and arity).
 */
#include "zr_kernel.h"

/* A wrapper returning a value: `ret zr_name(params) { return name(args); }`. */
#define ZR_FN(ret, name, params, args)                                                        \
	ret zr_##name params;                                                                  \
	ret zr_##name params                                                                   \
	{                                                                                      \
		return name args;                                                              \
	}
/* A wrapper returning nothing. */
#define ZR_VOID(name, params, args)                                                           \
	void zr_##name params;                                                                 \
	void zr_##name params                                                                  \
	{                                                                                      \
		name args;                                                                     \
	}

/* Threads (kernel/thread.c, kernel/sched.c). */
ZR_FN(k_tid_t, k_thread_create,
      (struct k_thread * t, k_thread_stack_t *stack, size_t size, k_thread_entry_t entry,
       void *p1, void *p2, void *p3, int prio, uint32_t options, k_timeout_t delay),
      (t, stack, size, entry, p1, p2, p3, prio, options, delay))
ZR_VOID(k_thread_start, (k_tid_t t), (t))
ZR_FN(int, k_thread_join, (struct k_thread * t, k_timeout_t timeout), (t, timeout))
ZR_VOID(k_thread_abort, (k_tid_t t), (t))
ZR_FN(int32_t, k_sleep, (k_timeout_t timeout), (timeout))
ZR_FN(int32_t, k_usleep, (int32_t us), (us))
ZR_VOID(k_busy_wait, (uint32_t us), (us))
ZR_VOID(k_yield, (void), ())
ZR_VOID(k_wakeup, (k_tid_t t), (t))
ZR_FN(k_tid_t, k_current_get, (void), ())
ZR_VOID(k_thread_suspend, (k_tid_t t), (t))
ZR_VOID(k_thread_resume, (k_tid_t t), (t))
ZR_FN(int, k_thread_priority_get, (k_tid_t t), (t))
ZR_VOID(k_thread_priority_set, (k_tid_t t, int prio), (t, prio))
ZR_FN(int, k_thread_name_set, (k_tid_t t, const char *name), (t, name))
ZR_FN(const char *, k_thread_name_get, (k_tid_t t), (t))
ZR_FN(bool, k_is_in_isr, (void), ())
ZR_VOID(k_sched_lock, (void), ())
ZR_VOID(k_sched_unlock, (void), ())
#ifdef CONFIG_TIMESLICING
ZR_VOID(k_sched_time_slice_set, (uint32_t slice, int prio), (slice, prio))
#endif

/* Semaphores (kernel/sem.c). */
ZR_FN(int, k_sem_init, (struct k_sem * sem, unsigned int initial, unsigned int limit),
      (sem, initial, limit))
ZR_FN(int, k_sem_take, (struct k_sem * sem, k_timeout_t timeout), (sem, timeout))
ZR_VOID(k_sem_give, (struct k_sem * sem), (sem))
ZR_VOID(k_sem_reset, (struct k_sem * sem), (sem))
ZR_FN(unsigned int, k_sem_count_get, (struct k_sem * sem), (sem))

/* Mutexes and condition variables (kernel/mutex.c, kernel/condvar.c). */
ZR_FN(int, k_mutex_init, (struct k_mutex * m), (m))
ZR_FN(int, k_mutex_lock, (struct k_mutex * m, k_timeout_t timeout), (m, timeout))
ZR_FN(int, k_mutex_unlock, (struct k_mutex * m), (m))
ZR_FN(int, k_condvar_init, (struct k_condvar * c), (c))
ZR_FN(int, k_condvar_signal, (struct k_condvar * c), (c))
ZR_FN(int, k_condvar_broadcast, (struct k_condvar * c), (c))
ZR_FN(int, k_condvar_wait, (struct k_condvar * c, struct k_mutex *m, k_timeout_t timeout),
      (c, m, timeout))

/* Timers (kernel/timer.c). */
ZR_VOID(k_timer_init, (struct k_timer * t, k_timer_expiry_t expiry, k_timer_stop_t stop),
	(t, expiry, stop))
ZR_VOID(k_timer_start, (struct k_timer * t, k_timeout_t duration, k_timeout_t period),
	(t, duration, period))
ZR_VOID(k_timer_stop, (struct k_timer * t), (t))
ZR_FN(uint32_t, k_timer_status_get, (struct k_timer * t), (t))
ZR_FN(uint32_t, k_timer_status_sync, (struct k_timer * t), (t))
ZR_FN(k_ticks_t, k_timer_remaining_ticks, (const struct k_timer *t), (t))
ZR_FN(k_ticks_t, k_timer_expires_ticks, (const struct k_timer *t), (t))
ZR_VOID(k_timer_user_data_set, (struct k_timer * t, void *data), (t, data))
ZR_FN(void *, k_timer_user_data_get, (const struct k_timer *t), (t))

/* Time. */
ZR_FN(int64_t, k_uptime_ticks, (void), ())
ZR_FN(uint32_t, k_cycle_get_32, (void), ())
ZR_FN(int, sys_clock_hw_cycles_per_sec, (void), ())

uint64_t zr_k_cycle_get_64(void);
uint64_t zr_k_cycle_get_64(void)
{
#if defined(CONFIG_TIMER_HAS_64BIT_CYCLE_COUNTER) && KERNEL_VERSION_NUMBER >= 0x030100
	return k_cycle_get_64();
#else
	/*
	 * Zephyr before 3.1 has no k_cycle_get_64: extend the 32-bit counter, counting its
	 * wraps. Correct while it is read at least once per wrap period (2^32 cycles: 358 s at
	 * 12 MHz).
	 */
	static uint32_t last, high;
	unsigned int key = irq_lock();
	uint32_t now = k_cycle_get_32();

	if (now < last) {
		high++;
	}
	last = now;
	uint64_t value = ((uint64_t)high << 32) | now;

	irq_unlock(key);
	return value;
#endif
}

/* Interrupts: macros and inline functions (include/irq.h, arch headers). */
unsigned int zr_irq_lock(void);
unsigned int zr_irq_lock(void)
{
	return irq_lock();
}
void zr_irq_unlock(unsigned int key);
void zr_irq_unlock(unsigned int key)
{
	irq_unlock(key);
}
ZR_FN(bool, arch_irq_unlocked, (unsigned int key), (key))

/*
 * Interrupt lines (include/irq.h). irq_connect_dynamic exists with CONFIG_DYNAMIC_INTERRUPTS
 * only: without it zr_irq_connect_dynamic is missing and an application that uses it fails to
 * link naming it. irq_enable, irq_disable and irq_is_enabled are macros for arch_irq_*.
 */
#ifdef CONFIG_DYNAMIC_INTERRUPTS
typedef void (*zr_irq_routine_t)(const void *parameter);
ZR_FN(int, irq_connect_dynamic,
      (unsigned int irq, unsigned int priority, zr_irq_routine_t routine, const void *parameter,
       uint32_t flags),
      (irq, priority, routine, parameter, flags))
#endif
ZR_VOID(irq_enable, (unsigned int irq), (irq))
ZR_VOID(irq_disable, (unsigned int irq), (irq))
ZR_FN(int, irq_is_enabled, (unsigned int irq), (irq))

/*
 * Extension zr_irq_pend: sets an interrupt line pending from software. Cortex-M: the NVIC's
 * set-pending register (CMSIS NVIC_SetPendingIRQ). native_posix: posix_sw_set_pending_IRQ
 * (boards/posix/native_posix/irq_handler.c), which interrupts at once if the line is enabled,
 * unlocked and more urgent than what runs. Other architectures: not provided, so that an
 * application using it fails to link naming zr_irq_pend.
 */
#if defined(CONFIG_CPU_CORTEX_M)
/* CMSIS (NVIC_SetPendingIRQ): <cmsis_core.h> since Zephyr 3.6, the arch header before. */
#if defined(__has_include) && __has_include(<cmsis_core.h>)
#include <cmsis_core.h>
#elif defined(ZR_HAVE_ZEPHYR_PREFIX)
#include <zephyr/arch/arm/aarch32/cortex_m/cmsis.h>
#else
#include <arch/arm/aarch32/cortex_m/cmsis.h>
#endif
void zr_irq_pend(unsigned int irq);
void zr_irq_pend(unsigned int irq)
{
	NVIC_SetPendingIRQ((IRQn_Type)irq);
}
#elif defined(CONFIG_BOARD_NATIVE_POSIX)
/* arch/posix/CMakeLists.txt puts the board directory on every source's include path. */
#include "irq_handler.h"
void zr_irq_pend(unsigned int irq);
void zr_irq_pend(unsigned int irq)
{
	posix_sw_set_pending_IRQ(irq);
}
#endif

/* Console: what printk ends in. */
void zr_k_str_out(char *c, size_t n);
void zr_k_str_out(char *c, size_t n)
{
	printk("%.*s", (int)n, c);
}

/* Work queues (kernel/work.c). */
ZR_VOID(k_work_queue_init, (struct k_work_q * q), (q))
ZR_VOID(k_work_queue_start,
	(struct k_work_q * q, k_thread_stack_t *stack, size_t size, int prio,
	 const struct k_work_queue_config *cfg),
	(q, stack, size, prio, cfg))
ZR_FN(k_tid_t, k_work_queue_thread_get, (struct k_work_q * q), (q))
ZR_VOID(k_work_init, (struct k_work * w, k_work_handler_t handler), (w, handler))
ZR_FN(int, k_work_submit_to_queue, (struct k_work_q * q, struct k_work *w), (q, w))
ZR_FN(int, k_work_submit, (struct k_work * w), (w))
ZR_FN(int, k_work_busy_get, (const struct k_work *w), (w))
ZR_FN(int, k_work_cancel, (struct k_work * w), (w))
ZR_FN(bool, k_work_cancel_sync, (struct k_work * w, struct k_work_sync *s), (w, s))
ZR_FN(bool, k_work_flush, (struct k_work * w, struct k_work_sync *s), (w, s))
ZR_VOID(k_work_init_delayable, (struct k_work_delayable * w, k_work_handler_t handler),
	(w, handler))
ZR_FN(int, k_work_schedule_for_queue,
      (struct k_work_q * q, struct k_work_delayable *w, k_timeout_t delay), (q, w, delay))
ZR_FN(int, k_work_schedule, (struct k_work_delayable * w, k_timeout_t delay), (w, delay))
ZR_FN(int, k_work_reschedule_for_queue,
      (struct k_work_q * q, struct k_work_delayable *w, k_timeout_t delay), (q, w, delay))
ZR_FN(int, k_work_reschedule, (struct k_work_delayable * w, k_timeout_t delay), (w, delay))
ZR_FN(int, k_work_cancel_delayable, (struct k_work_delayable * w), (w))
ZR_FN(bool, k_work_cancel_delayable_sync, (struct k_work_delayable * w, struct k_work_sync *s),
      (w, s))

/* Polling (kernel/poll.c). */
ZR_VOID(k_poll_event_init, (struct k_poll_event * e, uint32_t type, int mode, void *obj),
	(e, type, mode, obj))
ZR_FN(int, k_poll, (struct k_poll_event * e, int n, k_timeout_t timeout), (e, n, timeout))
ZR_VOID(k_poll_signal_init, (struct k_poll_signal * s), (s))
ZR_VOID(k_poll_signal_reset, (struct k_poll_signal * s), (s))
ZR_VOID(k_poll_signal_check, (struct k_poll_signal * s, unsigned int *signaled, int *result),
	(s, signaled, result))
ZR_FN(int, k_poll_signal_raise, (struct k_poll_signal * s, int result), (s, result))
ZR_VOID(k_work_poll_init, (struct k_work_poll * w, k_work_handler_t handler), (w, handler))
ZR_FN(int, k_work_poll_submit_to_queue,
      (struct k_work_q * q, struct k_work_poll *w, struct k_poll_event *e, int n,
       k_timeout_t timeout),
      (q, w, e, n, timeout))
ZR_FN(int, k_work_poll_submit,
      (struct k_work_poll * w, struct k_poll_event *e, int n, k_timeout_t timeout),
      (w, e, n, timeout))
ZR_FN(int, k_work_poll_cancel, (struct k_work_poll * w), (w))

/* Queues and message queues (kernel/queue.c, kernel/msg_q.c). */
ZR_VOID(k_queue_init, (struct k_queue * q), (q))
ZR_VOID(k_queue_append, (struct k_queue * q, void *data), (q, data))
ZR_VOID(k_queue_prepend, (struct k_queue * q, void *data), (q, data))
ZR_FN(void *, k_queue_get, (struct k_queue * q, k_timeout_t timeout), (q, timeout))
ZR_FN(int, k_queue_is_empty, (struct k_queue * q), (q))
ZR_FN(void *, k_queue_peek_head, (struct k_queue * q), (q))
ZR_VOID(k_queue_cancel_wait, (struct k_queue * q), (q))
ZR_VOID(k_msgq_init, (struct k_msgq * q, char *buffer, size_t msg_size, uint32_t max_msgs),
	(q, buffer, msg_size, max_msgs))
ZR_FN(int, k_msgq_put, (struct k_msgq * q, const void *data, k_timeout_t timeout),
      (q, data, timeout))
ZR_FN(int, k_msgq_get, (struct k_msgq * q, void *data, k_timeout_t timeout), (q, data, timeout))
ZR_FN(uint32_t, k_msgq_num_used_get, (struct k_msgq * q), (q))
ZR_FN(uint32_t, k_msgq_num_free_get, (struct k_msgq * q), (q))
ZR_VOID(k_msgq_purge, (struct k_msgq * q), (q))

/* The Rust runtime on Zephyr: fatal errors and the kernel heap. */
void zr_k_panic(void);
void zr_k_panic(void)
{
	k_panic();
	CODE_UNREACHABLE;
}

/* The system heap (kernel/mempool.c): only with CONFIG_HEAP_MEM_POOL_SIZE > 0 (without it
 * these wrappers are missing, and linking a use fails naming them). k_free exists always. */
#if defined(CONFIG_HEAP_MEM_POOL_SIZE) && CONFIG_HEAP_MEM_POOL_SIZE > 0
ZR_FN(void *, k_aligned_alloc, (size_t align, size_t size), (align, size))
ZR_FN(void *, k_malloc, (size_t size), (size))
ZR_FN(void *, k_calloc, (size_t nmemb, size_t size), (nmemb, size))
ZR_VOID(k_thread_system_pool_assign, (struct k_thread * t), (t))
#endif
ZR_VOID(k_free, (void *p), (p))
ZR_VOID(k_thread_heap_assign, (struct k_thread * t, struct k_heap *h), (t, h))

/* More of queues and message queues (kernel/queue.c, kernel/msg_q.c). */
ZR_FN(int, k_msgq_peek, (struct k_msgq * q, void *data), (q, data))
ZR_VOID(k_msgq_get_attrs, (struct k_msgq * q, struct k_msgq_attrs *attrs), (q, attrs))
ZR_VOID(k_queue_insert, (struct k_queue * q, void *prev, void *data), (q, prev, data))
ZR_FN(bool, k_queue_remove, (struct k_queue * q, void *data), (q, data))
ZR_FN(bool, k_queue_unique_append, (struct k_queue * q, void *data), (q, data))
ZR_FN(int32_t, k_queue_alloc_append, (struct k_queue * q, void *data), (q, data))
ZR_FN(int32_t, k_queue_alloc_prepend, (struct k_queue * q, void *data), (q, data))
ZR_FN(int, k_queue_append_list, (struct k_queue * q, void *head, void *tail), (q, head, tail))
ZR_FN(int, k_queue_merge_slist, (struct k_queue * q, sys_slist_t *list), (q, list))
ZR_FN(void *, k_queue_peek_tail, (struct k_queue * q), (q))

/* Stacks (kernel/stack.c). */
ZR_VOID(k_stack_init, (struct k_stack * s, stack_data_t *buffer, uint32_t n), (s, buffer, n))
ZR_FN(int32_t, k_stack_alloc_init, (struct k_stack * s, uint32_t n), (s, n))
ZR_FN(int, k_stack_cleanup, (struct k_stack * s), (s))
ZR_FN(int, k_stack_push, (struct k_stack * s, stack_data_t data), (s, data))
ZR_FN(int, k_stack_pop, (struct k_stack * s, stack_data_t *data, k_timeout_t timeout),
      (s, data, timeout))

/* Memory slabs (kernel/mem_slab.c; the counters are inline in kernel.h). */
ZR_FN(int, k_mem_slab_init, (struct k_mem_slab * s, void *buffer, size_t size, uint32_t n),
      (s, buffer, size, n))
ZR_FN(int, k_mem_slab_alloc, (struct k_mem_slab * s, void **mem, k_timeout_t timeout),
      (s, mem, timeout))
ZR_VOID(k_mem_slab_free, (struct k_mem_slab * s, void **mem), (s, mem))
ZR_FN(uint32_t, k_mem_slab_num_used_get, (struct k_mem_slab * s), (s))
ZR_FN(uint32_t, k_mem_slab_num_free_get, (struct k_mem_slab * s), (s))
ZR_FN(uint32_t, k_mem_slab_max_used_get, (struct k_mem_slab * s), (s))

/* Heaps (kernel/kheap.c). */
ZR_VOID(k_heap_init, (struct k_heap * h, void *mem, size_t bytes), (h, mem, bytes))
ZR_FN(void *, k_heap_aligned_alloc,
      (struct k_heap * h, size_t align, size_t bytes, k_timeout_t timeout),
      (h, align, bytes, timeout))
ZR_FN(void *, k_heap_alloc, (struct k_heap * h, size_t bytes, k_timeout_t timeout),
      (h, bytes, timeout))
ZR_VOID(k_heap_free, (struct k_heap * h, void *mem), (h, mem))

/* Earliest-deadline-first among equal priorities (kernel/sched.c): only with
 * CONFIG_SCHED_DEADLINE (without it this wrapper is missing and linking a use fails). */
#ifdef CONFIG_SCHED_DEADLINE
ZR_VOID(k_thread_deadline_set, (k_tid_t t, int deadline), (t, deadline))
#endif

/* Mailboxes (kernel/mailbox.c). */
ZR_VOID(k_mbox_init, (struct k_mbox * m), (m))
ZR_FN(int, k_mbox_put, (struct k_mbox * m, struct k_mbox_msg *tx, k_timeout_t timeout),
      (m, tx, timeout))
ZR_FN(int, k_mbox_get,
      (struct k_mbox * m, struct k_mbox_msg *rx, void *buffer, k_timeout_t timeout),
      (m, rx, buffer, timeout))
ZR_VOID(k_mbox_data_get, (struct k_mbox_msg * rx, void *buffer), (rx, buffer))
/* Only with CONFIG_NUM_MBOX_ASYNC_MSGS > 0 (kernel/mailbox.c:323): without it this wrapper is
 * missing and linking a use fails. */
#if defined(CONFIG_NUM_MBOX_ASYNC_MSGS) && CONFIG_NUM_MBOX_ASYNC_MSGS > 0
ZR_VOID(k_mbox_async_put, (struct k_mbox * m, struct k_mbox_msg *tx, struct k_sem *sem),
	(m, tx, sem))
#endif

/* Pipes (kernel/pipes.c). */
ZR_VOID(k_pipe_init, (struct k_pipe * p, unsigned char *buffer, size_t size), (p, buffer, size))
ZR_FN(int, k_pipe_alloc_init, (struct k_pipe * p, size_t size), (p, size))
ZR_FN(int, k_pipe_cleanup, (struct k_pipe * p), (p))
ZR_FN(int, k_pipe_put,
      (struct k_pipe * p, void *data, size_t bytes, size_t *written, size_t min_xfer,
       k_timeout_t timeout),
      (p, data, bytes, written, min_xfer, timeout))
ZR_FN(int, k_pipe_get,
      (struct k_pipe * p, void *data, size_t bytes, size_t *read, size_t min_xfer,
       k_timeout_t timeout),
      (p, data, bytes, read, min_xfer, timeout))
ZR_FN(size_t, k_pipe_read_avail, (struct k_pipe * p), (p))
ZR_FN(size_t, k_pipe_write_avail, (struct k_pipe * p), (p))

/* Devices and drivers (include/device.h, include/drivers/{gpio,uart,i2c}.h): static inline
 * functions and syscalls that call through the driver's API table. */
ZR_FN(bool, device_is_ready, (const struct device *dev), (dev))
ZR_FN(int, gpio_pin_configure, (const struct device *port, gpio_pin_t pin, gpio_flags_t flags),
      (port, pin, flags))
ZR_FN(int, gpio_pin_get_raw, (const struct device *port, gpio_pin_t pin), (port, pin))
ZR_FN(int, gpio_pin_get, (const struct device *port, gpio_pin_t pin), (port, pin))
ZR_FN(int, gpio_pin_set_raw, (const struct device *port, gpio_pin_t pin, int value),
      (port, pin, value))
ZR_FN(int, gpio_pin_set, (const struct device *port, gpio_pin_t pin, int value),
      (port, pin, value))
ZR_FN(int, gpio_pin_toggle, (const struct device *port, gpio_pin_t pin), (port, pin))
ZR_FN(int, gpio_pin_interrupt_configure,
      (const struct device *port, gpio_pin_t pin, gpio_flags_t flags), (port, pin, flags))
ZR_VOID(gpio_init_callback,
	(struct gpio_callback *cb, gpio_callback_handler_t handler, gpio_port_pins_t pin_mask),
	(cb, handler, pin_mask))
ZR_FN(int, gpio_add_callback, (const struct device *port, struct gpio_callback *cb), (port, cb))
ZR_FN(int, gpio_remove_callback, (const struct device *port, struct gpio_callback *cb),
      (port, cb))
ZR_FN(int, uart_poll_in, (const struct device *dev, unsigned char *c), (dev, c))
ZR_VOID(uart_poll_out, (const struct device *dev, unsigned char c), (dev, c))
ZR_FN(int, uart_err_check, (const struct device *dev), (dev))
ZR_FN(int, uart_configure, (const struct device *dev, const struct uart_config *cfg), (dev, cfg))
ZR_FN(int, uart_config_get, (const struct device *dev, struct uart_config *cfg), (dev, cfg))
ZR_FN(int, uart_fifo_fill, (const struct device *dev, const uint8_t *data, int size),
      (dev, data, size))
ZR_FN(int, uart_fifo_read, (const struct device *dev, uint8_t *data, int size), (dev, data, size))
ZR_VOID(uart_irq_tx_enable, (const struct device *dev), (dev))
ZR_VOID(uart_irq_tx_disable, (const struct device *dev), (dev))
ZR_FN(int, uart_irq_tx_ready, (const struct device *dev), (dev))
ZR_VOID(uart_irq_rx_enable, (const struct device *dev), (dev))
ZR_VOID(uart_irq_rx_disable, (const struct device *dev), (dev))
ZR_FN(int, uart_irq_tx_complete, (const struct device *dev), (dev))
ZR_FN(int, uart_irq_rx_ready, (const struct device *dev), (dev))
ZR_VOID(uart_irq_err_enable, (const struct device *dev), (dev))
ZR_VOID(uart_irq_err_disable, (const struct device *dev), (dev))
ZR_FN(int, uart_irq_is_pending, (const struct device *dev), (dev))
ZR_FN(int, uart_irq_update, (const struct device *dev), (dev))
ZR_VOID(uart_irq_callback_user_data_set,
	(const struct device *dev, uart_irq_callback_user_data_t cb, void *user_data),
	(dev, cb, user_data))
ZR_FN(int, i2c_configure, (const struct device *dev, uint32_t cfg), (dev, cfg))
ZR_FN(int, i2c_transfer,
      (const struct device *dev, struct i2c_msg *msgs, uint8_t num_msgs, uint16_t addr),
      (dev, msgs, num_msgs, addr))
