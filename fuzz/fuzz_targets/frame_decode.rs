//! The frame decoder on arbitrary bytes arriving in arbitrary chunks.
//!
//! Input: byte 0 = maximum frame length (0..=255), byte 1 = chunk size (1..=256), the rest
//! is the stream. Every frame returned fits the maximum; an error ends the stream.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zk_proto::frame::{FrameDecoder, FrameError};

fuzz_target!(|data: &[u8]| {
    let [max, chunk, stream @ ..] = data else {
        return;
    };
    let max = usize::from(*max);
    let mut decoder = FrameDecoder::new(max);
    let mut input = BytesMut::new();
    let mut delivered = 0;
    for piece in stream.chunks(usize::from(*chunk) + 1) {
        input.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(frame)) => {
                    assert!(frame.len() <= max);
                    delivered += 4 + frame.len();
                }
                Ok(None) => break,
                Err(FrameError::TooLong { len, max: m }) => {
                    assert!(len > m);
                    return;
                }
                Err(_) => return,
            }
        }
    }
    assert!(delivered <= stream.len());
});
