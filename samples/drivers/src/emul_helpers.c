/*
 * The sample's C side on native_posix_64: what a test bench does to the GPIO emulator
 * (include/drivers/gpio/gpio_emul.h), which Rust reaches through these functions.
 *
 * Input edges come from a thread of their own, as a device outside the CPU would change a
 * line while the Rust task waits: Zephyr 2.7's GPIO emulator runs the pin's callbacks inside
 * gpio_emul_input_set(), in the calling thread, holding the emulator's k_mutex. So it may not
 * be called from an ISR (a k_timer handler), and a callback that wakes a more urgent thread
 * is preempted while the emulator's mutex is held.
 *
 * The watch (drivers_emul_watch) looks at how the woken thread blocks in that case: the Rust
 * wait, completing, disables the pin's interrupt, for which the emulator takes that mutex.
 * It must block there with interrupts unlocked: a thread that context-switches under
 * irq_lock has no critical section (the kernel asserts on CONFIG_USE_SWITCH architectures).
 * How a blocked thread left its interrupts is native_posix's arch_swap() key, saved in the
 * thread (arch/posix/core/swap.c), so the watch is for native_posix only.
 */

#include <zephyr.h>
#include <device.h>
#include <drivers/gpio.h>
#include <drivers/gpio/gpio_emul.h>
#include <kernel_structs.h>

/* Below the main thread (priority 0, the Rust executor's): the executor runs as soon as a
 * callback wakes it, preempting this thread inside the emulator. */
#define DRIVE_PRIORITY 5

/* A level for the driving thread to put on an input pin after a delay. */
struct drive {
	const struct device *port;
	gpio_pin_t pin;
	int value;
	int32_t delay_ms;
};

K_MSGQ_DEFINE(drive_requests, sizeof(struct drive), 8, 4);

/* The tick at which the driving thread last set an input. */
static int64_t last_drive_tick;

static void drive_thread(void *a, void *b, void *c)
{
	ARG_UNUSED(a);
	ARG_UNUSED(b);
	ARG_UNUSED(c);
	for (;;) {
		struct drive d;

		k_msgq_get(&drive_requests, &d, K_FOREVER);
		k_msleep(d.delay_ms);
		last_drive_tick = k_uptime_ticks();
		int ret = gpio_emul_input_set(d.port, d.pin, d.value);

		if (ret != 0) {
			printk("drivers: gpio_emul_input_set(pin %u, %d) failed: %d\n", d.pin,
			       d.value, ret);
		}
	}
}

K_THREAD_DEFINE(drivers_drive, 1024, drive_thread, NULL, NULL, NULL, DRIVE_PRIORITY, 0, 0);

/* Sets input `pin` of the emulator `port` to `value` (a wire level) now, in the calling thread
 * (which runs the callbacks); 0 or a negative errno (-EINVAL if the pin is not an input). */
int drivers_emul_input_set(const struct device *port, gpio_pin_t pin, int value)
{
	return gpio_emul_input_set(port, pin, value);
}

/* Has the driving thread set input `pin` to `value` `delay_ms` from when it gets the request
 * (at once if it is idle); 0, or -ENOMSG if 8 requests are already waiting. */
int drivers_emul_input_set_after(const struct device *port, gpio_pin_t pin, int value,
				 int32_t delay_ms)
{
	struct drive d = { .port = port, .pin = pin, .value = value, .delay_ms = delay_ms };

	return k_msgq_put(&drive_requests, &d, K_NO_WAIT);
}

/* The tick at which the driving thread last set an input (its callbacks ran then). */
int64_t drivers_emul_last_drive_tick(void)
{
	return last_drive_tick;
}

/* The wire level the emulator's output `pin` drives: 0, 1 or a negative errno. */
int drivers_emul_output_get(const struct device *port, gpio_pin_t pin)
{
	return gpio_emul_output_get(port, pin);
}

/* Whether `pin`'s interrupt is enabled in the emulator: 1, 0 or a negative errno. */
int drivers_emul_interrupt_enabled(const struct device *port, gpio_pin_t pin)
{
	gpio_flags_t flags;
	int ret = gpio_emul_flags_get(port, pin, &flags);

	if (ret != 0) {
		return ret;
	}
	return (flags & GPIO_INT_ENABLE) != 0;
}

static struct gpio_callback watch;
static k_tid_t watched;
static int watch_blocked, watch_locked;

/* A second callback on the watched pin. Added before the Rust waits' callbacks, it runs after
 * them (gpio_add_callback prepends): in the driving thread, inside gpio_emul_input_set, once the
 * woken Rust thread has run and blocked again. */
static void watch_handler(const struct device *port, struct gpio_callback *cb,
			  gpio_port_pins_t pins)
{
	ARG_UNUSED(port);
	ARG_UNUSED(cb);
	ARG_UNUSED(pins);
	if ((watched->base.thread_state & _THREAD_PENDING) != 0U) {
		watch_blocked++;
		if (watched->callee_saved.key != 0U) {
			watch_locked++;
		}
	}
}

/* Watches how the calling thread blocks while the driving thread delivers a change of `pin`;
 * 0 or a negative errno. */
int drivers_emul_watch(const struct device *port, gpio_pin_t pin)
{
	watched = k_current_get();
	gpio_init_callback(&watch, watch_handler, BIT(pin));
	return gpio_add_callback(port, &watch);
}

/* Stops the watch; `blocked` is how often the watched thread was found blocked inside a
 * change's delivery, `locked` how often with interrupts locked. */
int drivers_emul_unwatch(const struct device *port, int *blocked, int *locked)
{
	*blocked = watch_blocked;
	*locked = watch_locked;
	return gpio_remove_callback(port, &watch);
}
