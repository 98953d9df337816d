//! The host's decoding of what the guest sends back (a return area in guest
//! memory): arbitrary memory and pointers must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let retptr = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) % (data.len() as u32 + 64);
    let _ = jsbox::fuzzing::decode(&data[4..], retptr);
});
