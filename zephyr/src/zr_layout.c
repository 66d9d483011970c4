/*
 * The layout probe: what `zephyr-sys` needs to know about this application's kernel.
 *
 * Compiled with exactly the application's compiler, flags, include paths and Kconfig, never
 * linked: each GEN_ABSOLUTE_SYM() (Zephyr's own macro, the one behind its offsets.h) becomes an
 * absolute symbol in the object file, and zephyr/scripts/gen_rust_layout.py turns the symbols
 * into the text file that crates/zephyr-sys/build.rs reads. So sizes, alignments, the offsets
 * of the few fields Rust reads, and the values of constants are those of this build, whatever
 * the Zephyr version, architecture and Kconfig.
 *
 * Symbol names: ZR_SIZE__<type>, ZR_ALIGN__<type>, ZR_OFFSET__<type>__<field>,
 * ZR_CONST__<name>. Add an entry here and build.rs generates the Rust item.
 */
#include "zr_kernel.h"
#include <errno.h>
#include <stddef.h>

#define ZR_TYPE(t)                                                                            \
	GEN_ABSOLUTE_SYM(ZR_SIZE__##t, sizeof(struct t));                                      \
	GEN_ABSOLUTE_SYM(ZR_ALIGN__##t, __alignof__(struct t))
#define ZR_OFFSET(t, f) GEN_ABSOLUTE_SYM(ZR_OFFSET__##t##__##f, offsetof(struct t, f))
#define ZR_CONST(name) GEN_ABSOLUTE_SYM(ZR_CONST__##name, (name))

void zr_layout_probe(void)
{
	/* Kernel objects: opaque to Rust, with their real size and alignment. */
	ZR_TYPE(k_thread);
	ZR_TYPE(k_sem);
	ZR_TYPE(k_mutex);
	ZR_TYPE(k_condvar);
	ZR_TYPE(k_timer);
	ZR_TYPE(k_work);
	ZR_TYPE(k_work_delayable);
	ZR_TYPE(k_work_sync);
	ZR_TYPE(k_work_q);
	ZR_TYPE(k_work_queue_config);
	ZR_TYPE(k_work_poll);
	ZR_TYPE(k_poll_event);
	ZR_TYPE(k_poll_signal);
	ZR_TYPE(k_queue);
	ZR_TYPE(k_msgq);
	ZR_TYPE(k_stack);
	ZR_TYPE(k_mem_slab);
	ZR_TYPE(k_heap);
	ZR_TYPE(k_pipe);
	ZR_TYPE(k_mbox);

	/* The fields Rust code reads or writes. */
	ZR_OFFSET(k_mutex, lock_count);
	GEN_ABSOLUTE_SYM(ZR_OFFSET__k_thread__base_prio, offsetof(struct k_thread, base.prio));
	/* `_current` (what k_current_get returns) in `_kernel`: CPU 0's, the only one (build.rs
	 * refuses CONFIG_SMP and CONFIG_USERSPACE). */
	GEN_ABSOLUTE_SYM(ZR_OFFSET__z_kernel__current, offsetof(struct z_kernel, cpus[0].current));
	ZR_OFFSET(k_work_poll, work);
	ZR_OFFSET(k_work_poll, poll_result);
	GEN_ABSOLUTE_SYM(ZR_OFFSET__k_work_poll__poller_is_polling,
			 offsetof(struct k_work_poll, poller.is_polling));
	ZR_OFFSET(k_work_delayable, work);
	ZR_OFFSET(k_work_queue_config, name);
	ZR_OFFSET(k_work_queue_config, no_yield);
	/* k_mbox_msg, which Rust declares with Zephyr 2.7's layout, checked against these. */
	ZR_OFFSET(k_mbox_msg, size);
	ZR_OFFSET(k_mbox_msg, info);
	ZR_OFFSET(k_mbox_msg, tx_data);
	ZR_OFFSET(k_mbox_msg, tx_block);
	ZR_OFFSET(k_mbox_msg, rx_source_thread);
	ZR_OFFSET(k_mbox_msg, tx_target_thread);
	ZR_OFFSET(k_mbox_msg, _syncing_thread);

	/* The timeout type: 64-bit ticks (CONFIG_TIMEOUT_64BIT), one field. */
	GEN_ABSOLUTE_SYM(ZR_SIZE__k_timeout_t, sizeof(k_timeout_t));
	GEN_ABSOLUTE_SYM(ZR_SIZE__k_ticks_t, sizeof(k_ticks_t));

	/* Thread stacks (K_KERNEL_STACK_DEFINE): reserved area, object alignment, size unit. */
	ZR_CONST(K_KERNEL_STACK_RESERVED);
	ZR_CONST(Z_KERNEL_STACK_OBJ_ALIGN);
	ZR_CONST(ARCH_STACK_PTR_ALIGN);
#if defined(CONFIG_MPU_REQUIRES_POWER_OF_TWO_ALIGNMENT) && defined(CONFIG_MPU_STACK_GUARD)
	GEN_ABSOLUTE_SYM(ZR_CONST__ZR_STACK_POW2, 1);
#else
	GEN_ABSOLUTE_SYM(ZR_CONST__ZR_STACK_POW2, 0);
#endif
	/*
	 * irq_lock() is arch_irq_lock() on a uniprocessor; on ARMv7-M/ARMv8-M Mainline that is a
	 * BASEPRI raise to _EXC_IRQ_DEFAULT_PRIO (include/arch/arm/aarch32/asm_inline_gcc.h),
	 * which zephyr-sys then does inline instead of calling zr_irq_lock.
	 */
#if defined(CONFIG_ARMV7_M_ARMV8_M_MAINLINE) && !defined(CONFIG_SMP)
	GEN_ABSOLUTE_SYM(ZR_CONST__ZR_IRQ_BASEPRI, 1);
	GEN_ABSOLUTE_SYM(ZR_CONST___EXC_IRQ_DEFAULT_PRIO, _EXC_IRQ_DEFAULT_PRIO);
#else
	GEN_ABSOLUTE_SYM(ZR_CONST__ZR_IRQ_BASEPRI, 0);
#endif
	/*
	 * The least urgent priority irq_connect_dynamic accepts (0 is the most urgent). Cortex-M:
	 * IRQ_PRIO_LOWEST of include/arch/arm/aarch32/exc.h (6 with 3 priority bits, as on
	 * qemu_cortex_m3). native_posix: 255 (boards/posix/native_posix/irq_ctrl.c, "prio=255 ==
	 * lowest"). Elsewhere: 0, the one priority every architecture has.
	 */
#if defined(IRQ_PRIO_LOWEST)
	GEN_ABSOLUTE_SYM(ZR_CONST__ZR_IRQ_PRIO_LOWEST, IRQ_PRIO_LOWEST);
#elif defined(CONFIG_ARCH_POSIX)
	GEN_ABSOLUTE_SYM(ZR_CONST__ZR_IRQ_PRIO_LOWEST, 255);
#else
	GEN_ABSOLUTE_SYM(ZR_CONST__ZR_IRQ_PRIO_LOWEST, 0);
#endif
	/* k_is_in_isr() is arch_is_in_isr(): on Cortex-M, IPSR != 0 (handler mode). */
#ifdef CONFIG_CPU_CORTEX_M
	GEN_ABSOLUTE_SYM(ZR_CONST__ZR_CORTEX_M, 1);
#else
	GEN_ABSOLUTE_SYM(ZR_CONST__ZR_CORTEX_M, 0);
#endif
#ifdef CONFIG_SMP
	GEN_ABSOLUTE_SYM(ZR_CONST__ZR_SMP, 1);
#else
	GEN_ABSOLUTE_SYM(ZR_CONST__ZR_SMP, 0);
#endif
#ifdef CONFIG_USERSPACE
	GEN_ABSOLUTE_SYM(ZR_CONST__ZR_USERSPACE, 1);
#else
	GEN_ABSOLUTE_SYM(ZR_CONST__ZR_USERSPACE, 0);
#endif

	/* Errno values (Zephyr's libc numbering). */
	ZR_CONST(EPERM);
	ZR_CONST(ENOENT);
	ZR_CONST(EINTR);
	ZR_CONST(EIO);
	ZR_CONST(ENXIO);
	ZR_CONST(EAGAIN);
	ZR_CONST(ENOMEM);
	ZR_CONST(EFAULT);
	ZR_CONST(EBUSY);
	ZR_CONST(ENODEV);
	ZR_CONST(EINVAL);
	ZR_CONST(ENOMSG);
	ZR_CONST(EDEADLK);
	ZR_CONST(ENOSYS);
	ZR_CONST(EADDRINUSE);
	ZR_CONST(ETIMEDOUT);
	ZR_CONST(EINPROGRESS);
	ZR_CONST(EALREADY);
	ZR_CONST(ENOTSUP);
	ZR_CONST(ECANCELED);

	/* Polling. */
	ZR_CONST(K_POLL_TYPE_IGNORE);
	ZR_CONST(K_POLL_TYPE_SIGNAL);
	ZR_CONST(K_POLL_TYPE_SEM_AVAILABLE);
	ZR_CONST(K_POLL_TYPE_DATA_AVAILABLE);
	ZR_CONST(K_POLL_TYPE_MSGQ_DATA_AVAILABLE);
	ZR_CONST(K_POLL_STATE_NOT_READY);
	ZR_CONST(K_POLL_STATE_SIGNALED);
	ZR_CONST(K_POLL_STATE_SEM_AVAILABLE);
	ZR_CONST(K_POLL_STATE_DATA_AVAILABLE);
	ZR_CONST(K_POLL_STATE_CANCELLED);
	ZR_CONST(K_POLL_STATE_MSGQ_DATA_AVAILABLE);
	ZR_CONST(K_POLL_MODE_NOTIFY_ONLY);

	/* Work item and queue state bits. */
	ZR_CONST(K_WORK_RUNNING);
	ZR_CONST(K_WORK_CANCELING);
	ZR_CONST(K_WORK_QUEUED);
	ZR_CONST(K_WORK_DELAYED);
	ZR_CONST(K_WORK_QUEUE_STARTED);
	ZR_CONST(K_WORK_QUEUE_BUSY);
	ZR_CONST(K_WORK_QUEUE_NO_YIELD);

	/* Thread states (kernel_structs.h). */
	ZR_CONST(_THREAD_DUMMY);
	ZR_CONST(_THREAD_PENDING);
	ZR_CONST(_THREAD_PRESTART);
	ZR_CONST(_THREAD_DEAD);
	ZR_CONST(_THREAD_SUSPENDED);
	ZR_CONST(_THREAD_ABORTING);
	ZR_CONST(_THREAD_QUEUED);

	ZR_CONST(K_SEM_MAX_LIMIT);
}
