//! The task manager against a real server: assignment by each strategy, capacity, scopes
//! with credentials, metadata, status and result, complete-and-create, fail and release,
//! introspection; a worker killed or expired mid-task, a deposed master's fenced move, and
//! a master killed while it moves tasks.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use zk_client::Client;
use zk_recipes::Error;
use zk_recipes::election::LeaderLatch;
use zk_recipes::tasks::{
    Assignment, LeastLoaded, MasterEvent, NewTask, RoundRobin, Snapshot, TaskScope, Worker,
};

use crate::node::{expire, through};
use crate::support::{client, connect, within};

/// The next assignment of `worker`.
async fn next(worker: &mut Worker) -> Assignment {
    within(worker.next())
        .await
        .expect("the stream ended")
        .unwrap()
}

/// Reads the scope until `done` accepts it (at most 30 s).
async fn until(scope: &TaskScope, done: impl Fn(&Snapshot) -> bool) -> Snapshot {
    within(async {
        loop {
            let now = scope.snapshot().await.unwrap();
            if done(&now) {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// Every task of `snapshot`, with how many places it is in (waiting, assigned, done).
fn places(snapshot: &Snapshot) -> BTreeMap<String, usize> {
    let mut places = BTreeMap::new();
    let all = snapshot
        .pending
        .iter()
        .chain(snapshot.assigned.values().flatten())
        .chain(&snapshot.done);
    for task in all {
        *places.entry(task.clone()).or_default() += 1;
    }
    places
}

#[tokio::test]
async fn round_robin_and_least_loaded_share_tasks_and_capacity_bounds_them() {
    let (zk, _server) = client().await;
    let scope = TaskScope::new(&zk, "/rr");
    let master = scope.master("m").strategy(RoundRobin::default());
    master.start().unwrap();
    let mut a = scope.worker("a").start().await.unwrap();
    let mut b = scope.worker("b").start().await.unwrap();
    until(&scope, |s| {
        s.workers.len() == 2 && s.master.as_deref() == Some("m")
    })
    .await;
    for i in 0..4 {
        scope
            .submit(&NewTask::new(format!("job {i}")))
            .await
            .unwrap();
    }
    let now = until(&scope, |s| s.pending.is_empty() && places(s).len() == 4).await;
    assert_eq!(now.assigned["a"].len(), 2, "{now:?}");
    assert_eq!(now.assigned["b"].len(), 2, "{now:?}");
    for _ in 0..2 {
        next(&mut a).await.complete(b"ok").await.unwrap();
        next(&mut b).await.complete(b"ok").await.unwrap();
    }
    let now = until(&scope, |s| s.done.len() == 4).await;
    assert!(now.assigned.values().all(Vec::is_empty), "{now:?}");
    master.close().await.unwrap();

    // Least loaded, with a capacity: the idle worker takes two, the busy one the rest.
    let scope = TaskScope::new(&zk, "/ll");
    let master = scope.master("m").strategy(LeastLoaded::default());
    master.start().unwrap();
    let _idle = scope
        .worker("idle")
        .capacity(2)
        .load(0.1)
        .start()
        .await
        .unwrap();
    let busy = scope.worker("busy").load(0.9).start().await.unwrap();
    until(&scope, |s| s.workers.len() == 2).await;
    for i in 0..5 {
        scope
            .submit(&NewTask::new(format!("job {i}")))
            .await
            .unwrap();
    }
    let now = until(&scope, |s| s.pending.is_empty()).await;
    assert_eq!(now.assigned["idle"].len(), 2, "capacity 2: {now:?}");
    assert_eq!(now.assigned["busy"].len(), 3, "{now:?}");
    assert_eq!(now.workers["idle"].capacity, Some(2));
    busy.set_load(0.0).await.unwrap();
    let now = scope.snapshot().await.unwrap();
    assert_eq!(now.workers["busy"].load, 0.0);
    master.close().await.unwrap();
}

#[tokio::test]
async fn metadata_results_follow_up_tasks_failures_and_releases() {
    let (zk, _server) = client().await;
    let scope = TaskScope::new(&zk, "/cats");
    let master = scope.master("m");
    master.start().unwrap();
    let mut worker = scope.worker("w").start().await.unwrap();
    scope
        .submit(
            &NewTask::new(b"feed")
                .meta("cat", "Tom & Jerry/2")
                .meta("count", "1"),
        )
        .await
        .unwrap();
    let task = next(&mut worker).await;
    assert_eq!(&task.data()[..], b"feed");
    assert_eq!(
        task.metadata(),
        [
            ("cat".to_owned(), "Tom & Jerry/2".to_owned()),
            ("count".to_owned(), "1".to_owned())
        ]
    );
    assert_eq!(task.attempt(), 1);
    let first = task.name().to_owned();
    let now = scope.snapshot().await.unwrap();
    assert_eq!(
        now.running.get(&first).map(String::as_str),
        Some("w"),
        "{now:?}"
    );
    task.complete_and_create(b"fed", &NewTask::new(b"feed").meta("count", "2"))
        .await
        .unwrap();
    assert_eq!(
        scope.result(&first).await.unwrap().as_deref(),
        Some(&b"fed"[..])
    );

    // The follow-up: released once (counted), then failed.
    let follow_up = next(&mut worker).await;
    assert_eq!(follow_up.metadata(), [("count".to_owned(), "2".to_owned())]);
    let name = follow_up.name().to_owned();
    follow_up.release().await.unwrap();
    let again = next(&mut worker).await;
    assert_eq!((again.name(), again.attempt()), (name.as_str(), 2));
    again.fail("no food left").await.unwrap();
    let now = until(&scope, |s| s.failed.len() == 1).await;
    assert_eq!(now.failed, std::slice::from_ref(&name));
    assert_eq!(now.done, [first]);
    assert!(
        now.running.is_empty(),
        "finished tasks are not running: {now:?}"
    );
    let (reason, _) = zk.get_data(&format!("/cats/failed/{name}")).await.unwrap();
    assert_eq!(&reason[..], b"no food left");
    // The attempts count went with the task.
    assert!(
        zk.exists(&format!("/cats/attempts/{name}"))
            .await
            .unwrap()
            .is_none()
    );

    // Too much metadata is refused before anything is written.
    let long = NewTask::new(b"x").meta("k", "v".repeat(600));
    assert!(matches!(
        scope.submit(&long).await,
        Err(Error::InvalidArgument(_))
    ));
    master.close().await.unwrap();
}

#[tokio::test]
async fn a_scope_with_credentials_is_closed_to_other_sessions() {
    let (zk, server) = client().await;
    let scope = TaskScope::new(&zk, "/private").credentials("ops", "s3cret");
    scope.submit(&NewTask::new(b"secret job")).await.unwrap();
    let stranger = connect(&server).await;
    let outside = TaskScope::new(&stranger, "/private");
    assert!(outside.submit(&NewTask::new(b"intruder")).await.is_err());
    let (_, stat) = zk.get_data("/private/tasks").await.unwrap();
    assert_eq!(stat.num_children, 1);
    assert!(stranger.get_children("/private/tasks").await.is_err());
    // A member with the credentials works in it.
    let member = connect(&server).await;
    let inside = TaskScope::new(&member, "/private").credentials("ops", "s3cret");
    assert_eq!(inside.snapshot().await.unwrap().pending.len(), 1);
}

/// A worker that stops answering (as after kill -9): its task runs elsewhere once its
/// session times out, within the session timeout and a second.
#[tokio::test]
async fn a_worker_killed_mid_task_has_its_task_reassigned_within_the_session_timeout() {
    let (zk, server) = client().await;
    let scope = TaskScope::new(&zk, "/killed");
    let master = scope.master("m");
    master.start().unwrap();
    let timeout = Duration::from_secs(4);
    let (doomed, endpoint) = through(
        &server,
        "doomed-worker",
        Client::builder().session_timeout(timeout),
    )
    .await;
    let doomed_scope = TaskScope::new(&doomed, "/killed");
    let mut victim = doomed_scope.worker("victim").start().await.unwrap();
    until(&scope, |s| s.workers.len() == 1).await;
    scope.submit(&NewTask::new(b"long job")).await.unwrap();
    let running = next(&mut victim).await;
    let hole = endpoint.blackhole();
    let killed = Instant::now();
    let mut survivor = scope.worker("survivor").start().await.unwrap();
    let again = next(&mut survivor).await;
    let latency = killed.elapsed();
    println!("reassigned {latency:?} after the worker stopped answering");
    assert_eq!(again.name(), running.name());
    assert_eq!(again.attempt(), 2, "the second run knows it is one");
    assert!(
        latency <= timeout + Duration::from_secs(1) + Duration::from_millis(500),
        "{latency:?}"
    );
    again.complete(b"done").await.unwrap();
    drop(hole);
    // The first run's outcome is refused: the task is no longer its.
    let late = within(running.complete(b"late")).await;
    assert!(late.is_err(), "{late:?}");
    let now = until(&scope, |s| s.done.len() == 1).await;
    assert!(places(&now).values().all(|n| *n == 1), "{now:?}");
    master.close().await.unwrap();
}

/// A worker whose session expires while it runs a task is told (`lost`), and the task
/// runs elsewhere.
#[tokio::test]
async fn a_worker_whose_session_expires_is_told_and_the_task_runs_elsewhere() {
    let (zk, server) = client().await;
    let scope = TaskScope::new(&zk, "/expired");
    let master = scope.master("m");
    master.start().unwrap();
    let doomed = connect(&server).await;
    let mut first = TaskScope::new(&doomed, "/expired")
        .worker("first")
        .start()
        .await
        .unwrap();
    until(&scope, |s| s.workers.len() == 1).await;
    scope.submit(&NewTask::new(b"job")).await.unwrap();
    let running = next(&mut first).await;
    expire(&server, &doomed).await;
    let why = within(running.lost()).await;
    assert_eq!(why, zk_recipes::lock::LostReason::SessionEnded);
    assert!(matches!(
        within(first.next()).await,
        Some(Err(Error::SessionEnded(_))) | None
    ));
    let mut second = scope.worker("second").start().await.unwrap();
    let again = next(&mut second).await;
    assert_eq!((again.name(), again.attempt()), (running.name(), 2));
    again.complete(b"ok").await.unwrap();
    master.close().await.unwrap();
}

/// A deposed master's move fails on its fence, and a master partitioned from the server
/// moves nothing: a second master does the work, and every task is in one place.
#[tokio::test]
async fn a_deposed_or_partitioned_master_moves_nothing() {
    let (zk, server) = client().await;
    // The fence itself: a term's multi after its latch node is gone.
    let latch = LeaderLatch::new(&zk, "/fence/master").data("old");
    latch.start().unwrap();
    let term = within(latch.await_leadership()).await.unwrap();
    zk.create(
        "/fence-target",
        b"",
        &zk_client::CreateOptions::persistent(),
    )
    .await
    .unwrap();
    latch.close().await.unwrap();
    let stale = term.fenced().delete("/fence-target", None).commit().await;
    assert!(
        matches!(stale, Err(zk_client::Error::NoNode(_))),
        "{stale:?}"
    );
    assert!(zk.exists("/fence-target").await.unwrap().is_some());

    let scope = TaskScope::new(&zk, "/zombie");
    let (cut_off, endpoint) = through(
        &server,
        "zombie-master",
        Client::builder().session_timeout(Duration::from_secs(4)),
    )
    .await;
    let zombie = TaskScope::new(&cut_off, "/zombie").master("zombie");
    let mut zombie_events = std::pin::pin!(zombie.events());
    zombie.start().unwrap();
    assert!(matches!(
        within(zombie_events.next()).await,
        Some(MasterEvent::Elected { .. })
    ));
    let heir = scope.master("heir");
    heir.start().unwrap();
    let hole = endpoint.blackhole();
    let mut worker = scope.worker("w").start().await.unwrap();
    for i in 0..10 {
        scope
            .submit(&NewTask::new(format!("job {i}")))
            .await
            .unwrap();
    }
    let mut seen = HashSet::new();
    while seen.len() < 10 {
        let task = next(&mut worker).await;
        assert!(seen.insert(task.name().to_owned()), "{} twice", task.name());
        task.complete(b"ok").await.unwrap();
    }
    assert_eq!(
        scope.snapshot().await.unwrap().master.as_deref(),
        Some("heir")
    );
    drop(hole);
    let events: Vec<MasterEvent> = within(async {
        let mut events = Vec::new();
        while let Some(event) = zombie_events.next().await {
            let deposed = matches!(event, MasterEvent::Deposed { .. });
            events.push(event);
            if deposed {
                return events;
            }
        }
        events
    })
    .await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, MasterEvent::Assigned { .. })),
        "the zombie assigned: {events:?}"
    );
    let now = scope.snapshot().await.unwrap();
    assert_eq!(now.done.len(), 10);
    assert!(places(&now).values().all(|n| *n == 1), "{now:?}");
    heir.close().await.unwrap();
}

/// A master killed while it moves many tasks: the next master goes on, and every task
/// ends in exactly one place, done once.
#[tokio::test]
async fn a_master_killed_while_moving_loses_and_duplicates_nothing() {
    let (zk, server) = client().await;
    let scope = TaskScope::new(&zk, "/moving");
    for i in 0..60 {
        scope
            .submit(&NewTask::new(format!("job {i}")))
            .await
            .unwrap();
    }
    let doomed = connect(&server).await;
    let first = TaskScope::new(&doomed, "/moving").master("first");
    let mut events = std::pin::pin!(first.events());
    let heir = scope.master("heir");
    first.start().unwrap();
    within(async { while !matches!(events.next().await, Some(MasterEvent::Elected { .. })) {} })
        .await;
    heir.start().unwrap();
    let mut worker = scope.worker("w").start().await.unwrap();
    // Killed at its first move.
    within(async { while !matches!(events.next().await, Some(MasterEvent::Assigned { .. })) {} })
        .await;
    expire(&server, &doomed).await;
    let mut done = HashSet::new();
    while done.len() < 60 {
        let task = next(&mut worker).await;
        assert!(done.insert(task.name().to_owned()), "{} twice", task.name());
        task.complete(b"ok").await.unwrap();
    }
    let now = until(&scope, |s| s.done.len() == 60).await;
    assert!(
        now.pending.is_empty() && now.assigned.values().all(Vec::is_empty),
        "{now:?}"
    );
    assert_eq!(now.master.as_deref(), Some("heir"));
    heir.close().await.unwrap();
}

/// One process in two scopes at once, as master and worker of each; the random strategy
/// (the default) gives work to every worker of a scope.
#[tokio::test]
async fn one_process_joins_two_scopes_and_random_reaches_every_worker() {
    let (zk, _server) = client().await;
    let (render, mail) = (TaskScope::new(&zk, "/render"), TaskScope::new(&zk, "/mail"));
    let (render_master, mail_master) = (render.master("p1"), mail.master("p1"));
    render_master.start().unwrap();
    mail_master.start().unwrap();
    let mut renderers = vec![
        render.worker("r1").start().await.unwrap(),
        render.worker("r2").start().await.unwrap(),
    ];
    let mut mailer = mail.worker("m1").start().await.unwrap();
    until(&render, |s| s.workers.len() == 2).await;
    for i in 0..40 {
        render
            .submit(&NewTask::new(format!("frame {i}")))
            .await
            .unwrap();
    }
    mail.submit(&NewTask::new(b"send the report"))
        .await
        .unwrap();
    let letter = next(&mut mailer).await;
    assert_eq!(&letter.data()[..], b"send the report");
    letter.complete(b"sent").await.unwrap();
    let now = until(&render, |s| s.pending.is_empty()).await;
    let per_worker: Vec<usize> = now.assigned.values().map(Vec::len).collect();
    assert_eq!(per_worker.iter().sum::<usize>(), 40, "{now:?}");
    assert!(
        per_worker.iter().all(|n| *n > 0),
        "random gave every worker some: {per_worker:?}"
    );
    for worker in &mut renderers {
        while let Ok(Some(Ok(task))) =
            tokio::time::timeout(Duration::from_millis(300), worker.next()).await
        {
            task.complete(b"rendered").await.unwrap();
        }
    }
    assert_eq!(until(&render, |s| s.done.len() == 40).await.done.len(), 40);
    assert_eq!(mail.snapshot().await.unwrap().done.len(), 1);
    render_master.close().await.unwrap();
    mail_master.close().await.unwrap();
}

/// The book's duplicate rules when a master takes over: a waiting task that is also
/// assigned to a live worker, or already has a status, is removed from the waiting tasks
/// (as a crash between the book's two-step move leaves them).
#[tokio::test]
async fn a_new_master_removes_the_duplicates_the_books_two_step_moves_leave() {
    let (zk, _server) = client().await;
    let scope = TaskScope::new(&zk, "/book");
    let mut worker = scope.worker("w").start().await.unwrap();
    let persistent = zk_client::CreateOptions::persistent();
    // Task 1 assigned to the live worker and still waiting; task 2 done and still
    // waiting; task 3 only waiting.
    for (path, data) in [
        ("/book/tasks/task-0000000001", "one"),
        ("/book/assign/worker-w/task-0000000001", "one"),
        ("/book/tasks/task-0000000002", "two"),
        ("/book/status/task-0000000002", "done"),
        ("/book/tasks/task-0000000003", "three"),
    ] {
        zk.create(path, data.as_bytes(), &persistent).await.unwrap();
    }
    let master = scope.master("m");
    let mut events = std::pin::pin!(master.events());
    master.start().unwrap();
    let mut removed = HashSet::new();
    within(async {
        while removed.len() < 2 {
            if let Some(MasterEvent::Deduplicated { task }) = events.next().await {
                removed.insert(task);
            }
        }
    })
    .await;
    let expected: HashSet<String> = ["task-0000000001", "task-0000000002"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(removed, expected);
    let mut got = Vec::new();
    for _ in 0..2 {
        let task = next(&mut worker).await;
        got.push(String::from_utf8(task.data().to_vec()).unwrap());
        task.complete(b"ok").await.unwrap();
    }
    got.sort();
    assert_eq!(got, ["one", "three"], "each task runs once");
    let now = until(&scope, |s| s.done.len() == 3).await;
    assert!(now.pending.is_empty(), "{now:?}");
    master.close().await.unwrap();
}
