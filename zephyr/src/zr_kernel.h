/*
 * The kernel headers the module's C files need, under current Zephyr's names
 * (<zephyr/kernel.h>, since 3.1) or Zephyr 2.7's (<kernel.h>), whichever the tree has.
 */
#ifndef ZR_KERNEL_H
#define ZR_KERNEL_H

#if defined(__has_include)
#if __has_include(<zephyr/kernel.h>)
#include <zephyr/kernel.h>
#include <zephyr/irq.h>
#include <zephyr/sys/printk.h>
#include <zephyr/toolchain.h>
#include <zephyr/version.h>
#include <zephyr/device.h>
#include <zephyr/drivers/gpio.h>
#include <zephyr/drivers/uart.h>
#include <zephyr/drivers/i2c.h>
#define ZR_HAVE_ZEPHYR_PREFIX 1
#endif
#endif
#ifndef ZR_HAVE_ZEPHYR_PREFIX
#include <kernel.h>
#include <irq.h>
#include <sys/printk.h>
#include <toolchain.h>
#include <version.h>
#include <device.h>
#include <drivers/gpio.h>
#include <drivers/uart.h>
#include <drivers/i2c.h>
#endif

#endif /* ZR_KERNEL_H */
