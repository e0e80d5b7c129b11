//! Arbitrary and hostile input: no panic, no unbounded allocation, errors that name the
//! field.

use bytes::BytesMut;
use proptest::prelude::*;
use zk_proto::frame::{FrameDecoder, FrameError};
use zk_proto::records::{
    ConnectRequest, ConnectResponse, ReplyHeader, Request, RequestHeader, Response,
};
use zk_proto::{DecodeErrorKind, OpCode, Record, decode_exact};

/// Decodes `bytes` as a request and a response body of `op`; whatever decodes must encode
/// to its stated length and decode back to itself. (Re-encoding need not give the same
/// bytes: a boolean byte of 7 reads as `true`, a null in a non-nullable field as empty.)
fn check_bodies(op: OpCode, bytes: &[u8]) {
    let mut input = bytes;
    if let Ok(req) = Request::decode_body(op, &mut input) {
        let mut out = BytesMut::new();
        req.encode_body(&mut out);
        assert_eq!(out.len(), req.body_len());
        assert_eq!(Request::decode_body(op, &mut &out[..]).as_ref(), Ok(&req));
    }
    let mut input = bytes;
    if let Ok(rsp) = Response::decode_body(op, &mut input) {
        let mut out = BytesMut::new();
        rsp.encode_body(&mut out);
        assert_eq!(out.len(), rsp.body_len());
        assert_eq!(Response::decode_body(op, &mut &out[..]).as_ref(), Ok(&rsp));
    }
}

proptest! {
    #[test]
    fn arbitrary_bodies_never_panic(selector in any::<usize>(), bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let op = OpCode::ALL[selector % OpCode::ALL.len()];
        check_bodies(op, &bytes);
        // A handshake record that decodes accounts for every byte.
        if let Ok(req) = decode_exact::<ConnectRequest>(&bytes) {
            prop_assert_eq!(req.encoded_len(), bytes.len());
        }
        if let Ok(rsp) = decode_exact::<ConnectResponse>(&bytes) {
            prop_assert_eq!(rsp.encoded_len(), bytes.len());
        }
        if let Ok(header) = decode_exact::<RequestHeader>(&bytes) {
            prop_assert_eq!(&header.to_bytes()[..], &bytes[..]);
        }
    }

    #[test]
    fn frame_decoder_respects_its_limit(
        max in 0usize..256,
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16),
    ) {
        let mut decoder = FrameDecoder::new(max);
        let mut input = BytesMut::new();
        'feed: for chunk in chunks {
            input.extend_from_slice(&chunk);
            loop {
                match decoder.decode(&mut input) {
                    Ok(Some(frame)) => prop_assert!(frame.len() <= max),
                    Ok(None) => break,
                    Err(FrameError::TooLong { len, max: m }) => { prop_assert!(len > m); break 'feed; }
                    Err(_) => break 'feed,
                }
            }
        }
    }
}

/// Every 4-byte window of every captured vector, overwritten with a huge or negative
/// length, must give an error or a value, never an allocation of the claimed size (the
/// capped allocator would abort the run).
#[test]
fn hostile_lengths_in_real_frames() {
    let dir = format!("{}/tests/data", env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "hex") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let hex: String = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .flat_map(|l| l.split_whitespace())
            .collect();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let payload = &bytes[4..];
        for at in 0..payload.len().saturating_sub(3) {
            for claim in [i32::MAX, 0x7fff_fff0, 0x0100_0000, -2, i32::MIN] {
                let mut bad = payload.to_vec();
                bad[at..at + 4].copy_from_slice(&claim.to_be_bytes());
                for op in OpCode::ALL {
                    check_bodies(*op, &bad);
                    let mut rest = &bad[..];
                    if ReplyHeader::decode(&mut rest).is_ok() {
                        check_bodies(*op, rest);
                    }
                }
                let _ = decode_exact::<ConnectRequest>(&bad);
                let _ = decode_exact::<ConnectResponse>(&bad);
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "checked {checked} mutations");
}

#[test]
fn huge_vector_counts_are_refused_up_front() {
    // getChildren reply claiming 2^31-1 children in 8 bytes.
    let err = decode_exact::<zk_proto::records::GetChildrenResponse>(&[
        0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0,
    ])
    .unwrap_err();
    assert_eq!(err.field(), Some("GetChildrenResponse.children"));
    assert!(matches!(
        err.kind(),
        DecodeErrorKind::LengthExceedsLimit { .. } | DecodeErrorKind::LengthExceedsInput { .. }
    ));
}
