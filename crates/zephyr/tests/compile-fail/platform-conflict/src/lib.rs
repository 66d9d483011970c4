//! A program that enables two executors that cannot coexist.
use zephyr as _;
