//! Every response record, selected by the first byte: the body of a reply to each opcode,
//! the reply header, and the handshake response.
//!
//! Whatever decodes must encode to its stated length and decode back to itself.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zk_proto::records::{ConnectResponse, ReplyHeader, Response};
use zk_proto::{OpCode, Record, decode_exact};

fuzz_target!(|data: &[u8]| {
    let [selector, body @ ..] = data else { return };
    let ops = OpCode::ALL;
    match usize::from(*selector) % (ops.len() + 2) {
        i if i < ops.len() => {
            let op = ops[i];
            if let Ok(rsp) = Response::decode_body(op, &mut &body[..]) {
                let mut out = BytesMut::new();
                rsp.encode_body(&mut out);
                assert_eq!(out.len(), rsp.body_len());
                assert_eq!(Response::decode_body(op, &mut &out[..]).as_ref(), Ok(&rsp));
            }
        }
        i if i == ops.len() => {
            if let Ok(header) = decode_exact::<ReplyHeader>(body) {
                assert_eq!(decode_exact::<ReplyHeader>(&header.to_bytes()), Ok(header));
            }
        }
        _ => {
            if let Ok(rsp) = decode_exact::<ConnectResponse>(body) {
                assert_eq!(rsp.encoded_len(), body.len());
                assert_eq!(
                    decode_exact::<ConnectResponse>(&rsp.to_bytes()).as_ref(),
                    Ok(&rsp)
                );
            }
        }
    }
});
