//! The frame decoder on arbitrary bytes arriving in arbitrary chunks, strict and skipping
//! oversized frames.
//!
//! Input: byte 0 = maximum frame length (0..=255), byte 1 = chunk size (1..=256), the rest
//! is the stream. Every frame returned fits the maximum; an error ends the stream. The
//! skipping decoder returns the strict one's frames up to the strict one's first error,
//! hands back oversized frames' heads, and never holds more than a frame's worth of input.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zk_proto::frame::{Decoded, FrameDecoder, FrameError};

const HEAD: usize = 16;

fuzz_target!(|data: &[u8]| {
    let [max, chunk, stream @ ..] = data else {
        return;
    };
    let max = usize::from(*max);
    let chunk = usize::from(*chunk) + 1;
    let strict = strict_frames(max, chunk, stream);

    let mut decoder = FrameDecoder::new(max).keep_oversized_head(HEAD);
    let mut input = BytesMut::new();
    let mut frames = Vec::new();
    let mut compared = false;
    'stream: for piece in stream.chunks(chunk) {
        input.extend_from_slice(piece);
        loop {
            match decoder.decode_or_skip(&mut input) {
                Ok(Some(Decoded::Frame(frame))) => {
                    assert!(frame.len() <= max);
                    frames.push(frame);
                }
                Ok(Some(Decoded::Oversized { head, len })) => {
                    assert!(len > max);
                    assert_eq!(head.len(), HEAD.min(len));
                    // The strict decoder stopped at the first one.
                    if !compared {
                        assert_eq!(frames, strict);
                        compared = true;
                    }
                }
                Ok(None) => break,
                Err(FrameError::NegativeLength(_)) => break 'stream,
                Err(error) => panic!("{error}"),
            }
            assert!(input.len() <= 4 + max.max(HEAD) + chunk);
        }
        assert!(input.len() <= 4 + max.max(HEAD) + chunk);
    }
    if !compared {
        assert_eq!(frames, strict);
    }
});

/// The frames a strict decoder returns before its first error.
fn strict_frames(max: usize, chunk: usize, stream: &[u8]) -> Vec<BytesMut> {
    let mut decoder = FrameDecoder::new(max);
    let mut input = BytesMut::new();
    let mut frames = Vec::new();
    for piece in stream.chunks(chunk) {
        input.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(frame)) => {
                    assert!(frame.len() <= max);
                    frames.push(frame);
                }
                Ok(None) => break,
                Err(FrameError::TooLong { len, max: m }) => {
                    assert!(len > m);
                    return frames;
                }
                Err(_) => return frames,
            }
        }
    }
    frames
}
