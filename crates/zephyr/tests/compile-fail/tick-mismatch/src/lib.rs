//! A program whose embassy-time tick rate differs from Zephyr's.
#![no_std]
use zephyr as _;
