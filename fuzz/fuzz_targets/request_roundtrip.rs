//! Every request record, selected by the first byte: decode, encode, decode again.
//!
//! A decoded request encodes to its stated length, decodes back to itself, and its
//! encoding is stable (encoding the re-decoded value gives the same bytes).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zk_proto::records::{ConnectRequest, Request};
use zk_proto::{OpCode, Record, decode_exact};

fuzz_target!(|data: &[u8]| {
    let [selector, body @ ..] = data else { return };
    let ops = OpCode::ALL;
    let i = usize::from(*selector) % (ops.len() + 1);
    if i == ops.len() {
        if let Ok(req) = decode_exact::<ConnectRequest>(body) {
            let bytes = req.to_bytes();
            assert_eq!(bytes.len(), body.len());
            assert_eq!(decode_exact::<ConnectRequest>(&bytes).as_ref(), Ok(&req));
        }
        return;
    }
    let op = ops[i];
    if let Ok(req) = Request::decode_body(op, &mut &body[..]) {
        let mut first = BytesMut::new();
        req.encode_body(&mut first);
        assert_eq!(first.len(), req.body_len());
        let again = Request::decode_body(op, &mut &first[..]).expect("re-decode");
        assert_eq!(again, req);
        let mut second = BytesMut::new();
        again.encode_body(&mut second);
        assert_eq!(first, second);
    }
});
