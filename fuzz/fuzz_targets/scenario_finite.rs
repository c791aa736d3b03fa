//! Fuzz target `scenario_finite`: the `scenario` target, and also no
//! `inf`/`NaN` token or overflowed figure in any output of the run (issue
//! 10, item 1; findings expected on code before that item's fix).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipesim_fuzz::{Checks, exercise};

fuzz_target!(|data: &[u8]| exercise(data, Checks { finite: true }));
