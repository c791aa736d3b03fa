//! Fuzz target `scenario`: scenario parsing, `--set`/`--scale` changes,
//! validation and a 10-trial run (see `pipesim_fuzz::exercise`); any
//! panic, abort, hang or out-of-memory is a finding, any `Err` is fine.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipesim_fuzz::{Checks, exercise};

fuzz_target!(|data: &[u8]| exercise(data, Checks { finite: false }));
