/*
 * main() for a Rust application: runs the crate's `extern "C" fn rust_main()` on Zephyr's main
 * thread (CONFIG_MAIN_THREAD_PRIORITY, CONFIG_MAIN_STACK_SIZE). Leave it out with
 * CONFIG_RUST_MAIN=n to write main() in C.
 */
#include "zr_kernel.h"

extern void rust_main(void);

#if KERNEL_VERSION_NUMBER >= 0x030400
int main(void)
{
	rust_main();
	return 0;
}
#else
void main(void)
{
	rust_main();
}
#endif
