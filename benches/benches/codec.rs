//! Encode and decode throughput of the jute codec on typical messages.

// `criterion_group!` defines a public function without docs.
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zk_proto::Record;

fn bench_record<R: Record>(c: &mut Criterion, name: &str, value: &R) {
    let bytes = Bytes::from(value.to_bytes());
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    let mut buf = BytesMut::with_capacity(bytes.len());
    group.bench_function("encode", |b| {
        b.iter(|| {
            buf.clear();
            black_box(value).encode(&mut buf);
            black_box(&buf);
        });
    });
    group.bench_function("decode", |b| {
        // Decoding from `Bytes`, as the client does with a received frame: buffers are
        // sliced, not copied.
        b.iter(|| R::decode(&mut black_box(bytes.clone())).expect("decode"));
    });
    group.finish();
}

fn codec(c: &mut Criterion) {
    bench_record(c, "get_data_reply_100b", &zk_benches::get_data_reply(100));
    bench_record(c, "stat", &zk_benches::stat());
    bench_record(
        c,
        "get_children2_reply_1000",
        &zk_benches::get_children2_reply(1000),
    );
    bench_record(c, "multi_10_ops", &zk_benches::multi_request());
}

criterion_group!(benches, codec);
criterion_main!(benches);
