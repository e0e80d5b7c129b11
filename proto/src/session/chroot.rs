//! The chroot, applied in one place: every path of a request on the way out, every path
//! of a response on the way in (notifications are stripped by the session).

use crate::path::Chroot;
use crate::records::{MultiOp, MultiResult, Request, Response};

/// Applies the chroot to every path of a request.
pub(crate) fn prefix_paths(chroot: &Chroot, request: &mut Request) {
    if chroot.is_root() {
        return;
    }
    let fix = |path: &mut String| *path = chroot.prefix(path).into_owned();
    match request {
        Request::Create(r) => fix(&mut r.path),
        Request::CreateTtl(r) => fix(&mut r.path),
        Request::Delete(r) => fix(&mut r.path),
        Request::Exists(r) => fix(&mut r.path),
        Request::GetData(r) => fix(&mut r.path),
        Request::SetData(r) => fix(&mut r.path),
        Request::GetAcl(r) => fix(&mut r.path),
        Request::SetAcl(r) => fix(&mut r.path),
        Request::GetChildren(r) => fix(&mut r.path),
        Request::Sync(r) => fix(&mut r.path),
        Request::GetChildren2(r) => fix(&mut r.path),
        Request::Check(r) => fix(&mut r.path),
        Request::CheckWatches(r) => fix(&mut r.path),
        Request::RemoveWatches(r) => fix(&mut r.path),
        Request::GetAllChildrenNumber(r) => fix(&mut r.path),
        Request::AddWatch(r) => fix(&mut r.path),
        // A string prefix: "/" under chroot "/app" is "/app", which also matches
        // "/app-other"; the results are filtered by `strip_paths`.
        Request::GetEphemerals(r) => fix(&mut r.prefix_path),
        Request::Multi(m) => {
            for op in &mut m.ops {
                match op {
                    MultiOp::Create(r) | MultiOp::Create2(r) | MultiOp::CreateContainer(r) => {
                        fix(&mut r.path)
                    }
                    MultiOp::CreateTtl(r) => fix(&mut r.path),
                    MultiOp::Delete(r) => fix(&mut r.path),
                    MultiOp::SetData(r) => fix(&mut r.path),
                    MultiOp::Check(r) => fix(&mut r.path),
                    MultiOp::GetData(r) => fix(&mut r.path),
                    MultiOp::GetChildren(r) => fix(&mut r.path),
                }
            }
        }
        Request::SetWatches(_)
        | Request::SetWatches2(_)
        | Request::Auth(_)
        | Request::Sasl(_)
        | Request::Reconfig(_)
        | Request::Empty(()) => {}
    }
}

/// Strips the chroot from every path of a response (create results, multi results and
/// getEphemerals, which the Java client leaves prefixed).
pub(crate) fn strip_paths(chroot: &Chroot, response: &mut Response) {
    if chroot.is_root() {
        return;
    }
    let strip = |path: &mut String| *path = chroot.strip_or_keep(path).to_owned();
    match response {
        Response::Create(r) => strip(&mut r.path),
        Response::Create2(r) => strip(&mut r.path),
        Response::Sync(r) => strip(&mut r.path),
        Response::GetEphemerals(r) => {
            r.ephemerals.retain(|p| chroot.strip(p).is_some());
            r.ephemerals.iter_mut().for_each(strip);
        }
        Response::Multi(m) => {
            for result in &mut m.results {
                match result {
                    MultiResult::Create(r) => strip(&mut r.path),
                    MultiResult::Create2(r) => strip(&mut r.path),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}
